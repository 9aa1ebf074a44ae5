package server

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/store"
)

// The audit: anyone could open, or write to, a session whose id they guessed.
// Now a session answers only the token it was created with. A stranger (no
// token, another one, or the stored hash of the right one) is told exactly
// what an unknown id gets, on a read, on a new message and on the replay of an
// acknowledged message id (whose stored reply it must not see), with the model
// not called and nothing written; the owner is served. A second region on the
// same table (after a failover) enforces the same owner.
func TestSessionAnswersOnlyItsToken(t *testing.T) {
	e := newPlainEnv(t)
	a := newPlainRegion(t, plainOpts{env: e})
	r := do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u","session_id":"s","session_token":"tok-0123456789abcdef"}`)
	expect(t, r, 201, "")
	if r.body["session_token"] != sessTok {
		t.Fatalf("create answer: %s; want the presented session_token", r.raw)
	}
	expect(t, do(t, "POST", a.url+"/v1/sessions/s/messages", `{"message_id":"m1","content":"create issue secret plans"}`, owner...), 200, "")

	b := newPlainRegion(t, plainOpts{name: "eu-west-1", env: e})
	strangers := [][]string{nil, {SessionTokenHeader, "someone-elses-token-0123"}, {SessionTokenHeader, store.OwnerHash(sessTok)},
		{SessionTokenHeader, sessTok + "x"}, {"Authorization", "Bearer " + adminToken}}
	for _, reg := range []*plainRegion{a, b} {
		unknownGet := do(t, "GET", reg.url+"/v1/sessions/nope", "")
		unknownPost := do(t, "POST", reg.url+"/v1/sessions/nope/messages", `{"message_id":"m1","content":"create issue secret plans"}`)
		expect(t, unknownGet, 404, "SESSION_NOT_FOUND")
		calls, puts := reg.model.calls.Load(), reg.dyn.Stats().Puts
		for _, hdr := range strangers {
			r := do(t, "GET", reg.url+"/v1/sessions/s", "", hdr...)
			expect(t, r, 404, "SESSION_NOT_FOUND")
			if r.raw != unknownGet.raw {
				t.Fatalf("read with %q: %s differs from an unknown id's %s", hdr, r.raw, unknownGet.raw)
			}
			for _, body := range []string{`{"message_id":"m1","content":"create issue secret plans"}`, `{"message_id":"m2","content":"hello"}`} {
				r := do(t, "POST", reg.url+"/v1/sessions/s/messages", body, hdr...)
				expect(t, r, 404, "SESSION_NOT_FOUND")
				if r.raw != unknownPost.raw {
					t.Fatalf("message %s with %q: %s differs from an unknown id's %s", body, hdr, r.raw, unknownPost.raw)
				}
			}
		}
		if reg.model.calls.Load() != calls {
			t.Fatal("a stranger's message reached the model")
		}
		if reg.dyn.Stats().Puts != puts {
			t.Fatal("a stranger's request wrote to the store")
		}
		if reg.svc.Stats().Restores != 0 {
			t.Fatal("a stranger's request restored the session")
		}
		r := do(t, "GET", reg.url+"/v1/sessions/s", "", owner...)
		expect(t, r, 200, "")
		if msgs, _ := r.body["messages"].([]any); len(msgs) != 2 {
			t.Fatalf("owner's read in %s: %s", reg.url, r.raw)
		}
		r = do(t, "POST", reg.url+"/v1/sessions/s/messages", `{"message_id":"m1","content":"create issue secret plans"}`, owner...)
		expect(t, r, 200, "")
		if r.body["duplicate"] != true {
			t.Fatalf("owner's retry: %s", r.raw)
		}
	}
	r = do(t, "POST", b.url+"/v1/sessions/s/messages", `{"message_id":"m3","content":"after failover"}`, owner...)
	expect(t, r, 200, "")
	if r.body["version"] != 3.0 {
		t.Fatalf("owner's message after failover: %s", r.raw)
	}
}

// Re-creating a live id: its token → 200 (a client whose answer was lost
// retries); another token or none → 409 SESSION_EXISTS without the
// conversation; in either region.
func TestRecreateLiveSessionNeedsItsToken(t *testing.T) {
	e := newPlainEnv(t)
	a := newPlainRegion(t, plainOpts{env: e})
	b := newPlainRegion(t, plainOpts{name: "eu-west-1", env: e})
	expect(t, do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u","session_id":"s","session_token":"tok-0123456789abcdef"}`), 201, "")
	expect(t, do(t, "POST", a.url+"/v1/sessions/s/messages", `{"message_id":"m1","content":"secret plans"}`, owner...), 200, "")
	for _, reg := range []*plainRegion{a, b} {
		for _, body := range []string{
			`{"user_id":"u","session_id":"s","session_token":"someone-elses-token-0123"}`,
			`{"user_id":"u","session_id":"s"}`,
		} {
			r := do(t, "POST", reg.url+"/v1/sessions", body)
			expect(t, r, 409, "SESSION_EXISTS")
			if strings.Contains(r.raw, "secret") || strings.Contains(r.raw, "version") || strings.Contains(r.raw, sessTok) {
				t.Fatalf("the refusal tells about the session: %s", r.raw)
			}
			if msg, _ := r.body["error"].(string); !strings.HasPrefix(msg, "session_id:") {
				t.Fatalf("error %q does not name session_id", msg)
			}
		}
		r := do(t, "POST", reg.url+"/v1/sessions", `{"user_id":"u","session_id":"s","session_token":"tok-0123456789abcdef"}`)
		expect(t, r, 200, "")
		if r.body["session_token"] != sessTok || r.body["version"] != 2.0 {
			t.Fatalf("owner's re-create: %s", r.raw)
		}
	}
}

// session_token in a create body: optional; when present 16-256 characters of
// A-Z a-z 0-9 _ -, else 400 naming it. Absent: the server makes one (32 random
// bytes, base64url without padding), which opens the session. Only its hash is
// stored, and the admin listing shows neither.
func TestCreateSessionToken(t *testing.T) {
	a := newPlainRegion(t, plainOpts{env: newPlainEnv(t)})
	for _, tok := range []string{`"short-0123456"`, `"` + strings.Repeat("a", 257) + `"`, `"with space 0123456789"`, `"dots.are.not.ok.0123"`, `""`, `7`, `null`} {
		r := do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u","session_id":"s","session_token":`+tok+`}`)
		if tok == `null` { // JSON null is an absent token
			expect(t, r, 201, "")
			continue
		}
		expect(t, r, 400, "BAD_REQUEST")
		if msg, _ := r.body["error"].(string); !strings.Contains(msg, "session_token") {
			t.Errorf("token %s: error %q does not name session_token", tok, msg)
		}
	}
	for i, tok := range []string{strings.Repeat("a", 16), strings.Repeat("Z9_-", 64)} {
		id := []string{"min", "max"}[i]
		r := do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u","session_id":"`+id+`","session_token":"`+tok+`"}`)
		expect(t, r, 201, "")
		expect(t, do(t, "GET", a.url+"/v1/sessions/"+id, "", SessionTokenHeader, tok), 200, "")
	}

	var gen []string
	for range 2 {
		r := do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u"}`)
		expect(t, r, 201, "")
		tok, _ := r.body["session_token"].(string)
		if raw, err := base64.RawURLEncoding.DecodeString(tok); err != nil || len(raw) != 32 || len(tok) != 43 {
			t.Fatalf("generated token %q: want 32 bytes base64url without padding (%v)", tok, err)
		}
		id, _ := r.body["session_id"].(string)
		expect(t, do(t, "GET", a.url+"/v1/sessions/"+id, "", SessionTokenHeader, tok), 200, "")
		expect(t, do(t, "GET", a.url+"/v1/sessions/"+id, ""), 404, "SESSION_NOT_FOUND")
		got, err := a.dyn.Get(context.Background(), id)
		if err != nil || got.Owner != store.OwnerHash(tok) {
			t.Fatalf("stored session %+v, %v; want owner = the token's hash", got, err)
		}
		gen = append(gen, tok, got.Owner)
	}
	if gen[0] == gen[2] {
		t.Fatal("two sessions got the same generated token")
	}
	list := do(t, "GET", a.url+"/regions/sessions", "", "Authorization", "Bearer "+adminToken)
	expect(t, list, 200, "")
	for _, s := range append(gen, sessTok, store.OwnerHash(strings.Repeat("a", 16))) {
		if strings.Contains(list.raw, s) {
			t.Fatalf("the admin listing shows a token or its hash: %s", list.raw)
		}
	}
}

// An expired session answers 410 only to its owner, 404 (as an unknown id) to
// anyone else; re-creating it (re-authentication) works with any token, which
// then owns it and the former one no longer opens it.
func TestExpiredSessionOwnerAndRecreate(t *testing.T) {
	e := newEnv(t)
	a := e.node(t, regionOpts{ttl: time.Minute})
	u := a.http.URL
	expect(t, do(t, "POST", u+"/v1/sessions", `{"user_id":"u1","session_id":"s1","session_token":"tok-0123456789abcdef"}`), 201, "")
	expect(t, do(t, "POST", u+"/v1/sessions/s1/messages", `{"message_id":"m1","content":"x"}`, owner...), 200, "")
	e.clk.Advance(time.Minute + time.Second)
	unknown := do(t, "GET", u+"/v1/sessions/nope", "")
	for _, hdr := range [][]string{nil, {SessionTokenHeader, "someone-elses-token-0123"}} {
		r := do(t, "GET", u+"/v1/sessions/s1", "", hdr...)
		if expect(t, r, 404, "SESSION_NOT_FOUND"); r.raw != unknown.raw {
			t.Fatalf("stranger's read of an expired session: %s, want an unknown id's %s", r.raw, unknown.raw)
		}
		expect(t, do(t, "POST", u+"/v1/sessions/s1/messages", `{"message_id":"m2","content":"x"}`, hdr...), 404, "SESSION_NOT_FOUND")
	}
	expect(t, do(t, "GET", u+"/v1/sessions/s1", "", owner...), 410, "SESSION_EXPIRED")
	expect(t, do(t, "POST", u+"/v1/sessions/s1/messages", `{"message_id":"m2","content":"x"}`, owner...), 410, "SESSION_EXPIRED")

	const tok2 = "a-new-login-token-0123456789"
	r := do(t, "POST", u+"/v1/sessions", `{"user_id":"u2","session_id":"s1","session_token":"`+tok2+`"}`)
	expect(t, r, 201, "")
	if r.body["session_token"] != tok2 {
		t.Fatalf("re-create answer: %s", r.raw)
	}
	expect(t, do(t, "GET", u+"/v1/sessions/s1", "", owner...), 404, "SESSION_NOT_FOUND")
	r = do(t, "GET", u+"/v1/sessions/s1", "", SessionTokenHeader, tok2)
	expect(t, r, 200, "")
	if msgs, _ := r.body["messages"].([]any); len(msgs) != 0 {
		t.Fatalf("the re-created session shows the expired conversation: %s", r.raw)
	}
	expect(t, do(t, "POST", u+"/v1/sessions", `{"user_id":"u1","session_id":"s1","session_token":"tok-0123456789abcdef"}`), 409, "SESSION_EXISTS")
}

// Items stored before sessions had owners stay usable without a token, in any
// region; a create of such a live id answers 200 and does not claim it.
func TestSessionWithoutOwnerStaysUsable(t *testing.T) {
	e := newPlainEnv(t)
	a := newPlainRegion(t, plainOpts{env: e})
	if _, err := a.dyn.Put(context.Background(), &store.Session{ID: "old", UserID: "u", Version: 1, LastActiveRegion: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	expect(t, do(t, "POST", a.url+"/v1/sessions/old/messages", `{"message_id":"m1","content":"hello"}`), 200, "")
	expect(t, do(t, "GET", a.url+"/v1/sessions/old", ""), 200, "")
	b := newPlainRegion(t, plainOpts{name: "eu-west-1", env: e})
	expect(t, do(t, "POST", b.url+"/v1/sessions", `{"user_id":"u","session_id":"old","session_token":"tok-0123456789abcdef"}`), 200, "")
	r := do(t, "GET", b.url+"/v1/sessions/old", "", SessionTokenHeader, "any-token-at-all-0123")
	expect(t, r, 200, "")
	if msgs, _ := r.body["messages"].([]any); len(msgs) != 2 {
		t.Fatalf("legacy session: %s", r.raw)
	}
	if got, err := a.dyn.Get(context.Background(), "old"); err != nil || got.Owner != "" {
		t.Fatalf("the legacy session was claimed: %+v, %v", got, err)
	}
}
