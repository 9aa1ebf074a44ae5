package check

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/history"
)

// Every history here is synthetic: times are offsets from t0 on the
// harness's one clock, so no assertion depends on how fast the test runs.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// opt adjusts a synthetic op.
type opt func(*history.Op)

func served(r string) opt { return func(o *history.Op) { o.ServedBy = r } }
func ver(v int64) opt     { return func(o *history.Op) { o.Version = v } }
func mver(v int64) opt    { return func(o *history.Op) { o.MessageVersion = v } }
func dup() opt            { return func(o *history.Op) { o.Duplicate = true } }
func durable() opt        { return func(o *history.Op) { o.Durable = true } }
func took(ms int) opt {
	return func(o *history.Op) { o.End = o.Start.Add(time.Duration(ms) * time.Millisecond) }
}
func code(c string) opt { return func(o *history.Op) { o.Code = c } }
func user(u string) opt { return func(o *history.Op) { o.User = u } }
func shift(d time.Duration) opt {
	return func(o *history.Op) { o.Start, o.End = o.Start.Add(d), o.End.Add(d) }
}

// mk builds an op of kind that starts at ms and lasts 10ms; the user is
// "u-<session>" unless an opt says otherwise.
func mk(kind, sess, mid string, ms, status int, opts ...opt) history.Op {
	o := history.Op{Kind: kind, User: "u-" + sess, Session: sess, MessageID: mid, Start: at(ms), End: at(ms + 10), Status: status}
	for _, f := range opts {
		f(&o)
	}
	return o
}

func msg(sess, mid string, ms, status int, opts ...opt) history.Op {
	return mk(history.KindMessage, sess, mid, ms, status, opts...)
}

// seq numbers ops in slice order.
func seq(ops ...history.Op) []history.Op {
	for i := range ops {
		ops[i].Seq = int64(i)
	}
	return ops
}

// bound is a one-term configuration bound of d.
func bound(d time.Duration) bounds.Duration {
	return bounds.Duration{Terms: []bounds.Term{{Name: "test bound", D: d, Scaled: true}}}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func wantReason(t *testing.T, r Result, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.Reason, p) {
			t.Errorf("%s: reason %q lacks %q", r.Name, r.Reason, p)
		}
	}
}

func TestJudge(t *testing.T) {
	safeOK := Safe("safe-ok", true, 0, "fine")
	safeBad := Safe("safe-bad", false, 1, "a message was lost")
	liveOK := Live("live-ok", true, 0, "fast")
	liveBad := Live("live-bad", false, 9, "too slow")
	seenOK := Seen("seen-ok", true, 1, "it happened")
	seenBad := Seen("seen-bad", false, 0, "the fault never bit")
	kept := Health{Slack: 0.1, Starved: false, Reason: "machine kept time"}
	starved := Health{Slack: 0.1, Starved: true, Reason: "machine was starved: HEALTH-REASON"}

	P, F, I := Passed, Failed, Inconclusive
	cases := []struct {
		name     string
		results  []Result
		h        Health
		verdict  Verdict
		each     []Verdict
		reason   []string // must appear
		noReason []string // must not appear
	}{
		{"all pass", []Result{safeOK, liveOK, seenOK}, kept, P, []Verdict{P, P, P}, nil, nil},
		{"nothing to judge", nil, kept, P, nil, nil, nil},
		{"safety failure fails", []Result{safeBad, liveOK, seenOK}, kept, F, []Verdict{F, P, P}, []string{"safe-bad: a message was lost"}, []string{"live-ok", "seen-ok"}},
		{"safety failure fails even when starved", []Result{safeBad, liveOK}, starved, F, []Verdict{F, I}, []string{"safe-bad: a message was lost"}, nil},
		{"safety pass stays passed when starved", []Result{safeOK, seenOK}, starved, P, []Verdict{P, P}, nil, nil},
		{"liveness failure fails when the machine kept time", []Result{liveBad, safeOK}, kept, F, []Verdict{F, P}, []string{"live-bad: too slow"}, nil},
		{"liveness failure is inconclusive when starved", []Result{liveBad, safeOK}, starved, I, []Verdict{I, P}, []string{"1 liveness checks not judged", "HEALTH-REASON"}, nil},
		{"liveness pass is inconclusive when starved, never passed", []Result{liveOK, safeOK, seenOK}, starved, I, []Verdict{I, P, P}, []string{"1 liveness checks not judged", "HEALTH-REASON"}, nil},
		{"two starved liveness results counted", []Result{liveOK, liveBad}, starved, I, []Verdict{I, I}, []string{"2 liveness checks not judged"}, nil},
		{"missing evidence is inconclusive", []Result{safeOK, liveOK, seenBad}, kept, I, []Verdict{P, P, I}, []string{"did not happen as planned", "seen-bad: the fault never bit"}, nil},
		{"missing evidence does not hide a safety failure", []Result{seenBad, safeBad}, kept, F, []Verdict{I, F}, []string{"safe-bad"}, nil},
		{"missing evidence does not hide a liveness failure", []Result{seenBad, liveBad}, kept, F, []Verdict{I, F}, []string{"live-bad: too slow"}, nil},
		{"missing evidence while starved: both said", []Result{seenBad, liveOK}, starved, I, []Verdict{I, I}, []string{"HEALTH-REASON", "seen-bad: the fault never bit"}, nil},
		{"every failure named", []Result{safeBad, liveBad, Safe("other-bad", false, 2, "went backwards")}, kept, F, []Verdict{F, F, F}, []string{"safe-bad: a message was lost", "live-bad: too slow", "other-bad: went backwards"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := append([]Result(nil), c.results...)
			v, why := Judge(rs, c.h)
			if v != c.verdict {
				t.Errorf("verdict %s, want %s (%s)", v, c.verdict, why)
			}
			for i, r := range rs {
				if r.Verdict != c.each[i] {
					t.Errorf("%s: verdict %q, want %q", r.Name, r.Verdict, c.each[i])
				}
			}
			if v == Passed && why != "" {
				t.Errorf("a pass carries reason %q", why)
			}
			if v != Passed && why == "" {
				t.Errorf("verdict %s without a reason", v)
			}
			for _, s := range c.reason {
				if !strings.Contains(why, s) {
					t.Errorf("reason %q lacks %q", why, s)
				}
			}
			for _, s := range c.noReason {
				if strings.Contains(why, s) {
					t.Errorf("reason %q names %q", why, s)
				}
			}
		})
	}
}

// A liveness result is never PASSED while starved, whatever else the
// results are.
func TestJudgeStarvedNeverPassesLiveness(t *testing.T) {
	for _, ok := range []bool{true, false} {
		rs := []Result{Live("l", ok, 0, "x"), Safe("s", true, 0, "y")}
		v, _ := Judge(rs, Health{Starved: true})
		if v == Passed || rs[0].Verdict != Inconclusive {
			t.Errorf("liveness ok=%v while starved: spec %s, result %s", ok, v, rs[0].Verdict)
		}
	}
}

func TestHealthAssess(t *testing.T) {
	// binary fractions, so the boundary is exact
	cases := []struct {
		slack, harness, lb float64
		starved            bool
	}{
		{0.5, 0, 0, false},
		{0.5, 0.125, 0.125, false}, // exactly half: still kept time
		{0.5, 0.25, 0, false},
		{0.5, 0, 0.25, false},
		{0.5, 0.125, 0.1251, true},
		{0.5, 0.25, 0.0001, true},
		{0.5, 0, 0.5, true},
		{0, 0, 0, false},
		{0, 0.001, 0, true},
	}
	for _, c := range cases {
		h := Health{Slack: c.slack, HarnessLag: c.harness, LBLag: c.lb}
		h.Assess()
		if h.Starved != c.starved {
			t.Errorf("slack %g, lags %g + %g: starved %v, want %v (%s)", c.slack, c.harness, c.lb, h.Starved, c.starved, h.Reason)
		}
		if c.starved != strings.Contains(h.Reason, "was starved") || !c.starved != strings.Contains(h.Reason, "kept time") {
			t.Errorf("reason %q does not say starved=%v", h.Reason, c.starved)
		}
	}

	h := Health{Slack: 0.5, HarnessLag: 0.125, HarnessLagAt: 1.5, Samples: 7, LBLag: 0.2, LBRounds: 3}
	h.Assess()
	if !h.Starved {
		t.Fatalf("0.325s of lateness against 0.25s must be starved: %+v", h)
	}
	for _, s := range []string{"125ms late", "at +1.50s", "7 samples", "200ms late", "3 rounds", "250ms of the 500ms"} {
		if !strings.Contains(h.Reason, s) {
			t.Errorf("reason %q lacks %q", h.Reason, s)
		}
	}

	// A region runtime's loop starved while the LB's kept time: starved,
	// and the region named.
	h = Health{Slack: 0.5, HarnessLag: 0.05, LBLag: 0.01, RegionLag: 0.3, RegionLagIn: "eu-west-1", RegionLagAt: 2.25, RegionRounds: 40}
	h.Assess()
	if !h.Starved {
		t.Fatalf("a region's 300ms late round must starve the verdict: %+v", h)
	}
	for _, s := range []string{"region health rounds up to 300ms late (eu-west-1 at +2.25s, 40 rounds)"} {
		if !strings.Contains(h.Reason, s) {
			t.Errorf("reason %q lacks %q", h.Reason, s)
		}
	}
	h.RegionLag = 0.1
	if h.Assess(); h.Starved {
		t.Fatalf("50ms + max(10ms, 100ms) is within 250ms: %+v", h)
	}
}

// Results and bounds keep what the report shows.
func TestResultBuilders(t *testing.T) {
	for _, c := range []struct {
		r     Result
		class Class
	}{
		{Safe("a", true, 1, "n=%d", 1), Safety},
		{Live("b", false, 2, "n=%d", 2), Liveness},
		{Seen("c", true, 3, "n=%d", 3), Evidence},
	} {
		if c.r.Class != c.class || c.r.Verdict != "" || !strings.HasPrefix(c.r.Reason, "n=") {
			t.Errorf("%+v: want class %s, no verdict before Judge, formatted reason", c.r, c.class)
		}
	}
	var nilBound *Bound
	nilBound.Project(10) // no panic
	if _, ok := nilBound.Duration(); ok {
		t.Error("nil bound has a duration")
	}
	b := &Bound{Limit: 0.02, Unit: "ratio"}
	b.Project(10)
	if b.Projected != 0 || b.ProjectedText != "" {
		t.Errorf("a non-time bound was projected: %+v", b)
	}
}
