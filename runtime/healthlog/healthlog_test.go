package healthlog

import (
	"encoding/json"
	"testing"
	"time"
)

// A round is late only when the process was slow to start it: a round that
// waits for a slow probe makes the next one ready when it ends, not at the
// tick that fired meanwhile.
func TestReadyAtIgnoresSlowRounds(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	due := t0.Add(100 * time.Millisecond)
	if got := ReadyAt(due, t0.Add(150*time.Millisecond)); !got.Equal(t0.Add(150 * time.Millisecond)) {
		t.Fatalf("round ran past its next tick: ready %v, want the round's end", got.Sub(t0))
	}
	if got := ReadyAt(due, t0.Add(20*time.Millisecond)); !got.Equal(due) {
		t.Fatalf("round ended before the tick: ready %v, want the tick", got.Sub(t0))
	}
}

func TestRingKeepsTheLastRoundsOldestFirst(t *testing.T) {
	var r Ring
	if s := r.Snapshot(true, time.Second); s.Rounds != 0 || s.Recent == nil || len(s.Recent) != 0 {
		t.Fatalf("empty ring: %+v", s)
	}
	const n = MaxRounds + 44
	for i := range n {
		r.Add(Round{TookSeconds: float64(i)})
	}
	s := r.Snapshot(true, 150*time.Millisecond)
	if s.Rounds != n || len(s.Recent) != MaxRounds || s.IntervalSeconds != 0.15 || !s.Enabled {
		t.Fatalf("snapshot: rounds %d, kept %d, interval %v", s.Rounds, len(s.Recent), s.IntervalSeconds)
	}
	for i, x := range s.Recent {
		if want := float64(n - MaxRounds + i); x.TookSeconds != want {
			t.Fatalf("recent[%d] = round %v, want %v (oldest first)", i, x.TookSeconds, want)
		}
	}
}

func TestLogDropsTheOldestAndCountsEveryTransition(t *testing.T) {
	var l Log
	ts, total := l.Snapshot()
	if b, _ := json.Marshal(ts); string(b) != "[]" || total != 0 {
		t.Fatalf("empty log encodes as %s, total %d", b, total)
	}
	const n = MaxTransitions + 7
	for i := range n {
		l.Add(Transition{Region: "r", From: "active", To: "down", At: time.Unix(int64(i), 0)})
	}
	ts, total = l.Snapshot()
	if total != n || len(ts) != MaxTransitions || ts[0].At.Unix() != 7 || ts[len(ts)-1].At.Unix() != n-1 {
		t.Fatalf("kept %d of %d, first %d, last %d", len(ts), total, ts[0].At.Unix(), ts[len(ts)-1].At.Unix())
	}
	ts[0].Region = "changed"
	if again, _ := l.Snapshot(); again[0].Region != "r" {
		t.Fatal("a snapshot shares memory with the log")
	}
}
