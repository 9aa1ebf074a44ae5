package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/model"
	"github.com/agentops/failover-harness/runtime/store"
	"github.com/agentops/failover-harness/runtime/store/dynamotest"
)

var dynTableSeq atomic.Int64

// newDynamo is one region's client of the shared global store: the real
// DynamoDB store over the embedded endpoint, reading time from that region's
// clock. The table is created when missing.
func newDynamo(t *testing.T, endpoint, table string, now func() time.Time, strategy store.Strategy) *store.Dynamo {
	t.Helper()
	d, err := store.NewDynamo(ctx, store.DynamoConfig{
		Endpoint: endpoint, Table: table, TTL: time.Hour, MaxMessages: 4, Strategy: strategy, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

// hookStore runs before (once) just ahead of its first Put, and records the
// result of every accepted Put.
type hookStore struct {
	store.Store
	once   sync.Once
	before func()

	mu      sync.Mutex
	results []store.PutResult
}

func (h *hookStore) Put(c context.Context, s *store.Session) (store.PutResult, error) {
	h.once.Do(func() {
		if h.before != nil {
			h.before()
		}
	})
	res, err := h.Store.Put(c, s)
	if err == nil {
		h.mu.Lock()
		h.results = append(h.results, res)
		h.mu.Unlock()
	}
	return res, err
}

func (h *hookStore) overwritten() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.results {
		out = append(out, r.Overwritten...)
	}
	return out
}

// Region A's clock is 5 s behind B's. A reads the session, B completes a
// write before A's Put goes through, A gets a version conflict, reloads and
// retries. The stored conversation must stay in order by version AND by
// timestamp, A's reply must be the message as stored, and the eviction of
// the head by the bound of 4 must not be reported as an overwrite.
//
// Before the fix A re-appended its messages with the timestamp taken before
// the retry (A's clock, older than B's b2): the timestamp check fails.
func TestOnAckConflictRetryKeepsOrderUnderClockSkew(t *testing.T) {
	ep := dynamotest.Endpoint(t)
	table := fmt.Sprintf("skew_%d_%d", time.Now().UnixNano(), dynTableSeq.Add(1))
	clkA, clkB := newClock(), newClock()
	clkB.Advance(5 * time.Second)
	stA := &hookStore{Store: newDynamo(t, ep, table, clkA.Now, store.VersionWins)}
	stB := &hookStore{Store: newDynamo(t, ep, table, clkB.Now, store.VersionWins)}
	svc := func(region string, st store.Store, clk *clock) *Service {
		s, err := New(Config{Region: region, Store: st, Model: model.FakeLLM{}, Policy: OnAck, TTL: time.Hour, MaxMessages: 4, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(ctx) })
		return s
	}
	a, b := svc("us-east-1", stA, clkA), svc("eu-west-1", stB, clkB)

	if _, _, err := b.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PostMessage(ctx, "s", tok, "b1", "first from b"); err != nil { // v2
		t.Fatal(err)
	}
	clkA.Advance(time.Second)
	clkB.Advance(time.Second)
	stA.before = func() { // v3 lands between A's read and A's write
		if _, err := b.PostMessage(ctx, "s", tok, "b2", "second from b"); err != nil {
			t.Error(err)
		}
	}
	r, err := a.PostMessage(ctx, "s", tok, "a1", "from a")
	if err != nil {
		t.Fatal(err)
	}
	if a.Stats().Conflicts != 1 {
		t.Fatalf("conflicts = %d, want 1 (the interleaving did not happen)", a.Stats().Conflicts)
	}
	got, err := stA.Get(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"b2", "b2:reply", "a1", "a1:reply"}; got.Version != 4 || !slices.Equal(msgIDs(got.Messages), want) {
		t.Fatalf("stored v%d %v, want v4 %v", got.Version, msgIDs(got.Messages), want)
	}
	for i := 1; i < len(got.Messages); i++ {
		if p, m := got.Messages[i-1], got.Messages[i]; m.Timestamp.Before(p.Timestamp) {
			t.Errorf("timestamps go backwards: %s at %s after %s at %s", m.ID, m.Timestamp.Format(time.RFC3339Nano), p.ID, p.Timestamp.Format(time.RFC3339Nano))
		}
	}
	if v := msgVersions(got.Messages); !slices.IsSorted(v) || !slices.Equal(v, []int64{3, 3, 4, 4}) {
		t.Errorf("message versions by position = %v, want [3 3 4 4]", v)
	}
	stored := got.Messages[3]
	if r.Reply.ID != stored.ID || r.Reply.Content != stored.Content || !r.Reply.Timestamp.Equal(stored.Timestamp) || r.Reply.Version != stored.Version {
		t.Errorf("returned reply %s@%s v%d, stored %s@%s v%d", r.Reply.ID, r.Reply.Timestamp.Format(time.RFC3339Nano), r.Reply.Version,
			stored.ID, stored.Timestamp.Format(time.RFC3339Nano), stored.Version)
	}
	if r.Version != 4 || !r.Durable {
		t.Errorf("result v%d durable=%v, want v4 durable", r.Version, r.Durable)
	}
	if ow := append(stA.overwritten(), stB.overwritten()...); len(ow) != 0 {
		t.Errorf("overwrite reported for a bound eviction: %v", ow)
	}
}

func msgIDs(ms []store.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func msgVersions(ms []store.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Version
	}
	return out
}
