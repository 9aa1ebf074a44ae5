package agent

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/model"
)

// The planted write-behind bug acknowledges while the store lacks the
// message, and only while its trigger holds; the session waits for the
// write, so a live region keeps its answers true.
func TestWriteBehindFailpoint(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	var peerDown atomic.Bool
	s, err := New(Config{Region: "r", Store: st, Model: model.FakeLLM{}, Policy: OnAck, TTL: time.Hour, MaxMessages: 50, Now: clk.Now,
		WriteBehind: func(time.Duration) bool { return peerDown.Load() }, WriteBehindDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateSession(ctx, "u", "s1", tok); err != nil {
		t.Fatal(err)
	}
	if r, err := s.PostMessage(ctx, "s1", tok, "m1", "hi"); err != nil || r.Version != 2 || !r.Durable {
		t.Fatalf("trigger off: %+v %v", r, err)
	}
	if got, _ := st.Get(ctx, "s1"); got.Version != 2 {
		t.Fatalf("trigger off: store at version %d, want the write before the answer", got.Version)
	}
	peerDown.Store(true)
	r, err := s.PostMessage(ctx, "s1", tok, "m2", "hi")
	if err != nil || r.Version != 3 || !r.Durable {
		t.Fatalf("trigger on: %+v %v", r, err)
	}
	if got, _ := st.Get(ctx, "s1"); got.Version != 2 {
		t.Fatalf("trigger on: store at version %d before the delay, want 2 (acknowledged, not written)", got.Version)
	}
	// The session is held until the write: a second message waits.
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = s.PostMessage(ctx, "s1", tok, "m3", "hi")
	}()
	select {
	case <-done:
		t.Fatal("a message of the session was served while its acknowledged write was pending")
	case <-time.After(50 * time.Millisecond): // how long it is watched, not a condition wait
	}
}
