package topology

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// lbBody renders /lb/status as an LB whose clock reads truth+skew would,
// for events that happened at the given true (harness) times.
func lbBody(skew time.Duration, built, transition, round, ejectedUntil time.Time) string {
	lb := func(t time.Time) string { return t.Add(skew).UTC().Format(time.RFC3339Nano) }
	return fmt.Sprintf(`{
 "now": %q,
 "regions": [
  {"name": "us-east-1", "weight": 50, "status": "active", "ejected_until": %q, "in_rotation": false, "requests": 3},
  {"name": "eu-west-1", "weight": 30, "status": "down", "ejected_until": null, "in_rotation": false, "requests": 0}
 ],
 "transitions": [{"region": "eu-west-1", "from": "active", "to": "down", "at": %q}],
 "health": {"enabled": true, "interval_seconds": 0.1, "rounds": 2, "recent": [
  {"started": %q, "late_seconds": 0, "took_seconds": 0.002},
  {"started": %q, "late_seconds": 0.75, "took_seconds": 0.003}
 ]},
 "alerts": {"sent": 0}
}`, lb(built), lb(ejectedUntil), lb(transition), lb(round.Add(-time.Second)), lb(round))
}

func decodeStatus(t *testing.T, body string) LBStatus {
	t.Helper()
	var st LBStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return st
}

func TestAlignClockUsesAgesNotTheLBClock(t *testing.T) {
	truth := time.Now() // harness clock when the LB built the body
	const rtt = 40 * time.Millisecond
	transition := truth.Add(-3 * time.Second)
	round := truth.Add(-500 * time.Millisecond)
	ejectedUntil := truth.Add(2 * time.Second)
	received := truth.Add(rtt)
	for _, skew := range []time.Duration{5 * time.Second, -5 * time.Second, 0} {
		t.Run(skew.String(), func(t *testing.T) {
			st := decodeStatus(t, lbBody(skew, truth, transition, round, ejectedUntil))
			if st.ClockAligned {
				t.Fatal("aligned before AlignClock")
			}
			// Ages on the LB's clock are what survive the skew.
			if age := st.Now.Sub(st.Transitions[0].At); age != 3*time.Second {
				t.Fatalf("transition age on the LB clock %v, want 3s", age)
			}
			st.AlignClock(received)
			if !st.ClockAligned || !st.Now.Equal(received) {
				t.Fatalf("aligned %v, now %v, want %v", st.ClockAligned, st.Now, received)
			}
			// Each converted time is the truth plus the round trip: never
			// earlier, and off by at most the rtt, whatever the skew.
			for what, c := range map[string][2]time.Time{
				"transition at":    {st.Transitions[0].At, transition},
				"round started":    {st.Health.Recent[1].Started, round},
				"earlier round":    {st.Health.Recent[0].Started, round.Add(-time.Second)},
				"ejected_until":    {st.Regions[0].EjectedUntil, ejectedUntil},
				"now":              {st.Now, truth},
				"age (transition)": {received.Add(-st.Now.Sub(st.Transitions[0].At)), transition},
			} {
				got, want := c[0], c[1]
				if d := got.Sub(want); d != rtt {
					t.Errorf("%s = truth%+v, want truth+%v", what, d, rtt)
				}
			}
			if !st.Regions[1].EjectedUntil.IsZero() {
				t.Errorf("never-ejected region got ejected_until %v", st.Regions[1].EjectedUntil)
			}
			// Aligned times compare with the caller's clock directly.
			if late, n := st.MaxRoundLateness(truth.Add(-time.Second)); n != 1 || late != 750*time.Millisecond {
				t.Errorf("MaxRoundLateness = %v over %d rounds, want 750ms over 1", late, n)
			}
			// A second call changes nothing.
			before := st.Transitions[0].At
			st.AlignClock(received.Add(time.Hour))
			if !st.Transitions[0].At.Equal(before) || !st.Now.Equal(received) {
				t.Error("second AlignClock moved the times")
			}
		})
	}
}

func TestAlignClockLeavesCopiesAlone(t *testing.T) {
	truth := time.Now()
	st := decodeStatus(t, lbBody(5*time.Second, truth, truth, truth, truth))
	cp := st
	lbAt := cp.Transitions[0].At
	st.AlignClock(truth)
	if !cp.Transitions[0].At.Equal(lbAt) || !cp.Health.Recent[0].Started.Equal(st.Health.Recent[0].Started.Add(5*time.Second)) || cp.ClockAligned {
		t.Fatal("AlignClock changed an earlier copy's times")
	}
}

func TestAlignClockWithoutNowLeavesTimesUnconverted(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	body := fmt.Sprintf(`{"regions":[{"name":"us-east-1","ejected_until":""}],"transitions":[{"region":"us-east-1","from":"active","to":"down","at":%q}]}`,
		at.Format(time.RFC3339Nano))
	st := decodeStatus(t, body)
	st.AlignClock(time.Now())
	if st.ClockAligned || !st.Now.IsZero() || !st.Transitions[0].At.Equal(at) {
		t.Fatalf("an LB without now: aligned %v, now %v, at %v", st.ClockAligned, st.Now, st.Transitions[0].At)
	}
	if late, n := st.MaxRoundLateness(time.Time{}); late != 0 || n != 0 || st.RoundsSince(time.Time{}) != 0 || st.RoundsCover(time.Time{}) {
		t.Fatal("round helpers must not compare unconverted times with the caller's")
	}
}

func TestRoundHelpers(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return base.Add(time.Duration(s * float64(time.Second))) }
	st := LBStatus{Now: at(10), ClockAligned: true, Health: LBHealthRounds{Enabled: true, IntervalSeconds: 1, Rounds: 4, Recent: []LBRound{
		{Started: at(1), LateSeconds: 0},
		{Started: at(2), LateSeconds: 2.5},
		{Started: at(5), LateSeconds: 0.25},
		{Started: at(6), LateSeconds: 0.001},
	}}}
	cases := []struct {
		since  float64
		late   time.Duration
		rounds int
	}{
		{0, 2500 * time.Millisecond, 4},
		{2, 2500 * time.Millisecond, 3}, // at since counts
		{2.5, 250 * time.Millisecond, 2},
		{6, time.Millisecond, 1},
		{7, 0, 0},
	}
	for _, c := range cases {
		late, n := st.MaxRoundLateness(at(c.since))
		if late != c.late || n != c.rounds || st.RoundsSince(at(c.since)) != c.rounds {
			t.Errorf("since %vs: late %v over %d rounds, want %v over %d", c.since, late, n, c.late, c.rounds)
		}
		if !st.RoundsCover(at(c.since)) {
			t.Errorf("since %vs: nothing was dropped, want covered", c.since)
		}
	}
	st.Health.Rounds = 300 // the LB dropped older rounds
	for since, want := range map[float64]bool{0.5: false, 1: true, 3: true} {
		if got := st.RoundsCover(at(since)); got != want {
			t.Errorf("after drops, RoundsCover(%vs) = %v, want %v", since, got, want)
		}
	}
}
