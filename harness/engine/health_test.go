package engine

import (
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/topology"
)

// A region's round that waited through a fault freezing that region is the
// fault at work; the same lateness anywhere else is the machine's.
func TestStoppedDuringExcludesOnlyTheFrozenRegionsWait(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	windows := []fault.Window{
		{Name: "pause(a)", Start: ms(1000), End: ms(2000), Stops: []string{"a"}},
		{Name: "http-status(b)", Start: ms(1000), End: ms(2000)},
	}
	lateAfterThaw := topology.LBRound{Started: ms(2010), LateSeconds: 1.5} // waited from +510ms
	lateLater := topology.LBRound{Started: ms(3000), LateSeconds: 0.5}     // waited from +2500ms
	for _, c := range []struct {
		region string
		rd     topology.LBRound
		want   bool
	}{
		{"a", lateAfterThaw, true},
		{"b", lateAfterThaw, false}, // b was not frozen: its lateness counts
		{"a", lateLater, false},     // after the thaw: counts
		{"c", lateAfterThaw, false},
	} {
		if got := stoppedDuring(windows, c.region, c.rd); got != c.want {
			t.Errorf("%s round started %v late %vs: excluded %v, want %v", c.region, c.rd.Started.Sub(t0), c.rd.LateSeconds, got, c.want)
		}
	}
}

// Only an ejection that kept the region out at or after the heal makes
// its failback wait one out; one that began after the heal counts (a try
// sent into the fault failed late), one over before the heal does not.
func TestEjectedAfter(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tr := func(region, from, to string, at int) topology.Transition {
		return topology.Transition{Region: region, From: from, To: to, At: ms(at)}
	}
	got := ejectedAfter([]topology.Transition{
		tr("a", "active", "ejected", 100), tr("a", "ejected", "active", 400), // over before the heal at 1000
		tr("b", "down", "ejected", 1002), tr("b", "ejected", "active", 1900), // begun after the heal
		tr("c", "active", "ejected", 900),                                    // still ejected
		tr("d", "active", "ejected", 50), tr("d", "ejected", "active", 1500), // begun long before, lasting past the heal
	}, ms(1000))
	want := map[string]bool{"b": true, "c": true, "d": true}
	if len(got) != len(want) || !got["b"] || !got["c"] || !got["d"] {
		t.Fatalf("ejected %v, want %v", got, want)
	}
}
