package check

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/stats"
	"github.com/agentops/failover-harness/harness/topology"
)

func tr(region, from, to string, ms int) topology.Transition {
	return topology.Transition{Region: region, From: from, To: to, At: at(ms)}
}

// never marks a checker result that found no transition.
const never = math.MinInt32

func TestMarkedAt(t *testing.T) {
	trs := []topology.Transition{
		tr("a", "active", "degraded", -500), // before the fault
		tr("a", "degraded", "active", -400),
		tr("b", "active", "down", 100), // another region
		tr("a", "active", "down", 400),
		tr("a", "active", "ejected", 200), // passive ejection, listed out of order
		tr("a", "ejected", "active", 250), // back in rotation: not a mark
		tr("a", "ejected", "down", 300),   // an ejection ending on a health verdict
	}
	cases := []struct {
		name       string
		trs        []topology.Transition
		region     string
		since      int
		healthOnly bool
		want       int // never: no mark
	}{
		{"earliest mark, ejection included", trs, "a", 0, false, 200},
		{"health only skips ejections", trs, "a", 0, true, 400},
		{"transitions before since ignored", trs, "a", -1000, false, -500},
		{"a transition exactly at since counts", trs, "a", 400, true, 400},
		{"after every mark", trs, "a", 401, false, never},
		{"other region", trs, "b", 0, true, 100},
		{"unknown region", trs, "c", 0, false, never},
		{"returning to active is no mark", []topology.Transition{tr("a", "down", "active", 100)}, "a", 0, false, never},
		{"degraded counts", []topology.Transition{tr("a", "active", "degraded", 100)}, "a", 0, true, 100},
		{"only ejections, health only", []topology.Transition{tr("a", "active", "ejected", 100), tr("a", "ejected", "active", 200)}, "a", 0, true, never},
		{"no transitions", nil, "a", 0, false, never},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := MarkedAt(c.trs, c.region, at(c.since), c.healthOnly)
			if c.want == never {
				if !got.IsZero() {
					t.Errorf("MarkedAt = %v, want zero", got)
				}
				return
			}
			if !got.Equal(at(c.want)) {
				t.Errorf("MarkedAt = %v, want +%dms", got.Sub(t0), c.want)
			}
		})
	}
}

func TestDetectionTime(t *testing.T) {
	// 400ms from the configuration + 100ms slack
	det := bounds.DefaultHarness.Measured(bounds.Detection(bounds.Probe{Interval: 100 * time.Millisecond, Timeout: 150 * time.Millisecond, Threshold: 2}, "lb.health."), false)
	if det.Total() != 500*time.Millisecond {
		t.Fatalf("bound %s", det)
	}
	trs := []topology.Transition{
		tr("a", "active", "down", -300), // a previous incident
		tr("a", "down", "active", -200),
		tr("a", "active", "ejected", 150),
		tr("a", "active", "down", 400),
		tr("b", "active", "degraded", 600),
		tr("c", "active", "ejected", 100),
	}
	cases := []struct {
		name       string
		region     string
		healthOnly bool
		ok         bool
		value      float64
		reason     string
	}{
		{"detected in time (ejection)", "a", false, true, 0.15, "detected after 150ms <= bound 500ms"},
		{"detected in time (health only)", "a", true, true, 0.4, "detected after 400ms"},
		{"late", "b", false, false, 0.6, "detected after 600ms > bound 500ms = "},
		{"never marked", "d", false, false, Never, "d never left the LB's rotation"},
		{"ejection only, health only: never", "c", true, false, Never, "never left"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := DetectionTime(Fault{Start: at(0), End: at(0)}, trs, c.region, c.healthOnly, det)
			if r.OK != c.ok || r.Class != Liveness || r.Unit != "s" || !(r.Value == c.value || near(r.Value, c.value)) {
				t.Errorf("%+v: want ok %v value %v", r, c.ok, c.value)
			}
			if r.Name != "detection-time("+c.region+")" {
				t.Errorf("name %q", r.Name)
			}
			wantReason(t, r, c.reason)
		})
	}
}

// A time bound is one number everywhere: the limit enforced is the
// bounds.Duration total and the projection is its Project(k).
func TestTimeBoundIsTheBoundsDuration(t *testing.T) {
	det := bounds.RTO(bounds.Probe{Interval: 100 * time.Millisecond, Timeout: 150 * time.Millisecond, Threshold: 2},
		bounds.Retry{Enabled: true, Attempts: 2, PerTry: 200 * time.Millisecond}, bounds.DefaultHarness)
	for _, r := range []Result{
		DetectionTime(Fault{Start: at(0), End: at(0)}, []topology.Transition{tr("a", "active", "down", 100)}, "a", false, det),
		DetectionTime(Fault{Start: at(0), End: at(0)}, nil, "a", false, det),
		RTO(seq(msg("s", "m", 0, 200)), at(0), at(100), det),
		NoTrafficAfterDown(nil, "a", at(0), det),
		AlertReceived(nil, "X", Fault{Start: at(0), End: at(0)}, det),
	} {
		b := r.Bound
		if b == nil {
			t.Fatalf("%s: no bound", r.Name)
		}
		if b.Limit != det.Total().Seconds() || b.Unit != "s" || b.Text != det.String() {
			t.Errorf("%s: bound %+v, want limit %v text %q", r.Name, b, det.Total().Seconds(), det.String())
		}
		d, ok := b.Duration()
		if !ok || d.Total() != det.Total() || len(d.Terms) != len(det.Terms) {
			t.Errorf("%s: Duration() = %v %v", r.Name, d, ok)
		}
		b.Project(1)
		if b.Projected != 0 || b.ProjectedText != "" {
			t.Errorf("%s: k=1 projected %+v", r.Name, b)
		}
		for _, k := range []float64{2, 10, 37.5} {
			b.Project(k)
			if b.Projected != det.Project(k).Seconds() || b.ProjectedText != det.Format(k) {
				t.Errorf("%s: Project(%g) = %v %q, want %v %q", r.Name, k, b.Projected, b.ProjectedText, det.Project(k).Seconds(), det.Format(k))
			}
		}
	}
}

func TestRTO(t *testing.T) {
	fault, until := at(0), at(1000)
	base := []history.Op{
		// answered before the fault: not measured
		msg("s1", "m0", -100, 200, user("u1")),
		// u1's m1: 503, no answer, 410 SESSION_EXPIRED, re-auth into s2,
		// the same message id answered there at +250
		msg("s1", "m1", 100, 503, user("u1")),
		msg("s1", "m1", 150, 0, user("u1")),
		msg("s1", "m1", 200, 410, user("u1"), code("SESSION_EXPIRED")),
		mk(history.KindReauth, "s2", "", 220, 201, user("u1")),
		msg("s2", "m1", 240, 200, user("u1")),
		// u2 quick; a later duplicate of an acknowledged message changes nothing
		msg("s3", "m2", 50, 200, user("u2")),
		msg("s3", "m2", 900, 200, user("u2"), dup()),
		// u3 sent before the fault, answered after it: counted from its first attempt
		msg("s4", "m3", -50, 503, user("u3")),
		msg("s4", "m3", 20, 200, user("u3")),
		// reads are not requests a user waits on
		mk(history.KindRead, "s4", "", 0, 0, user("u3"), took(5000)),
	}
	cases := []struct {
		name   string
		ops    []history.Op
		bound  time.Duration
		ok     bool
		value  float64
		reason []string
	}{
		{"worst wait across retries and a re-auth", base, 200 * time.Millisecond, true, 0.15, []string{"longest wait for an answer 150ms", "user u1", "m m1", "4 attempts", "4 requests measured", "0 unanswered"}},
		{"exceeding the bound fails", base, 149 * time.Millisecond, false, 0.15, []string{"a user waited 150ms", "> bound 149ms", "user u1"}},
		{"an unanswered request counts until the load stopped", append(slices.Clone(base), msg("s5", "m4", 300, 503, user("u4")), msg("s5", "m4", 400, 0, user("u4"))), 200 * time.Millisecond, false, 0.7, []string{"user u4", "m m4", "2 attempts", "1 unanswered"}},
		{"a failed create waits like a message", append(slices.Clone(base), mk(history.KindCreate, "s6", "", 500, 503, user("u5")), mk(history.KindCreate, "s6", "", 600, 201, user("u5"), took(400))), 200 * time.Millisecond, false, 0.5, []string{"user u5", "s s6", "2 attempts"}},
		{"no request during or after the fault", []history.Op{msg("s1", "m0", -100, 200), mk(history.KindRead, "s1", "", 100, 200)}, time.Second, false, 0, []string{"not measured"}},
		{"no ops at all", nil, time.Second, false, 0, []string{"not measured"}},
		{"answered exactly at the fault start counts", []history.Op{msg("s1", "m0", -10, 200)}, time.Second, true, 0.01, []string{"1 requests measured"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := RTO(seq(c.ops...), fault, until, bound(c.bound))
			if r.OK != c.ok || !near(r.Value, c.value) || r.Class != Liveness || r.Name != "rto" {
				t.Errorf("%+v: want ok %v value %v", r, c.ok, c.value)
			}
			wantReason(t, r, c.reason...)
		})
	}
}

// RTO groups by request, not by time of the test: the slice order of the
// history does not matter.
func TestRTOIgnoresSliceOrder(t *testing.T) {
	ops := []history.Op{
		msg("s2", "m1", 240, 200, user("u1")),
		msg("s1", "m1", 200, 410, user("u1")),
		msg("s1", "m1", 100, 503, user("u1")),
	}
	r := RTO(seq(ops...), at(0), at(1000), bound(time.Second))
	if !r.OK || !near(r.Value, 0.15) {
		t.Errorf("%+v: want 0.15s", r)
	}
	wantReason(t, r, "3 attempts")
}

func TestErrorRateFalseAlarmProperty(t *testing.T) {
	const (
		n     = 1000
		p0    = 0.02
		alpha = 1e-4
	)
	crit := stats.AtMostRate(0, n, p0, alpha).Critical
	if crit <= int(p0*n) || crit > n {
		t.Fatalf("critical count %d implausible for n=%d p0=%g", crit, n, p0)
	}
	from, to := at(0), at(n*10)
	// n requests in [from, to), bad of them unavailable (no answer or a
	// 5xx, alternately), the rest answered with 2xx, 409 or 410; around
	// them traffic that must not count.
	hist := func(bad int) []history.Op {
		var ops []history.Op
		for i := 0; i < n; i++ {
			status := []int{200, 201, 409, 410}[i%4]
			if i < bad {
				status = []int{0, 500, 503, 504}[i%4]
			}
			kind := history.KindMessage
			if i%10 == 0 {
				kind = history.KindCreate
			}
			ops = append(ops, mk(kind, "s", "m", i*10, status))
		}
		ops = append(ops,
			mk(history.KindMessage, "s", "x", -1, 0),            // before from
			mk(history.KindMessage, "s", "x", n*10, 503),        // at to: excluded
			mk(history.KindMessage, "s", "x", n*10+5, 0),        // after to
			mk(history.KindRead, "s", "", 5, 0),                 // reads excluded
			mk(history.KindRead, "s", "", 15, 503, took(10000)), // reads excluded
		)
		return seq(ops...)
	}
	below := ErrorRate(hist(crit-1), from, to, p0, alpha)
	if !below.OK || below.Value != float64(crit-1)/n || below.Class != Liveness {
		t.Errorf("%d of %d (critical %d) must pass: %+v", crit-1, n, crit, below)
	}
	atCrit := ErrorRate(hist(crit), from, to, p0, alpha)
	if atCrit.OK || atCrit.Value != float64(crit)/n {
		t.Errorf("%d of %d (critical %d) must fail: %+v", crit, n, crit, atCrit)
	}
	for _, r := range []Result{below, atCrit} {
		if r.Bound == nil || r.Bound.Limit != p0 || r.Bound.Unit != "ratio" {
			t.Errorf("bound %+v", r.Bound)
		} else if want := "fails at >= " + strconv.Itoa(crit) + " of 1000"; !strings.Contains(r.Bound.Text, want) {
			t.Errorf("bound text %q lacks %q", r.Bound.Text, want)
		}
	}
	wantReason(t, atCrit, strconv.Itoa(crit)+"/1000 requests unavailable", "H0 rejected")
	wantReason(t, below, strconv.Itoa(crit-1)+"/1000 requests unavailable", "consistent with H0")
}

func TestErrorRateCounting(t *testing.T) {
	cases := []struct {
		name  string
		ops   []history.Op
		ok    bool
		value float64
	}{
		{"409 and 410 are answers", seq(msg("s", "a", 0, 409), msg("s", "b", 10, 410), msg("s", "c", 20, 200), msg("s", "d", 30, 404)), true, 0},
		{"no answer and 5xx are errors", seq(msg("s", "a", 0, 0), msg("s", "b", 10, 502), msg("s", "c", 20, 200), msg("s", "d", 30, 200)), false, 0.5},
		{"the window start is included", seq(msg("s", "a", 0, 503), msg("s", "b", 10, 200)), false, 0.5},
		{"no requests", nil, false, 0},
		{"only reads", seq(mk(history.KindRead, "s", "", 0, 200), mk(history.KindRead, "s", "", 10, 0)), false, 0},
		{"only requests outside the window", seq(msg("s", "a", -10, 200), msg("s", "b", 100, 200)), false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// p0 0: any error rejects
			r := ErrorRate(c.ops, at(0), at(100), 0, DefaultFalseAlarm)
			if r.OK != c.ok || r.Value != c.value || r.Name != "client-error-rate" {
				t.Errorf("%+v: want ok %v value %v", r, c.ok, c.value)
			}
			if c.ok == false && c.value == 0 {
				wantReason(t, r, "not measured")
			}
		})
	}
}

func TestNoTrafficAfterDown(t *testing.T) {
	window := bound(200 * time.Millisecond) // cut at +300ms
	cases := []struct {
		name string
		ops  []history.Op
		bad  float64
	}{
		{"only the others after the cut", seq(msg("s", "a", 0, 200, served("a")), msg("s", "b", 500, 200, served("b"))), 0},
		{"in flight within the window", seq(msg("s", "a", 250, 200, served("a"))), 0},
		{"starting exactly at the cut", seq(msg("s", "a", 300, 200, served("a"))), 0},
		{"after the cut, even a failure", seq(msg("s", "a", 301, 503, served("a"))), 1},
		{"several after the cut", seq(msg("s", "a", 400, 200, served("a")), mk(history.KindRead, "s", "", 350, 200, served("a")), msg("s", "b", 900, 200, served("b"))), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NoTrafficAfterDown(c.ops, "a", at(100), window)
			if r.OK != (c.bad == 0) || r.Value != c.bad || r.Name != "no-traffic-after-down(a)" || r.Class != Liveness {
				t.Errorf("%+v: want %v", r, c.bad)
			}
			if c.bad == 2 {
				wantReason(t, r, "2 operations served by a", "first: seq 1 at +250ms")
			}
		})
	}
}

func TestEveryUserContinues(t *testing.T) {
	cases := []struct {
		name  string
		ops   []history.Op
		stuck string
	}{
		{"everyone continued", seq(msg("s1", "a", -50, 200, user("u1")), msg("s1", "b", 50, 200, user("u1")), mk(history.KindCreate, "s2", "", 10, 201, user("u2")), msg("s2", "c", 60, 200, user("u2"))), ""},
		{"a user with only failures after", seq(msg("s1", "a", -50, 200, user("u1")), msg("s1", "b", 50, 200, user("u1")), msg("s2", "c", -50, 200, user("u2")), msg("s2", "d", 60, 503, user("u2"))), "u2"},
		{"an ack before since does not count", seq(msg("s2", "c", -50, 200, user("u2"))), "u2"},
		{"a create is not a message", seq(mk(history.KindCreate, "s2", "", 10, 201, user("u2"))), "u2"},
		{"starting exactly at since is not after", seq(msg("s2", "c", 0, 200, user("u2"))), "u2"},
		{"readers are not users", seq(msg("s1", "b", 50, 200, user("u1")), mk(history.KindRead, "s3", "", 50, 200, user("u3"))), ""},
		{"stuck users listed", seq(msg("s3", "c", -50, 200, user("u3")), msg("s2", "c", -50, 200, user("u2")), msg("s1", "b", 50, 200, user("u1"))), "u2,u3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := EveryUserContinues(c.ops, at(0))
			if r.OK != (c.stuck == "") || r.Class != Liveness {
				t.Errorf("%+v: want stuck %q", r, c.stuck)
			}
			if c.stuck != "" {
				wantReason(t, r, ": "+c.stuck)
			}
		})
	}
}

func TestServedOnlyBy(t *testing.T) {
	cases := []struct {
		name  string
		ops   []history.Op
		ok    bool
		other float64
	}{
		{"only the survivor", seq(msg("s", "a", 10, 200, served("c")), mk(history.KindCreate, "t", "", 20, 201, served("c"))), true, 0},
		{"before since anything goes", seq(msg("s", "a", -10, 200, served("a")), msg("s", "b", 10, 200, served("c"))), true, 0},
		{"failures and reads elsewhere do not count", seq(msg("s", "a", 10, 503, served("a")), mk(history.KindRead, "s", "", 10, 200, served("a")), msg("s", "b", 20, 200, served("c"))), true, 0},
		{"served by another region", seq(msg("s", "a", 10, 200, served("c")), msg("s", "b", 20, 200, served("b"))), false, 1},
		{"nothing served after since", seq(msg("s", "a", -10, 200, served("c"))), false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ServedOnlyBy(c.ops, "c", at(0))
			if r.OK != c.ok || r.Value != c.other || r.Name != "served-only-by(c)" || r.Class != Liveness {
				t.Errorf("%+v: want ok %v other %v", r, c.ok, c.other)
			}
		})
	}
}

// A slow injection (a docker stop) may let the LB act before it returns:
// that verdict counts, and detection is measured from the injection's end,
// so the injection's own duration never makes detection look slow.
func TestDetectionTimeAcrossASlowInjection(t *testing.T) {
	det := bounds.Duration{Terms: []bounds.Term{{Name: "b", D: 400 * time.Millisecond}}}
	f := Fault{Start: at(0), End: at(250)}
	trs := []topology.Transition{tr("a", "active", "ejected", 180), tr("a", "ejected", "degraded", 900)}
	r := DetectionTime(f, trs, "a", false, det)
	if !r.OK || r.Value != 0 {
		t.Fatalf("marked during the injection: %+v, want ok at 0s", r)
	}
	if !strings.Contains(r.Reason, "injection that took 250ms") {
		t.Fatalf("reason should state the injection window: %s", r.Reason)
	}
	r = DetectionTime(f, []topology.Transition{tr("a", "active", "down", 600)}, "a", false, det)
	if !r.OK || r.Value != 0.35 {
		t.Fatalf("marked 350ms after the injection returned: %+v", r)
	}
	r = DetectionTime(f, []topology.Transition{tr("a", "active", "down", 600)}, "a", false, bounds.Duration{Terms: []bounds.Term{{Name: "b", D: 200 * time.Millisecond}}})
	if r.OK {
		t.Fatalf("350ms > 200ms bound must fail: %+v", r)
	}
}
