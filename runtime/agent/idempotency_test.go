package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/model"
	"github.com/agentops/failover-harness/runtime/store"
)

// countingModel is the fake LLM, counting its calls: a duplicate must not reach it.
type countingModel struct {
	model.FakeLLM
	calls atomic.Int64
}

func (c *countingModel) Complete(ctx context.Context, h []store.Message, prompt string) (model.Reply, error) {
	c.calls.Add(1)
	return c.FakeLLM.Complete(ctx, h, prompt)
}

func newCounted(t *testing.T, region string, st store.Store, clk *clock, p Policy, maxMessages int) (*Service, *countingModel) {
	t.Helper()
	m := &countingModel{}
	s, err := New(Config{Region: region, Store: st, Model: m, Policy: p, Interval: time.Hour, TTL: time.Hour, MaxMessages: maxMessages, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	return s, m
}

// The audit's case: after 25+ exchanges the first message left the bounded
// conversation, and its retry ran create_issue again. 60 exchanges with a
// bound of 50 messages; the retry of the first is a duplicate at the version
// it was stored at, the model is not called, nothing is stored; and another
// region that takes the session over from the store sees the same.
func TestIdempotencyOutlivesTheConversationBound(t *testing.T) {
	for _, p := range []Policy{OnAck, Periodic, OnMutation} {
		t.Run(string(p), func(t *testing.T) {
			clk := newClock()
			st := newMemStore(clk.Now, time.Hour)
			a, calls := newCounted(t, "us-east-1", st, clk, p, 50)
			if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
				t.Fatal(err)
			}
			first, err := a.PostMessage(ctx, "s", tok, "m00", "create issue broken login")
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < 60; i++ {
				clk.Advance(time.Second)
				if _, err := a.PostMessage(ctx, "s", tok, fmt.Sprintf("m%02d", i), fmt.Sprint("hello ", i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.FlushAll(ctx); err != nil {
				t.Fatal(err)
			}
			before, _ := a.GetSession(ctx, "s", tok)
			if slices.Contains(msgIDs(before.Messages), "m00") {
				t.Fatal("m00 still in the conversation: the test does not exercise the trimmed case")
			}
			n, puts := calls.calls.Load(), len(st.putsFor("s"))

			r, err := a.PostMessage(ctx, "s", tok, "m00", "create issue broken login")
			if err != nil {
				t.Fatal(err)
			}
			if !r.Duplicate || r.MessageVersion != first.MessageVersion || r.Reply.ID != "m00:reply" || !r.Durable {
				t.Fatalf("retry of a trimmed message = %+v; want duplicate at v%d", r, first.MessageVersion)
			}
			if got := calls.calls.Load(); got != n {
				t.Fatalf("model called %d more time(s) for a duplicate: create_issue ran again", got-n)
			}
			if _, err := a.FlushAll(ctx); err != nil {
				t.Fatal(err)
			}
			after, _ := a.GetSession(ctx, "s", tok)
			if after.Version != before.Version || !slices.Equal(msgIDs(after.Messages), msgIDs(before.Messages)) || len(st.putsFor("s")) != puts {
				t.Fatalf("a duplicate stored something: v%d→v%d, puts %d→%d", before.Version, after.Version, puts, len(st.putsFor("s")))
			}

			// Failover: another region restores the session from the store.
			b, bcalls := newCounted(t, "eu-west-1", st, clk, OnAck, 50)
			r, err = b.PostMessage(ctx, "s", tok, "m00", "create issue broken login")
			if err != nil || !r.Duplicate || r.MessageVersion != first.MessageVersion || bcalls.calls.Load() != 0 {
				t.Fatalf("retry in another region = %+v, %v (model calls %d); want duplicate at v%d", r, err, bcalls.calls.Load(), first.MessageVersion)
			}
		})
	}
}

// version-wins: the on-ack writer that loses the race reloads and retries;
// the retried write keeps the other writer's ids, so a retry of the other
// writer's message (already trimmed by a bound of one exchange) is a
// duplicate.
func TestOnAckConflictRetryKeepsIDRecord(t *testing.T) {
	clk := newClock()
	mem := newMemStore(clk.Now, time.Hour)
	b, _ := newCounted(t, "eu-west-1", mem, clk, OnAck, 2)
	rs := &raceStore{memStore: mem}
	a, acalls := newCounted(t, "us-east-1", rs, clk, OnAck, 2)
	if _, _, err := b.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PostMessage(ctx, "s", tok, "b0", "first"); err != nil {
		t.Fatal(err)
	}
	rs.interfer = func() {
		if _, err := b.PostMessage(ctx, "s", tok, "b1", "from b"); err != nil {
			t.Error(err)
		}
	}
	if _, err := a.PostMessage(ctx, "s", tok, "a1", "from a"); err != nil {
		t.Fatal(err)
	}
	got, _ := mem.Get(ctx, "s")
	if !slices.Equal(msgIDs(got.Messages), []string{"a1", "a1:reply"}) {
		t.Fatalf("conversation %v, want only a1's exchange", msgIDs(got.Messages))
	}
	n := acalls.calls.Load()
	for _, id := range []string{"b0", "b1"} {
		r, err := a.PostMessage(ctx, "s", tok, id, "again")
		if err != nil || !r.Duplicate {
			t.Fatalf("retry of %s after the reload-and-retry = %+v, %v; want duplicate", id, r, err)
		}
	}
	if acalls.calls.Load() != n {
		t.Fatal("a duplicate reached the model")
	}
}

// The periodic checkpoint's conflict path (reload, re-apply, retry) unions the
// stored record with the unsaved one.
func TestPeriodicConflictMergeKeepsIDRecord(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a, _ := newCounted(t, "us-east-1", st, clk, Periodic, 2)
	b, _ := newCounted(t, "eu-west-1", st, clk, OnAck, 2)
	if _, _, err := b.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PostMessage(ctx, "s", tok, "a1", "from a"); err != nil { // in memory at v2
		t.Fatal(err)
	}
	for _, id := range []string{"b1", "b2"} { // stored at v2, v3
		if _, err := b.PostMessage(ctx, "s", tok, id, "from b"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	c, ccalls := newCounted(t, "ap-southeast-1", st, clk, OnAck, 2)
	for _, id := range []string{"a1", "b1", "b2"} {
		r, err := c.PostMessage(ctx, "s", tok, id, "again")
		if err != nil || !r.Duplicate {
			t.Fatalf("retry of %s after the merged checkpoint = %+v, %v; want duplicate", id, r, err)
		}
	}
	if ccalls.calls.Load() != 0 {
		t.Fatal("a duplicate reached the model")
	}
}

// periodic and on-mutation acknowledge before they write: a message that
// would make the session item too large for the store is refused at once,
// and nothing of it is kept in memory to be written later. Under every
// policy the model does not run for it (the fake store has no size guard:
// the agent's own check refuses).
func TestRefusesAnItemTooLargeBeforeTheModel(t *testing.T) {
	for _, p := range []Policy{OnAck, Periodic, OnMutation} {
		t.Run(string(p), func(t *testing.T) {
			clk := newClock()
			st := newMemStore(clk.Now, time.Hour)
			a, calls := newCounted(t, "us-east-1", st, clk, p, 50)
			if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
				t.Fatal(err)
			}
			_, err := a.PostMessage(ctx, "s", tok, "big", strings.Repeat("x", 400<<10))
			if !errors.Is(err, store.ErrTooLarge) {
				t.Fatalf("oversized message = %v, want ErrTooLarge", err)
			}
			if calls.calls.Load() != 0 {
				t.Fatal("the model ran for a message that was never acknowledged")
			}
			got, _ := a.GetSession(ctx, "s", tok)
			if len(got.Messages) != 0 || got.Version != 1 || len(got.Seen) != 0 {
				t.Fatalf("refused message kept: v%d %v %v", got.Version, msgIDs(got.Messages), got.Seen)
			}
			if r, err := a.PostMessage(ctx, "s", tok, "big", "small now"); err != nil || r.Duplicate {
				t.Fatalf("the refused id is not acknowledged: %+v, %v", r, err)
			}
		})
	}
}
