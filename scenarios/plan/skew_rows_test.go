package plan

import (
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
)

// skewRow is the clock-skew row i of Skew(): 0 warmup A ahead, 1 warmup A
// behind, 2 TTL A ahead, 3 TTL A behind.
func skewRow(t *testing.T, i int) engine.Row {
	t.Helper()
	rows := Skew()
	if len(rows) != 4 {
		t.Fatalf("Skew() has %d rows, want 4", len(rows))
	}
	return rows[i]
}

func runSkewRow(t *testing.T, i int, drift func(*topology.Spec)) *engine.Outcome {
	t.Helper()
	return runJudged(t, skewRow(t, i), func(seed int64) topology.Spec {
		spec := engine.SuiteDefaults()
		spec.Seed = seed
		if drift != nil {
			drift(&spec)
		}
		return spec
	})
}

// TestSkewRowsPass: with region A 10 s ahead or behind, warmup and session
// TTL are judged as the rows require, and the loss, availability and
// failback checks pass as they do without skew.
func TestSkewRowsPass(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a topology per row")
	}
	for i, name := range []string{"warmup-ahead", "warmup-behind", "ttl-ahead", "ttl-behind"} {
		t.Run(name, func(t *testing.T) {
			out := runSkewRow(t, i, nil)
			for _, c := range out.Checks {
				t.Logf("%s %s ok=%v: %s", c.Class, c.Name, c.OK, c.Reason)
			}
			requirePassed(t, out, out.Name)
		})
	}
}

// TestSkewRowsFailOnDrift proves each skew row can fail: the deployment
// drifts from the config the harness judges by, in the way that makes the
// skew (or the staleness bound) break what the row checks.
func TestSkewRowsFailOnDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a topology per row")
	}
	onRegion := func(name string, f func(*rtconfig.Config)) func(*topology.Spec) {
		return func(s *topology.Spec) {
			s.RegionDrift = func(region string, c *rtconfig.Config) {
				if name == "" || region == name {
					f(c)
				}
			}
		}
	}
	cases := []struct {
		name  string
		row   int
		why   string
		drift func(*topology.Spec)
		check string
	}{
		{"warmup-ahead", 0, "a replay window of 5 s, narrower than A's 10 s skew, makes every peer refuse A's signed pull as STALE_REQUEST",
			onRegion("", func(c *rtconfig.Config) { c.Cache.ReplayWindow = 5 * time.Second }), "no-peer-request-refused-for-skew"},
		{"warmup-behind", 1, "a runtime staleness of 60 s, not the reviewed 6 s, lets A warm from entries older than the bound",
			onRegion("", func(c *rtconfig.Config) { c.Cache.Staleness = time.Minute }), "stale-entries-refused(us-east-1)"},
		{"ttl-ahead", 2, "regions judging expiry each on its own clock (session.expiry_clock: region) let A, 10 s ahead, expire B's sessions 10 s early",
			onRegion("", func(c *rtconfig.Config) { c.Session.ExpiryClock = rtconfig.ExpiryClockRegion }), "session-ttl(written eu-west-1, read us-east-1)"},
		{"ttl-behind", 3, "regions judging expiry each on its own clock (session.expiry_clock: region) let A, 10 s behind, serve B's sessions 10 s past their TTL",
			onRegion("", func(c *rtconfig.Config) { c.Session.ExpiryClock = rtconfig.ExpiryClockRegion }), "session-ttl(written eu-west-1, read us-east-1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertFails(t, runSkewRow(t, tc.row, tc.drift), tc.check, tc.why)
		})
	}
}

// TestTTLRowUnchangedBySkew: the skew that fails plan-7 when regions judge
// expiry on their own clocks (TestRowsFailOnBadConfig) changes nothing when
// they judge it on the store's, the default: every returning user, idle
// past the TTL, is told the session expired.
func TestTTLRowUnchangedBySkew(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a topology")
	}
	out := runRowWith(t, "plan-7", func(s *topology.Spec) {
		s.Regions = topology.DefaultRegions()
		s.Regions[0].ClockOffset = 5 * time.Second
		s.Regions[1].ClockOffset = -5 * time.Second
		s.Regions[2].ClockOffset = -5 * time.Second
	})
	c, ok := out.Check("returning-users-see-session-expired")
	if !ok || !c.OK || out.Verdict == check.Failed {
		t.Fatalf("plan-7 with clocks 10 s apart: %s (%s); check: %+v", out.Verdict, out.Why, c)
	}
	t.Logf("plan-7 %s with clocks 10 s apart: %s", out.Verdict, c.Reason)
}
