package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/model"
	"github.com/agentops/failover-harness/runtime/store"
)

var ctx = context.Background()

func newSvc(t *testing.T, region string, st store.Store, clk *clock, p Policy, interval time.Duration, logger *slog.Logger) *Service {
	t.Helper()
	s, err := New(Config{
		Region: region, Store: st, Model: model.FakeLLM{}, Policy: p, Interval: interval,
		TTL: time.Hour, MaxMessages: 50, Now: clk.Now, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	return s
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // poll interval, not a condition wait
	}
}

func TestNewValidates(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	if _, err := New(Config{Store: st, Model: model.FakeLLM{}}); err == nil || !strings.Contains(err.Error(), "region") {
		t.Fatalf("missing region accepted: %v", err)
	}
	if _, err := New(Config{Region: "r", Store: st, Model: model.FakeLLM{}, Policy: "sometimes"}); err == nil || !strings.Contains(err.Error(), "checkpoint.policy") {
		t.Fatalf("bad policy accepted: %v", err)
	}
	if _, err := New(Config{Region: "r", Store: st, Model: model.FakeLLM{}, Policy: Periodic}); err == nil || !strings.Contains(err.Error(), "checkpoint.interval") {
		t.Fatalf("periodic without interval accepted: %v", err)
	}
}

func TestCreateSession(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clk, OnAck, 0, nil)
	s, created, err := a.CreateSession(ctx, "u1", "s1", tok)
	if err != nil || !created || s.Version != 1 || s.ExpiresAt.IsZero() {
		t.Fatalf("create: %+v %v %v", s, created, err)
	}
	s2, created, err := a.CreateSession(ctx, "u1", "s1", tok)
	if err != nil || created || s2.Version != 1 {
		t.Fatalf("re-create must return the live session: %+v %v %v", s2, created, err)
	}
	s3, created, err := a.CreateSession(ctx, "u2", "", tok)
	if err != nil || !created || s3.ID == "" || s3.ID == "s1" {
		t.Fatalf("generated id: %+v %v", s3, err)
	}
}

func TestOnAckDurableVersionsAndBound(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a, err := New(Config{Region: "us-east-1", Store: st, Model: model.FakeLLM{}, Policy: OnAck, MaxMessages: 4, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		r, err := a.PostMessage(ctx, "s", tok, fmt.Sprintf("m%d", i), fmt.Sprintf("hello %d", i))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Durable || r.Version != int64(i+1) || r.Reply.Content == "" || r.Duplicate {
			t.Fatalf("message %d: %+v", i, r)
		}
		// Durable means it is in the store already, at that version.
		got, _ := st.Get(ctx, "s")
		if got.Version != r.Version {
			t.Fatalf("store at v%d after ack of v%d", got.Version, r.Version)
		}
	}
	got, _ := st.Get(ctx, "s")
	if len(got.Messages) != 4 || got.Messages[0].ID != "m2" {
		t.Fatalf("conversation not bounded to 4 newest: %+v", got.Messages)
	}
}

func TestOnAckStoreDownNoAck(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clk, OnAck, 0, nil)
	if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	st.setDown(true)
	if _, err := a.PostMessage(ctx, "s", tok, "m1", "hi"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
}

func TestIdempotentByMessageID(t *testing.T) {
	for _, p := range []Policy{OnAck, Periodic, OnMutation} {
		t.Run(string(p), func(t *testing.T) {
			clk := newClock()
			st := newMemStore(clk.Now, time.Hour)
			a := newSvc(t, "us-east-1", st, clk, p, time.Hour, nil)
			if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
				t.Fatal(err)
			}
			r1, err := a.PostMessage(ctx, "s", tok, "m1", "hello")
			if err != nil {
				t.Fatal(err)
			}
			r2, err := a.PostMessage(ctx, "s", tok, "m1", "hello again")
			if err != nil {
				t.Fatal(err)
			}
			if !r2.Duplicate || r2.Reply.Content != r1.Reply.Content || r2.Reply.ID != r1.Reply.ID {
				t.Fatalf("duplicate not detected: %+v vs %+v", r2, r1)
			}
			got, _ := a.GetSession(ctx, "s", tok)
			if len(got.Messages) != 2 {
				t.Fatalf("duplicate appended: %+v", got.Messages)
			}
		})
	}
}

// raceStore lets one concurrent write land between a reader's Get and Put.
type raceStore struct {
	*memStore
	once     sync.Once
	interfer func()
}

func (r *raceStore) Put(c context.Context, s *store.Session) (store.PutResult, error) {
	r.once.Do(func() {
		if r.interfer != nil {
			r.interfer()
		}
	})
	return r.memStore.Put(c, s)
}

func TestOnAckConflictReloadsOnceAndRetries(t *testing.T) {
	clk := newClock()
	mem := newMemStore(clk.Now, time.Hour)
	b := newSvc(t, "eu-west-1", mem, clk, OnAck, 0, nil)
	rs := &raceStore{memStore: mem}
	a := newSvc(t, "us-east-1", rs, clk, OnAck, 0, nil)
	if _, _, err := b.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	// B writes v2 after A has read v1 and before A writes.
	rs.interfer = func() {
		if _, err := b.PostMessage(ctx, "s", tok, "b1", "from b"); err != nil {
			t.Error(err)
		}
	}
	r, err := a.PostMessage(ctx, "s", tok, "a1", "from a")
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 3 || !r.Durable {
		t.Fatalf("want v3 after reload, got %+v", r)
	}
	got, _ := mem.Get(ctx, "s")
	ids := []string{}
	for _, m := range got.Messages {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "b1,b1:reply,a1,a1:reply" {
		t.Fatalf("lost a writer's messages: %v", ids)
	}
	if a.Stats().Conflicts != 1 {
		t.Fatalf("conflicts = %d", a.Stats().Conflicts)
	}
}

// SPEC §5 defect 1: the seed logs the "previous" region after overwriting it
// with the current one, so it always logs itself. We must report the region
// that actually wrote the session last.
func TestRestoreReportsPreviousRegion(t *testing.T) {
	for _, p := range []Policy{OnAck, Periodic} {
		t.Run(string(p), func(t *testing.T) {
			clk := newClock()
			st := newMemStore(clk.Now, time.Hour)
			a := newSvc(t, "us-east-1", st, clk, p, time.Hour, nil)
			var logs bytes.Buffer
			b := newSvc(t, "eu-west-1", st, clk, p, time.Hour, slog.New(slog.NewJSONHandler(&logs, nil)))
			if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
				t.Fatal(err)
			}
			if _, err := a.PostMessage(ctx, "s", tok, "m1", "hi"); err != nil {
				t.Fatal(err)
			}
			if _, err := a.FlushAll(ctx); err != nil {
				t.Fatal(err)
			}
			r, err := b.PostMessage(ctx, "s", tok, "m2", "hi from b")
			if err != nil {
				t.Fatal(err)
			}
			if r.RestoredFrom != "us-east-1" {
				t.Fatalf("RestoredFrom = %q, want us-east-1", r.RestoredFrom)
			}
			var rec struct {
				Msg      string `json:"msg"`
				Previous string `json:"previous_region"`
				Region   string `json:"region"`
			}
			line, _, _ := strings.Cut(logs.String(), "\n")
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if rec.Msg != "session restored" || rec.Previous != "us-east-1" || rec.Region != "eu-west-1" {
				t.Fatalf("restore log: %+v", rec)
			}
			if b.Stats().Restores != 1 {
				t.Fatalf("restores = %d", b.Stats().Restores)
			}
		})
	}
}

// SPEC §5 defect 4: the seed's restoreSession loads the snapshot and throws
// it away, so the new region continues from an empty conversation.
func TestRestoreUsesLoadedSnapshot(t *testing.T) {
	for _, p := range []Policy{OnAck, Periodic, OnMutation} {
		t.Run(string(p), func(t *testing.T) {
			clk := newClock()
			st := newMemStore(clk.Now, time.Hour)
			a := newSvc(t, "us-east-1", st, clk, OnAck, 0, nil)
			b := newSvc(t, "eu-west-1", st, clk, p, time.Hour, nil)
			if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
				t.Fatal(err)
			}
			if _, err := a.PostMessage(ctx, "s", tok, "a1", "hi"); err != nil {
				t.Fatal(err)
			}
			r, err := b.PostMessage(ctx, "s", tok, "b1", "continue")
			if err != nil {
				t.Fatal(err)
			}
			if r.Version != 3 {
				t.Fatalf("version must continue from the snapshot (v2): got v%d", r.Version)
			}
			if _, err := b.FlushAll(ctx); err != nil {
				t.Fatal(err)
			}
			got, _ := st.Get(ctx, "s")
			if len(got.Messages) != 4 || got.Messages[0].ID != "a1" || got.LastActiveRegion != "eu-west-1" {
				t.Fatalf("region B dropped A's conversation: %+v", got)
			}
		})
	}
}

// SPEC §5 defect 5: the seed keeps ONE stopCheckpointing handle per agent,
// so ending one session stops another session's timer. Each session here has
// its own loop.
func TestPeriodicLoopPerSession(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clk, Periodic, 5*time.Millisecond, nil)
	for _, id := range []string{"s1", "s2"} {
		if _, _, err := a.CreateSession(ctx, "u", id, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.Stats().ActiveLoops; n != 2 {
		t.Fatalf("want one loop per session (2), got %d", n)
	}
	if _, err := a.PostMessage(ctx, "s1", tok, "m1", "one"); err != nil {
		t.Fatal(err)
	}
	if err := a.EndSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if n := a.Stats().ActiveLoops; n != 1 {
		t.Fatalf("ending s1 must stop exactly its loop; active=%d", n)
	}
	if got := st.putsFor("s1"); len(got) != 2 || len(got[1].Messages) != 2 {
		t.Fatalf("EndSession final checkpoint missing: %+v", got)
	}
	// s2's loop still runs: a new message gets checkpointed without any flush.
	r, err := a.PostMessage(ctx, "s2", tok, "m1", "two")
	if err != nil || r.Durable {
		t.Fatalf("periodic ack must be non-durable: %+v %v", r, err)
	}
	eventually(t, 5*time.Second, "s2 periodic checkpoint", func() bool {
		p := st.putsFor("s2")
		return len(p) == 2 && len(p[1].Messages) == 2
	})
}

// SPEC §5 defect 6: the seed resends the same version on every periodic
// checkpoint, which version-wins rejects. Every write here carries a fresh,
// increasing version and none is rejected.
func TestPeriodicCheckpointFreshVersions(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clk, Periodic, 5*time.Millisecond, nil)
	if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := a.PostMessage(ctx, "s", tok, fmt.Sprintf("m%d", i), "x"); err != nil {
			t.Fatal(err)
		}
		want := 2 * i
		eventually(t, 5*time.Second, "checkpoint", func() bool {
			p := st.putsFor("s")
			return len(p) > 0 && len(p[len(p)-1].Messages) == want
		})
	}
	p := st.putsFor("s")
	for i := 1; i < len(p); i++ {
		if p[i].Version <= p[i-1].Version {
			t.Fatalf("checkpoint %d reused/lowered version: %d after %d", i, p[i].Version, p[i-1].Version)
		}
	}
	st.mu.Lock()
	rejected := len(st.rejected)
	st.mu.Unlock()
	if rejected != 0 || a.Stats().CheckpointErrs != 0 {
		t.Fatalf("rejected writes: %d errs: %d", rejected, a.Stats().CheckpointErrs)
	}
}

// SPEC §5 defect 2: the seed fires the failover's final checkpoints without
// awaiting them and with a version version-wins rejects. FlushAll returns
// only after every dirty session is written, each at a fresh version, even
// when another region wrote the session meanwhile.
func TestFlushAllAwaitedFreshVersions(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clk, Periodic, time.Hour, nil)
	b := newSvc(t, "eu-west-1", st, clk, OnAck, 0, nil)
	for _, id := range []string{"s1", "s2"} {
		if _, _, err := a.CreateSession(ctx, "u", id, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := a.PostMessage(ctx, id, tok, "a1", "hello"); err != nil {
			t.Fatal(err)
		}
	}
	// Meanwhile B wrote s2 (v2), the version A's dirty copy also has.
	if _, err := b.PostMessage(ctx, "s2", tok, "b1", "from b"); err != nil {
		t.Fatal(err)
	}
	n, err := a.FlushAll(ctx)
	if err != nil || n != 2 {
		t.Fatalf("FlushAll = %d, %v", n, err)
	}
	s1, _ := st.Get(ctx, "s1")
	s2, _ := st.Get(ctx, "s2")
	if s1.Version != 2 || len(s1.Messages) != 2 {
		t.Fatalf("s1 not flushed: %+v", s1)
	}
	if s2.Version != 3 || len(s2.Messages) != 4 {
		t.Fatalf("s2 must hold both regions' messages at a fresh version: %+v", s2)
	}
	if n, _ := a.FlushAll(ctx); n != 0 {
		t.Fatalf("clean sessions rewritten: %d", n)
	}
}

func TestOnMutationCheckpointsOnlyAfterMutations(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clk, OnMutation, 0, nil)
	if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	r, err := a.PostMessage(ctx, "s", tok, "m1", "what's up")
	if err != nil || r.Durable {
		t.Fatalf("plain message: %+v %v", r, err)
	}
	if n := len(st.putsFor("s")); n != 1 {
		t.Fatalf("plain message written: %d puts", n)
	}
	r, err = a.PostMessage(ctx, "s", tok, "m2", "create issue login broken")
	if err != nil || !r.Durable || len(r.Reply.ToolCalls) != 1 {
		t.Fatalf("mutation: %+v %v", r, err)
	}
	p := st.putsFor("s")
	if len(p) != 2 || len(p[1].Messages) != 4 || p[1].Version != r.Version {
		t.Fatalf("mutation checkpoint: %+v", p)
	}
	if a.Stats().ActiveLoops != 0 {
		t.Fatal("on-mutation must not run a timer")
	}
}

func TestExpiredSession(t *testing.T) {
	for _, p := range []Policy{OnAck, Periodic} {
		t.Run(string(p), func(t *testing.T) {
			a := expiredSession(t, p)
			if _, err := a.PostMessage(ctx, "s", tok, "m2", "hi"); !errors.Is(err, store.ErrExpired) {
				t.Fatalf("want ErrExpired, got %v", err)
			}
			if _, err := a.GetSession(ctx, "s", tok); !errors.Is(err, store.ErrExpired) {
				t.Fatalf("want ErrExpired, got %v", err)
			}
			if _, err := a.GetSession(ctx, "nope", tok); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("want ErrNotFound, got %v", err)
			}
			eventually(t, 5*time.Second, "expired session's loop to stop", func() bool { return a.Stats().ActiveLoops == 0 })
		})
	}
}

func TestCloseFlushesAndStopsLoops(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a, err := New(Config{Region: "r", Store: st, Model: model.FakeLLM{}, Policy: Periodic, Interval: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PostMessage(ctx, "s", tok, "m1", "hi"); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Get(ctx, "s")
	if len(got.Messages) != 2 || a.Stats().ActiveLoops != 0 {
		t.Fatalf("close: %+v loops=%d", got, a.Stats().ActiveLoops)
	}
	if _, err := a.PostMessage(ctx, "s", tok, "m2", "hi"); !errors.Is(err, ErrClosed) {
		t.Fatalf("post after close: %v", err)
	}
}

func TestSessionsListing(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clk, OnAck, 0, nil)
	for _, id := range []string{"b", "a"} {
		if _, _, err := a.CreateSession(ctx, "u", id, tok); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(10 * time.Minute)
	if _, err := a.PostMessage(ctx, "a", tok, "m1", "hi"); err != nil {
		t.Fatal(err)
	}
	all := a.Sessions()
	if len(all) != 2 || all[0].ID != "a" || all[0].Version != 2 || all[0].Messages != 2 {
		t.Fatalf("sessions: %+v", all)
	}
	act := a.ActiveSessions(5 * time.Minute)
	if len(act) != 1 || act[0].ID != "a" {
		t.Fatalf("active: %+v", act)
	}
}

func TestConcurrentMessages(t *testing.T) {
	for _, p := range []Policy{OnAck, Periodic} {
		t.Run(string(p), func(t *testing.T) {
			clk := newClock()
			st := newMemStore(clk.Now, time.Hour)
			a := newSvc(t, "us-east-1", st, clk, p, time.Millisecond, nil)
			const sessions, perSession = 4, 10
			for i := 0; i < sessions; i++ {
				if _, _, err := a.CreateSession(ctx, "u", fmt.Sprint("s", i), tok); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, sessions*perSession*2)
			for i := 0; i < sessions; i++ {
				for w := 0; w < 2; w++ { // two writers per session, sharing message ids
					wg.Add(1)
					go func() {
						defer wg.Done()
						for j := 0; j < perSession; j++ {
							if _, err := a.PostMessage(ctx, fmt.Sprint("s", i), tok, fmt.Sprint("m", j), "hi"); err != nil {
								errs <- err
							}
							_ = a.Sessions()
						}
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if _, err := a.FlushAll(ctx); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < sessions; i++ {
				got, err := st.Get(ctx, fmt.Sprint("s", i))
				if err != nil || len(got.Messages) != 2*perSession {
					t.Fatalf("s%d: %v %d messages", i, err, len(got.Messages))
				}
			}
		})
	}
}

// expiredSession returns a region whose session "s" (owned by tok, one
// message, flushed) has just outlived its one-hour TTL.
func expiredSession(t *testing.T, p Policy) *Service {
	t.Helper()
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clk, p, time.Hour, nil)
	if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PostMessage(ctx, "s", tok, "m1", "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour + time.Second)
	return a
}
