package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/store"
)

const tokOther = "someone-elses-token-0123456789"

// A session is its creator's: a caller without its token (another, or none) is
// told what an unknown id gets, on a read, on a new message and on the replay of
// an acknowledged message id, with the model not called, nothing written and no
// restore counted. Under every policy.
func TestStrangerIsToldNotFound(t *testing.T) {
	for _, p := range []Policy{OnAck, Periodic, OnMutation} {
		t.Run(string(p), func(t *testing.T) {
			clk := newClock()
			st := newMemStore(clk.Now, time.Hour)
			a, calls := newCounted(t, "us-east-1", st, clk, p, 50)
			s, created, err := a.CreateSession(ctx, "u", "s", tok)
			if err != nil || !created || s.Owner != store.OwnerHash(tok) {
				t.Fatalf("create = %+v, %v, %v; want owner %s", s, created, err, store.OwnerHash(tok))
			}
			if _, err := a.PostMessage(ctx, "s", tok, "m1", "create issue broken login"); err != nil {
				t.Fatal(err)
			}
			if _, err := a.FlushAll(ctx); err != nil {
				t.Fatal(err)
			}
			// b takes the session over from the store: the stranger's first request
			// there must not restore it either.
			b, bcalls := newCounted(t, "eu-west-1", st, clk, p, 50)
			puts, n := len(st.putsFor("s")), calls.calls.Load()
			for _, svc := range []*Service{a, b} {
				for _, stranger := range []string{tokOther, "", store.OwnerHash(tok)} {
					if _, err := svc.GetSession(ctx, "s", stranger); !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("read with token %q: %v, want ErrNotFound", stranger, err)
					}
					for _, id := range []string{"m1", "m2"} {
						r, err := svc.PostMessage(ctx, "s", stranger, id, "create issue broken login")
						if !errors.Is(err, store.ErrNotFound) {
							t.Fatalf("message %s with token %q: %+v, %v; want ErrNotFound", id, stranger, r, err)
						}
					}
				}
			}
			if calls.calls.Load() != n || bcalls.calls.Load() != 0 {
				t.Fatal("a stranger's message reached the model")
			}
			if got := len(st.putsFor("s")); got != puts {
				t.Fatalf("a stranger's request wrote %d time(s)", got-puts)
			}
			if b.Stats().Restores != 0 {
				t.Fatal("a stranger's request restored the session")
			}
			if _, err := a.FlushAll(ctx); err != nil || len(st.putsFor("s")) != puts {
				t.Fatalf("a stranger's request left something to write: %v", err)
			}
			// The owner, in either region.
			for _, svc := range []*Service{a, b} {
				got, err := svc.GetSession(ctx, "s", tok)
				if err != nil || len(got.Messages) != 2 {
					t.Fatalf("owner's read: %+v, %v", got, err)
				}
				if r, err := svc.PostMessage(ctx, "s", tok, "m1", "create issue broken login"); err != nil || !r.Duplicate {
					t.Fatalf("owner's retry: %+v, %v; want a duplicate", r, err)
				}
			}
		})
	}
}

// Re-creating a live id is idempotent for its owner only; an expired id is
// re-created for any token, which then owns it.
func TestCreateSessionOwner(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clk, OnAck, 0, nil)
	if _, _, err := a.CreateSession(ctx, "u", "s", ""); err == nil || !strings.HasPrefix(err.Error(), "session_token:") {
		t.Fatalf("create without token: %v, want an error naming session_token", err)
	}
	if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PostMessage(ctx, "s", tok, "m1", "hello"); err != nil {
		t.Fatal(err)
	}
	if s, created, err := a.CreateSession(ctx, "u", "s", tok); err != nil || created || len(s.Messages) != 2 {
		t.Fatalf("owner's re-create = %+v, %v, %v; want the live session", s, created, err)
	}
	puts := len(st.putsFor("s"))
	s, created, err := a.CreateSession(ctx, "u2", "s", tokOther)
	if !errors.Is(err, ErrSessionExists) || s != nil || created {
		t.Fatalf("stranger's re-create = %+v, %v, %v; want ErrSessionExists and no session", s, created, err)
	}
	if len(st.putsFor("s")) != puts {
		t.Fatal("a stranger's re-create wrote")
	}

	clk.Advance(time.Hour)
	s, created, err = a.CreateSession(ctx, "u2", "s", tokOther)
	if err != nil || !created || s.Owner != store.OwnerHash(tokOther) || len(s.Messages) != 0 {
		t.Fatalf("re-create after expiry = %+v, %v, %v; want a new session of the new token", s, created, err)
	}
	if _, err := a.GetSession(ctx, "s", tok); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the former owner reads the new session: %v, want ErrNotFound", err)
	}
	if _, err := a.GetSession(ctx, "s", tokOther); err != nil {
		t.Fatalf("new owner: %v", err)
	}
}

// An expired session is told expired only to its owner; a stranger cannot tell it
// from an unknown id. Both from the store and from a region's in-memory copy.
func TestExpiryToldOnlyToOwner(t *testing.T) {
	for _, p := range []Policy{OnAck, Periodic} {
		for _, ownerFirst := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/owner-first=%v", p, ownerFirst), func(t *testing.T) {
				a := expiredSession(t, p)
				owner := func() {
					if _, err := a.PostMessage(ctx, "s", tok, "m2", "hi"); !errors.Is(err, store.ErrExpired) {
						t.Fatalf("owner: %v, want ErrExpired", err)
					}
				}
				stranger := func() {
					for _, tk := range []string{tokOther, ""} {
						if _, err := a.GetSession(ctx, "s", tk); !errors.Is(err, store.ErrNotFound) {
							t.Fatalf("stranger %q: %v, want ErrNotFound", tk, err)
						}
					}
				}
				if ownerFirst {
					owner()
					stranger()
				} else {
					stranger()
					owner()
				}
			})
		}
	}
}

// Sessions stored before owners existed (no owner) stay usable without a token,
// and a re-create neither refuses nor claims them.
func TestSessionWithoutOwnerStaysOpen(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	if _, err := st.Put(ctx, &store.Session{ID: "old", Version: 1, LastActiveAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	a := newSvc(t, "us-east-1", st, clk, OnAck, 0, nil)
	if _, err := a.PostMessage(ctx, "old", "", "m1", "hi"); err != nil {
		t.Fatalf("message without token: %v", err)
	}
	if got, err := a.GetSession(ctx, "old", tokOther); err != nil || len(got.Messages) != 2 {
		t.Fatalf("read with any token: %+v, %v", got, err)
	}
	if s, created, err := a.CreateSession(ctx, "u", "old", tok); err != nil || created || s.Owner != "" {
		t.Fatalf("re-create = %+v, %v, %v; want the live session, still without owner", s, created, err)
	}
	if got, _ := st.Get(ctx, "old"); got.Owner != "" {
		t.Fatalf("stored owner %q, want none", got.Owner)
	}
}

// On-ack: A loaded its session; before A's write lands the session expires and
// another token re-creates it and sends a message with the same id. The store
// refuses A's write (another owner), and A's reload must not answer from the new
// owner's session: no "duplicate" carrying the stranger's reply.
func TestOnAckReloadChecksOwner(t *testing.T) {
	clk := newClock()
	mem := newMemStore(clk.Now, time.Hour)
	b := newSvc(t, "eu-west-1", mem, clk, OnAck, 0, nil)
	rs := &raceStore{memStore: mem}
	a := newSvc(t, "us-east-1", rs, clk, OnAck, 0, nil)
	if _, _, err := b.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	rs.interfer = func() {
		clk.Advance(time.Hour)
		if _, _, err := b.CreateSession(ctx, "u2", "s", tokOther); err != nil {
			t.Error(err)
		}
		if _, err := b.PostMessage(ctx, "s", tokOther, "m1", "the other owner's secret"); err != nil {
			t.Error(err)
		}
	}
	r, err := a.PostMessage(ctx, "s", tok, "m1", "hello")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("A's message = %+v, %v; want ErrNotFound, not the new owner's reply", r, err)
	}
	got, _ := mem.Get(ctx, "s")
	if got.Owner != store.OwnerHash(tokOther) || len(got.Messages) != 2 || got.Messages[0].Content != "the other owner's secret" {
		t.Fatalf("the new owner's session changed: %+v", got)
	}
}

// Periodic: A holds unsaved messages of a session that expired in the store and
// was re-created by another token. A's checkpoint must not merge them into the
// new owner's session: they are dropped, the new session stays as it was.
func TestCheckpointDoesNotMergeIntoAnotherOwnersSession(t *testing.T) {
	clk := newClock()
	st := newMemStore(clk.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clk, Periodic, time.Hour, nil)
	b := newSvc(t, "eu-west-1", st, clk, OnAck, 0, nil)
	if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Minute)
	if _, err := a.PostMessage(ctx, "s", tok, "a1", "unsaved in A"); err != nil { // A's copy lives until +90m
		t.Fatal(err)
	}
	clk.Advance(31 * time.Minute) // the stored item (written at +0) expired
	if _, created, err := b.CreateSession(ctx, "u2", "s", tokOther); err != nil || !created {
		t.Fatalf("re-create in B: %v %v", created, err)
	}
	if _, err := a.FlushAll(ctx); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("A's checkpoint: %v, want ErrExpired (its session is gone)", err)
	}
	got, err := st.Get(ctx, "s")
	if err != nil || got.Owner != store.OwnerHash(tokOther) || len(got.Messages) != 0 {
		t.Fatalf("the new owner's session = %+v, %v; want it untouched, without A's messages", got, err)
	}
	if _, err := a.GetSession(ctx, "s", tok); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("A's former owner reads the new session: %v", err)
	}
	if _, err := a.FlushAll(ctx); err != nil {
		t.Fatalf("the dropped copy is still being written: %v", err)
	}
}
