package plan

import (
	"fmt"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// TestVerdictsIgnoreClockSkew runs the rows that judge loss, order and
// detection with region clocks skewed 5 s ahead and behind, as unsynchronised
// hosts are: no checker compares one process's clock with another's, so the
// verdict is the unskewed one, PASSED. The session TTL is an hour, as in
// production (the runtime judges it on the store's clock; the skew rows,
// skew.go, judge it under skew with a short TTL).
func TestVerdictsIgnoreClockSkew(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a topology per case")
	}
	cases := []struct {
		name     string
		label    string
		strategy string
		offsets  []time.Duration // per region, in order
	}{
		{"partition, A 5s ahead", "plan-4", "version-wins", []time.Duration{5 * time.Second, 0, 0}},
		{"partition, A 5s behind", "plan-4", "version-wins", []time.Duration{-5 * time.Second, 0, 0}},
		{"partition, last-write-wins, A ahead B behind", "plan-4", "last-write-wins", []time.Duration{5 * time.Second, -5 * time.Second, 0}},
		{"partition, last-write-wins, no skew", "plan-4", "last-write-wins", []time.Duration{0, 0, 0}},
		{"unresponsive A, B 5s behind", "plan-1", "version-wins", []time.Duration{0, -5 * time.Second, 5 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := runRowWith(t, tc.label, func(spec *topology.Spec) {
				spec.SessionTTL = time.Hour
				spec.ConflictStrategy = tc.strategy
				spec.Regions = topology.DefaultRegions()
				for i, d := range tc.offsets {
					spec.Regions[i].ClockOffset = d
				}
			})
			requirePassed(t, out, fmt.Sprintf("%s with skewed clocks %v", tc.label, tc.offsets))
			for _, name := range []string{"versions-monotonic", "rpo"} {
				if c, ok := out.Check(name); !ok || !c.OK {
					t.Fatalf("%s: check %s missing or failed: %+v", tc.label, name, c)
				}
			}
			t.Logf("%s passed with clocks skewed %v", tc.label, tc.offsets)
		})
	}
}
