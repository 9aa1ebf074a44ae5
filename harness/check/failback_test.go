package check

import (
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// healed is the heal every failback test judges: begun at +0, returned at
// +100ms. Failback is measured from its end, looked for from its start.
var healed = Heal{Start: at(0), End: at(100)}

// rstat is one router's status read after the watch: its current view of
// region a, and the status changes it logged (any region's).
func rstat(viewer, status string, ts ...topology.Transition) topology.RouterStatus {
	st := topology.RouterStatus{Self: viewer, Transitions: ts, TransitionsTotal: int64(len(ts)), ClockAligned: true}
	st.Regions = append(st.Regions, struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	}{"a", status})
	return st
}

// back is a router's log of a's fault and its return at ms.
func back(ms int) []topology.Transition {
	return []topology.Transition{tr("a", "active", "down", -800), tr("a", "down", "active", ms)}
}

// sameValue compares a result's value, Never included.
func sameValue(got, want float64) bool { return got == want || near(got, want) }

// The LB's log of a region starts from active (in rotation): a return is a
// change back into rotation, health active and not ejected.
func TestReturnedAt(t *testing.T) {
	trs := []topology.Transition{
		tr("a", "active", "down", -1000), // the fault
		tr("a", "down", "active", -200),  // an earlier return
		tr("a", "active", "degraded", -100),
		tr("b", "active", "down", -500), // another region
		tr("b", "down", "active", 50),
		tr("a", "degraded", "down", 200), // out of rotation either way
		tr("a", "down", "active", 300),
		tr("a", "active", "ejected", 400), // a departure: not a return
		tr("a", "ejected", "active", 500), // back from an ejection
	}
	cases := []struct {
		name   string
		trs    []topology.Transition
		region string
		since  int
		want   int // never: no return
	}{
		{"first return at or after since", trs, "a", 0, 300},
		{"returns before since ignored", trs, "a", -150, 300},
		{"an earlier since finds the earlier return", trs, "a", -1000, -200},
		{"a return exactly at since counts", trs, "a", 300, 300},
		{"the end of an ejection is a return", trs, "a", 301, 500},
		{"after every return", trs, "a", 501, never},
		{"other region", trs, "b", 0, 50},
		{"other region's return is not this one's", trs[:5], "a", 0, never},
		{"unknown region", trs, "c", -5000, never},
		{"departures only", []topology.Transition{tr("a", "active", "down", 100), tr("a", "down", "degraded", 200)}, "a", 0, never},
		{"no transitions", nil, "a", 0, never},
		// The LB logs health verdicts of an ejected region too: in rotation
		// only once both are over.
		{"health back while ejected is no return; the ejection's end is", []topology.Transition{
			tr("a", "active", "ejected", -100), tr("a", "active", "down", -50), tr("a", "down", "active", 300), tr("a", "ejected", "active", 700),
		}, "a", 0, 700},
		{"an ejection ending while down is no return; health back is", []topology.Transition{
			tr("a", "active", "ejected", -100), tr("a", "active", "down", -50), tr("a", "ejected", "down", 200), tr("a", "down", "active", 400),
		}, "a", 0, 400},
		{"still ejected when the log ends", []topology.Transition{
			tr("a", "active", "ejected", -100), tr("a", "active", "down", -50), tr("a", "down", "active", 300),
		}, "a", 0, never},
		{"an ejection while down is no departure", []topology.Transition{
			tr("a", "active", "down", -1000), tr("a", "down", "ejected", -500), tr("a", "ejected", "active", 900),
		}, "a", 0, 900},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ReturnedAt(c.trs, c.region, at(c.since))
			if c.want == never {
				if !got.IsZero() {
					t.Errorf("ReturnedAt = +%v, want zero", got.Sub(t0))
				}
				return
			}
			if !got.Equal(at(c.want)) {
				t.Errorf("ReturnedAt = %v, want +%dms", got.Sub(t0), c.want)
			}
		})
	}
}

func TestFailbackTime(t *testing.T) {
	b := bound(500 * time.Millisecond) // from Heal.End (+100ms): up to +600ms
	const bText = "bound 500ms = 500ms test bound"
	down := tr("a", "active", "down", -1000) // the fault
	noise := []topology.Transition{
		down,
		tr("b", "active", "down", -900),
		tr("b", "down", "active", 150), // another region back first
		tr("b", "active", "degraded", 200),
		tr("a", "down", "active", 450),
		tr("a", "active", "degraded", 800), // a later departure is NoFlapping's business
		tr("a", "degraded", "active", 900),
	}
	cases := []struct {
		name       string
		trs        []topology.Transition
		region     string
		inRotation bool
		ok         bool
		value      float64
		reason     []string
	}{
		// From Heal.Start this would read 0.4s: measured from the end.
		{"within the bound, from the heal's end", []topology.Transition{down, tr("a", "down", "active", 400)}, "a", true, true, 0.3, []string{"a returned to the LB's rotation 300ms after the heal"}},
		{"first return counts, other regions and later changes ignored", noise, "a", true, true, 0.35, []string{"350ms after the heal"}},
		{"back from an ejection", []topology.Transition{tr("a", "active", "ejected", -1000), tr("a", "ejected", "active", 250)}, "a", true, true, 0.15, []string{"150ms after the heal"}},
		// Health back at +150, but ejected until +700: the return is +700.
		{"health back while ejected: measured to the ejection's end", []topology.Transition{
			tr("a", "active", "ejected", -100), tr("a", "active", "down", -50), tr("a", "down", "active", 150), tr("a", "ejected", "active", 700),
		}, "a", true, false, 0.6, []string{"600ms after the heal > " + bText}},
		// Between Heal.Start and Heal.End: clamped, never negative.
		{"returned during the heal: 0", []topology.Transition{down, tr("a", "down", "active", 40)}, "a", true, true, 0, []string{"returned to the LB's rotation 0s after the heal"}},
		{"returned exactly at the heal's start: 0", []topology.Transition{down, tr("a", "down", "active", 0)}, "a", false, true, 0, []string{"0s after the heal"}},
		{"exactly at the bound passes", []topology.Transition{down, tr("a", "down", "active", 600)}, "a", true, true, 0.5, []string{"500ms after the heal"}},
		{"a millisecond past the bound fails", []topology.Transition{down, tr("a", "down", "active", 601)}, "a", true, false, 0.501, []string{"a returned to the LB's rotation 501ms after the heal > " + bText}},
		{"long after the bound fails", []topology.Transition{tr("a", "active", "degraded", -1000), tr("a", "degraded", "active", 2100)}, "a", true, false, 2, []string{"2s after the heal > " + bText}},
		{"never returned", nil, "a", false, false, Never, []string{"a never returned to the LB's rotation after the heal (" + bText + ")"}},
		{"never returned: only departures", []topology.Transition{tr("a", "active", "down", 300), tr("a", "down", "degraded", 400)}, "a", false, false, Never, []string{"never returned"}},
		{"never returned: health back, still ejected", []topology.Transition{
			tr("a", "active", "ejected", -100), tr("a", "active", "down", -50), tr("a", "down", "active", 300),
		}, "a", false, false, Never, []string{"never returned"}},
		{"in rotation all along", nil, "a", true, true, 0, []string{"a was in the LB's rotation when the heal began"}},
		{"returned before the heal began, still in rotation", []topology.Transition{down, tr("a", "down", "active", -50)}, "a", true, true, 0, []string{"when the heal began"}},
		{"returned before the heal began, out of rotation now", []topology.Transition{down, tr("a", "down", "active", -50)}, "a", false, false, Never, []string{"never returned"}},
		{"another region's return is not this one's", noise, "c", false, false, Never, []string{"c never returned"}},
		{"another region's return, this one in rotation", noise[:4], "c", true, true, 0, []string{"c was in the LB's rotation"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := FailbackTime(healed, c.trs, c.region, c.inRotation, b)
			if r.OK != c.ok || !sameValue(r.Value, c.value) {
				t.Errorf("%+v: want ok %v value %v", r, c.ok, c.value)
			}
			if r.Name != "failback-time("+c.region+")" || r.Class != Liveness || r.Unit != "s" {
				t.Errorf("name %q class %q unit %q", r.Name, r.Class, r.Unit)
			}
			if r.Bound == nil || r.Bound.Limit != 0.5 || r.Bound.Unit != "s" || r.Bound.Text != b.String() {
				t.Errorf("bound %+v", r.Bound)
			}
			wantReason(t, r, c.reason...)
		})
	}
}

func TestNoFlapping(t *testing.T) {
	const watched = 7
	down := tr("a", "active", "down", -1000) // the fault
	cases := []struct {
		name   string
		trs    []topology.Transition
		ok     bool
		value  float64 // rotation changes after the first return
		reason []string
	}{
		{"no change: never left", nil, true, 0, []string{"a stayed in rotation once back (rotation changes: none)"}},
		{"one return", []topology.Transition{down, tr("a", "down", "active", 300)}, true, 0, []string{"a stayed in rotation once back (rotation changes: down→active)"}},
		{"one return from an ejection", []topology.Transition{tr("a", "active", "ejected", -1000), tr("a", "ejected", "active", 300)}, true, 0, []string{"(rotation changes: ejected→active)"}},
		{"health changes out of rotation are not rotation changes", []topology.Transition{down, tr("a", "down", "degraded", 200), tr("a", "degraded", "active", 300)}, true, 0, []string{"(rotation changes: degraded→active)"}},
		// Health back while still ejected, then the ejection's end: one
		// return, logged as two transitions to active.
		{"health back while ejected, then the ejection ends: one return", []topology.Transition{
			tr("a", "active", "ejected", -100), tr("a", "active", "down", -50), tr("a", "down", "active", 300), tr("a", "ejected", "active", 700),
		}, true, 0, []string{"(rotation changes: ejected→active)"}},
		// The fault's own verdict landing after the heal began is no flap.
		{"a departure before the return", []topology.Transition{tr("a", "active", "down", 150), tr("a", "down", "active", 400)}, true, 0, []string{"(rotation changes: active→down, down→active)"}},
		// Read from -900 these would be a return and then a departure.
		{"changes before the heal ignored", []topology.Transition{
			tr("a", "active", "down", -900), tr("a", "down", "active", -500), tr("a", "active", "ejected", -300), tr("a", "ejected", "down", -1),
			tr("a", "down", "active", 300),
		}, true, 0, []string{"(rotation changes: down→active)"}},
		// Read for every region, b's return and departure would be a flap.
		{"other regions ignored", []topology.Transition{
			down,
			tr("b", "active", "down", -500), tr("b", "down", "active", 100), tr("b", "active", "down", 200), tr("b", "down", "active", 250),
			tr("a", "down", "active", 300),
			tr("c", "active", "ejected", 400),
		}, true, 0, []string{"(rotation changes: down→active)"}},
		{"a return then a departure", []topology.Transition{down, tr("a", "down", "active", 300), tr("a", "active", "degraded", 500)}, false, 1,
			[]string{"a flapped after the heal: rotation changed down→active, active→degraded (1 changes after its return; watched 7 LB health rounds)"}},
		{"a departure to ejected counts", []topology.Transition{down, tr("a", "down", "active", 300), tr("a", "active", "ejected", 500)}, false, 1, []string{"active→ejected", "(1 changes after its return"}},
		{"ejected and back", []topology.Transition{down, tr("a", "down", "active", 300), tr("a", "active", "ejected", 500), tr("a", "ejected", "active", 1300)}, false, 2, []string{"down→active, active→ejected, ejected→active (2 changes after its return"}},
		{"two returns", []topology.Transition{down, tr("a", "down", "active", 300), tr("a", "active", "down", 400), tr("a", "down", "active", 500)}, false, 2, []string{"(2 changes after its return"}},
		// Without the return at the heal's start the departure would come
		// before any return, and pass.
		{"a return exactly at the heal's start counts", []topology.Transition{down, tr("a", "down", "active", 0), tr("a", "active", "down", 200)}, false, 1, []string{"down→active, active→down"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NoFlapping(c.trs, "a", healed.Start, watched)
			if r.OK != c.ok || r.Value != c.value {
				t.Errorf("%+v: want ok %v value %v", r, c.ok, c.value)
			}
			if r.Name != "no-flapping(a)" || r.Class != Liveness || r.Unit != "count" || r.Bound != nil {
				t.Errorf("name %q class %q unit %q bound %+v", r.Name, r.Class, r.Unit, r.Bound)
			}
			wantReason(t, r, c.reason...)
			wantReason(t, r, "watched 7 LB health rounds")
		})
	}
}

// In rotation when the heal began and out of it since, never back: no flap
// (nothing came back to flap), but failback-time fails it.
func TestFailbackDepartureAloneFailsFailbackTime(t *testing.T) {
	trs := []topology.Transition{tr("a", "active", "down", 300)}
	if r := NoFlapping(trs, "a", healed.Start, 3); !r.OK || r.Value != 0 {
		t.Errorf("NoFlapping = %+v", r)
	}
	if r := FailbackTime(healed, trs, "a", false, bound(time.Second)); r.OK || r.Value != Never {
		t.Errorf("FailbackTime = %+v", r)
	}
}

func TestRouterFailback(t *testing.T) {
	b := bound(500 * time.Millisecond) // from Heal.End (+100ms): up to +600ms
	const bText = "bound 500ms = 500ms test bound"
	flapped := append(back(200), tr("a", "active", "down", 400), tr("a", "down", "active", 500))
	late := []topology.Transition{tr("a", "active", "down", 150), tr("a", "down", "active", 300)} // the fault's verdict landed after the heal began
	cases := []struct {
		name       string
		views      []topology.RouterStatus
		ok         bool
		value      float64
		reason     []string
		flapOK     bool
		flapValue  float64
		flapReason string
	}{
		// The slowest is neither first nor last, so neither "the first
		// viewer" nor "the last viewer" nor the fastest passes for it.
		{"all returned: the slowest named, its time the value", []topology.RouterStatus{rstat("b", "active", back(300)...), rstat("c", "active", back(550)...), rstat("a", "active", back(400)...)}, true, 0.45,
			[]string{"every router saw a active within 450ms of the heal (slowest: c)"}, true, 0, "no region's router changed its view of a after its return (3 routers, watched 5 LB health rounds)"},
		{"a router that never saw it leave counts 0", []topology.RouterStatus{rstat("b", "active"), rstat("c", "active", back(200)...)}, true, 0.1, []string{"within 100ms", "(slowest: c)"}, true, 0, ""},
		{"no router saw it leave: 0, a viewer named", []topology.RouterStatus{rstat("b", "active"), rstat("c", "active")}, true, 0, []string{"within 0s of the heal (slowest: b)"}, true, 0, ""},
		{"back before the heal began: 0", []topology.RouterStatus{rstat("b", "active", back(-50)...)}, true, 0, []string{"within 0s"}, true, 0, ""},
		{"returned during the heal: clamped to 0", []topology.RouterStatus{rstat("b", "active", back(40)...)}, true, 0, []string{"within 0s"}, true, 0, ""},
		{"exactly at the bound passes", []topology.RouterStatus{rstat("b", "active", back(600)...), rstat("c", "active", back(100)...)}, true, 0.5, []string{"within 500ms", "(slowest: b)"}, true, 0, ""},
		{"the worst over the bound fails", []topology.RouterStatus{rstat("b", "active", back(200)...), rstat("c", "active", back(700)...), rstat("d", "active", back(650)...)}, false, 0.6,
			[]string{"c's router saw a active 600ms after the heal > " + bText}, true, 0, ""},
		{"one viewer never saw it active", []topology.RouterStatus{rstat("b", "active", back(200)...), rstat("c", "down", tr("a", "active", "down", -800))}, false, Never,
			[]string{"never saw a active again: c (down) (" + bText + ")"}, true, 0, ""},
		{"never beats late; every such viewer listed", []topology.RouterStatus{rstat("b", "active", back(3000)...), rstat("c", "degraded"), rstat("d", ""), {Self: "e"}}, false, Never,
			[]string{"never saw a active again: c (degraded), d (not listed), e (could not be read)"}, true, 0, ""},
		{"no views", nil, false, Never, []string{"no region's router could be read"}, true, 0, ""},
		{"another region's return is not a's", []topology.RouterStatus{rstat("b", "down", tr("a", "active", "down", -800), tr("x", "down", "active", 200))}, false, Never, []string{"never saw a active again: b (down)"}, true, 0, ""},
		{"a viewer's view flapped", []topology.RouterStatus{rstat("b", "active", flapped...), rstat("c", "active", back(300)...)}, true, 0.2, []string{"(slowest: c)"},
			false, 2, "routers changed their view of a after its return: b: down→active, active→down, down→active"},
		{"a departure before the return is not a flap", []topology.RouterStatus{rstat("b", "active", late...)}, true, 0.2, []string{"(slowest: b)"}, true, 0, ""},
		// b's first return is its failback time; its departure after it is
		// the flap check's to judge.
		{"two viewers flapped, over the bound too", []topology.RouterStatus{rstat("b", "down", append(back(200), tr("a", "active", "down", 400))...), rstat("c", "active", append(back(900), tr("a", "active", "degraded", 950), tr("a", "degraded", "active", 990))...)}, false, 0.8, []string{"c's router saw a active 800ms"},
			false, 3, "b: down→active, active→down; c: down→active, active→degraded, degraded→active"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, flap := RouterFailback(healed, c.views, "a", b, 5)
			if r.OK != c.ok || !sameValue(r.Value, c.value) {
				t.Errorf("%+v: want ok %v value %v", r, c.ok, c.value)
			}
			if r.Name != "router-failback(a)" || r.Class != Liveness || r.Unit != "s" {
				t.Errorf("name %q class %q unit %q", r.Name, r.Class, r.Unit)
			}
			if r.Bound == nil || r.Bound.Limit != 0.5 || r.Bound.Unit != "s" || r.Bound.Text != b.String() {
				t.Errorf("bound %+v", r.Bound)
			}
			wantReason(t, r, c.reason...)
			if strings.HasSuffix(r.Reason, "(slowest: )") {
				t.Errorf("no slowest viewer named: %q", r.Reason)
			}

			if flap.OK != c.flapOK || flap.Value != c.flapValue {
				t.Errorf("flap %+v: want ok %v value %v", flap, c.flapOK, c.flapValue)
			}
			if flap.Name != "router-no-flapping(a)" || flap.Class != Liveness || flap.Unit != "count" || flap.Bound != nil {
				t.Errorf("flap name %q class %q unit %q bound %+v", flap.Name, flap.Class, flap.Unit, flap.Bound)
			}
			wantReason(t, flap, c.flapReason)
		})
	}
}

// Every failback result is liveness: on a starved machine none fails the
// spec, not even a region that never came back.
func TestFailbackJudgedAsLiveness(t *testing.T) {
	b := bound(100 * time.Millisecond)
	flapping := []topology.Transition{tr("a", "active", "down", -1000), tr("a", "down", "active", 300), tr("a", "active", "down", 400)}
	fb, flap := RouterFailback(healed, []topology.RouterStatus{rstat("b", "down"), rstat("c", "down", append(back(200), tr("a", "active", "down", 300))...)}, "a", b, 5)
	rs := []Result{FailbackTime(healed, nil, "a", false, b), NoFlapping(flapping, "a", healed.Start, 3), fb, flap}
	for _, r := range rs {
		if r.OK {
			t.Fatalf("%s passed: %+v", r.Name, r)
		}
	}
	if v, why := Judge(rs, Health{Starved: true}); v != Inconclusive {
		t.Errorf("starved: %s (%s)", v, why)
	}
	if v, _ := Judge(rs, Health{}); v != Failed {
		t.Errorf("kept time: %s", v)
	}
	for _, r := range rs {
		if r.Verdict != Failed {
			t.Errorf("%s: verdict %s", r.Name, r.Verdict)
		}
	}
}

// The LB stamps an ejection's end when it was due but logs it when noticed,
// after a health change logged in the same round: the return is not earlier
// than the change before it.
func TestReturnedAtOutOfOrderEjectionEnd(t *testing.T) {
	trs := []topology.Transition{
		tr("a", "active", "ejected", 100),
		tr("a", "active", "down", 200),    // health fails while ejected
		tr("a", "down", "active", 800),    // health back, still ejected
		tr("a", "ejected", "active", 700), // ejection due at +700, noticed in the +800 round
	}
	if got := ReturnedAt(trs, "a", at(0)); !got.Equal(at(800)) {
		t.Fatalf("ReturnedAt = %v, want +800ms (out of rotation until then)", got.Sub(at(0)))
	}
}

// A log the LB cut short starts from the state its first kept transition left.
func TestReturnedAtTruncatedLog(t *testing.T) {
	trs := []topology.Transition{tr("a", "down", "active", 500)}
	if got := ReturnedAt(trs, "a", at(0)); !got.Equal(at(500)) {
		t.Fatalf("ReturnedAt = %v on a log that begins with down→active", got)
	}
	if r := NoFlapping(trs, "a", at(0), 3); !r.OK {
		t.Fatalf("one return is no flap: %+v", r)
	}
}
