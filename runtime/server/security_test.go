package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/agent"
	"github.com/agentops/failover-harness/runtime/failover"
	"github.com/agentops/failover-harness/runtime/model"
	"github.com/agentops/failover-harness/runtime/region"
	"github.com/agentops/failover-harness/runtime/store"
	"github.com/agentops/failover-harness/runtime/store/dynamotest"
)

// countingModel is the fake LLM, counting its calls: a duplicate must not
// reach the model (its tool calls would run again).
type countingModel struct {
	model.FakeLLM
	calls atomic.Int64
}

func (c *countingModel) Complete(ctx context.Context, h []store.Message, prompt string) (model.Reply, error) {
	c.calls.Add(1)
	return c.FakeLLM.Complete(ctx, h, prompt)
}

// plainRegion is one region over the real store (embedded DynamoDB endpoint)
// without Redis: what the agent-API checks need and nothing more.
type plainRegion struct {
	url   string
	svc   *agent.Service
	model *countingModel
	dyn   *store.Dynamo
}

type plainOpts struct {
	name            string
	env             *plainEnv // shared by the regions of one test
	policy          agent.Policy
	maxMessageBytes int
}

func newPlainRegion(t testing.TB, o plainOpts) *plainRegion {
	t.Helper()
	if o.name == "" {
		o.name = "us-east-1"
	}
	if o.policy == "" {
		o.policy = agent.OnAck
	}
	ctx := context.Background()
	// Two SDK attempts, as the runtime uses: with one, the SDK's known
	// "use of closed network connection" on a 200 answer (aws-sdk-go-v2#2737,
	// retried by the SDK since #2949) fails a request now and then.
	dyn, err := store.NewDynamo(ctx, store.DynamoConfig{Endpoint: o.env.endpoint, Table: o.env.table, TTL: time.Hour, MaxMessages: 50, OpTimeout: 2 * time.Second, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := dyn.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	m := &countingModel{}
	svc, err := agent.New(agent.Config{Region: o.name, Store: dyn, Model: m, Policy: o.policy, Interval: time.Hour, TTL: time.Hour, MaxMessages: 50})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Region: o.name, Agent: svc, Store: dyn, StoreStats: dyn.Stats, AdminToken: adminToken, MaxMessageBytes: o.maxMessageBytes, Logger: errorLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = svc.Close(context.Background())
	})
	return &plainRegion{url: hs.URL, svc: svc, model: m, dyn: dyn}
}

// plainEnv is the global store of one test: one endpoint, one table.
type plainEnv struct{ endpoint, table string }

func newPlainEnv(t testing.TB) *plainEnv {
	return &plainEnv{endpoint: dynamotest.Endpoint(t), table: fmt.Sprintf("sec_%d", tableSeq.Add(1))}
}

// The audit's case over HTTP: 60 exchanges with max_messages 50 trimmed the
// first message, and its retry ran create_issue again with duplicate:false.
// Now: duplicate:true at the version it was stored at, the model not called,
// nothing stored; and the same from another region after a failover.
func TestIdempotencyOutlivesTrimmingOverHTTP(t *testing.T) {
	e := newPlainEnv(t)
	a := newPlainRegion(t, plainOpts{env: e})
	expect(t, do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u","session_id":"s","session_token":"tok-0123456789abcdef"}`), 201, "")
	r := do(t, "POST", a.url+"/v1/sessions/s/messages", `{"message_id":"m00","content":"create issue broken login"}`, owner...)
	expect(t, r, 200, "")
	firstVersion := r.body["message_version"]
	for i := 1; i < 60; i++ {
		if r := do(t, "POST", a.url+"/v1/sessions/s/messages", fmt.Sprintf(`{"message_id":"m%02d","content":"hello %d"}`, i, i), owner...); r.code != 200 {
			t.Fatalf("message %d: %d %s", i, r.code, r.raw)
		}
	}
	before := do(t, "GET", a.url+"/v1/sessions/s", "", owner...)
	if strings.Contains(before.raw, `"id":"m00"`) {
		t.Fatal("m00 still in the conversation: the test does not exercise the trimmed case")
	}
	calls := a.model.calls.Load()

	r = do(t, "POST", a.url+"/v1/sessions/s/messages", `{"message_id":"m00","content":"create issue broken login"}`, owner...)
	expect(t, r, 200, "")
	reply, _ := r.body["reply"].(map[string]any)
	if r.body["duplicate"] != true || r.body["message_version"] != firstVersion || reply["message_id"] != "m00:reply" || reply["content"] != "" {
		t.Fatalf("retry of a trimmed message: %s; want duplicate:true at message_version %v", r.raw, firstVersion)
	}
	if n := a.model.calls.Load(); n != calls {
		t.Fatalf("model called %d more time(s): create_issue ran again", n-calls)
	}
	if after := do(t, "GET", a.url+"/v1/sessions/s", "", owner...); after.raw != before.raw {
		t.Fatalf("a duplicate changed the session:\nbefore %s\nafter  %s", before.raw, after.raw)
	}

	b := newPlainRegion(t, plainOpts{name: "eu-west-1", env: e})
	r = do(t, "POST", b.url+"/v1/sessions/s/messages", `{"message_id":"m00","content":"create issue broken login"}`, owner...)
	expect(t, r, 200, "")
	if r.body["duplicate"] != true || r.body["message_version"] != firstVersion || b.model.calls.Load() != 0 {
		t.Fatalf("retry after failover: %s (model calls %d)", r.raw, b.model.calls.Load())
	}
}

// Content over session.max_message_bytes is answered 413 MESSAGE_TOO_LARGE
// naming the limit, before the model or the store see it.
func TestMessageTooLarge(t *testing.T) {
	e := newPlainEnv(t)
	a := newPlainRegion(t, plainOpts{env: e, maxMessageBytes: 1024})
	expect(t, do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u","session_id":"s","session_token":"tok-0123456789abcdef"}`), 201, "")
	r := do(t, "POST", a.url+"/v1/sessions/s/messages", `{"message_id":"m1","content":"`+strings.Repeat("a", 1025)+`"}`, owner...)
	expect(t, r, 413, "MESSAGE_TOO_LARGE")
	if msg, _ := r.body["error"].(string); !strings.Contains(msg, "content") || !strings.Contains(msg, "1024") {
		t.Fatalf("error does not name the field and the limit: %s", r.raw)
	}
	expect(t, do(t, "POST", a.url+"/v1/sessions/s/messages", `{"message_id":"m2","content":"`+strings.Repeat("a", 1024)+`"}`, owner...), 200, "")
	if a.model.calls.Load() != 1 {
		t.Fatalf("model calls = %d, want 1 (the refused message never reached it)", a.model.calls.Load())
	}

	// The default limit: 32 KiB. The audit's 900 KB message is refused.
	d := newPlainRegion(t, plainOpts{name: "eu-west-1", env: e})
	expect(t, do(t, "POST", d.url+"/v1/sessions/s/messages", `{"message_id":"m3","content":"`+strings.Repeat("a", DefaultMaxMessageBytes)+`"}`, owner...), 200, "")
	r = do(t, "POST", d.url+"/v1/sessions/s/messages", `{"message_id":"m4","content":"`+strings.Repeat("a", 900_000)+`"}`, owner...)
	expect(t, r, 413, "MESSAGE_TOO_LARGE")
	if !strings.Contains(r.raw, fmt.Sprint(DefaultMaxMessageBytes)) {
		t.Fatalf("error does not name the limit: %s", r.raw)
	}
	if _, err := New(Config{Region: "r", Agent: d.svc, Store: nopStore{}, AdminToken: "t", MaxMessageBytes: -1}); err == nil ||
		!strings.Contains(err.Error(), "session.max_message_bytes") {
		t.Fatalf("negative limit: %v", err)
	}
}

// A message that would make the session item exceed the store's bound is
// answered 413 SESSION_TOO_LARGE: the model not run, nothing written,
// nothing acknowledged, and the id is free for a smaller retry. Under every
// policy.
func TestSessionTooLarge(t *testing.T) {
	for _, p := range []agent.Policy{agent.OnAck, agent.Periodic, agent.OnMutation} {
		t.Run(string(p), func(t *testing.T) {
			a := newPlainRegion(t, plainOpts{env: newPlainEnv(t), policy: p, maxMessageBytes: 200 << 10})
			expect(t, do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u","session_id":"s","session_token":"tok-0123456789abcdef"}`), 201, "")
			expect(t, do(t, "POST", a.url+"/v1/sessions/s/messages", `{"message_id":"m1","content":"`+strings.Repeat("a", 200<<10)+`"}`, owner...), 200, "")
			before, calls := do(t, "GET", a.url+"/v1/sessions/s", "", owner...), a.model.calls.Load()
			r := do(t, "POST", a.url+"/v1/sessions/s/messages", `{"message_id":"m2","content":"`+strings.Repeat("b", 200<<10)+`"}`, owner...)
			expect(t, r, 413, "SESSION_TOO_LARGE")
			if a.model.calls.Load() != calls {
				t.Fatal("the model ran (tool calls and all) for a message that was never acknowledged")
			}
			if !strings.Contains(r.raw, fmt.Sprint(store.MaxItemBytes)) {
				t.Fatalf("error does not name the limit: %s", r.raw)
			}
			if after := do(t, "GET", a.url+"/v1/sessions/s", "", owner...); after.raw != before.raw {
				t.Fatalf("a refused message changed the session")
			}
			if _, err := a.svc.FlushAll(context.Background()); err != nil {
				t.Fatalf("nothing refused may be left to write: %v", err)
			}
			r = do(t, "POST", a.url+"/v1/sessions/s/messages", `{"message_id":"m2","content":"small"}`, owner...)
			expect(t, r, 200, "")
			if r.body["duplicate"] != false {
				t.Fatalf("the refused message was acknowledged after all: %s", r.raw)
			}
		})
	}
}

// encoding/json replaces invalid UTF-8 (raw bytes, unpaired surrogate
// escapes) by U+FFFD without a word: the stored text would not be what the
// client sent. Such a field is refused 400, by name; valid text (a paired
// surrogate escape, a literal U+FFFD) still passes.
func TestInvalidUTF8Refused(t *testing.T) {
	a := newPlainRegion(t, plainOpts{env: newPlainEnv(t)})
	expect(t, do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u","session_id":"s","session_token":"tok-0123456789abcdef"}`), 201, "")
	bad := []struct{ path, body, field string }{
		{"/v1/sessions/s/messages", "{\"message_id\":\"m1\",\"content\":\"caf\xe9\"}", "content"},
		{"/v1/sessions/s/messages", `{"message_id":"m1","content":"half \ud800 a pair"}`, "content"},
		{"/v1/sessions/s/messages", `{"message_id":"m1","content":"low \udc00 alone"}`, "content"},
		{"/v1/sessions/s/messages", `{"message_id":"m1","content":"reversed \udc00\ud800"}`, "content"},
		{"/v1/sessions/s/messages", "{\"message_id\":\"m\xff\",\"content\":\"x\"}", "message_id"},
		{"/v1/sessions", "{\"user_id\":\"u\xc0\xaf\",\"session_id\":\"s2\"}", "user_id"},
		{"/v1/sessions", `{"user_id":"\ud83d","session_id":"s2"}`, "user_id"},
	}
	for _, c := range bad {
		r := do(t, "POST", a.url+c.path, c.body)
		expect(t, r, 400, "BAD_REQUEST")
		if msg, _ := r.body["error"].(string); !strings.HasPrefix(msg, c.field+":") {
			t.Errorf("%q: error %q does not name %s", c.body, msg, c.field)
		}
	}
	if a.model.calls.Load() != 0 {
		t.Fatal("an invalid message reached the model")
	}
	r := do(t, "POST", a.url+"/v1/sessions/s/messages", `{"message_id":"m1","content":"smile \ud83d\ude00 and \ufffd and \\ud800 as text"}`, owner...)
	expect(t, r, 200, "")
	got := do(t, "GET", a.url+"/v1/sessions/s", "", owner...)
	if !strings.Contains(got.raw, "smile 😀 and \ufffd and \\\\ud800 as text") {
		t.Fatalf("valid text altered: %s", got.raw)
	}
}

// "." and ".." match the id pattern but are path segments: refused as
// session ids when creating, and on the path of every session endpoint.
func TestDotSessionIDsRefused(t *testing.T) {
	a := newPlainRegion(t, plainOpts{env: newPlainEnv(t)})
	for _, id := range []string{".", ".."} {
		r := do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u","session_id":"`+id+`","session_token":"tok-0123456789abcdef"}`)
		expect(t, r, 400, "BAD_REQUEST")
		if msg, _ := r.body["error"].(string); !strings.HasPrefix(msg, "session_id:") {
			t.Fatalf("error %q does not name session_id", msg)
		}
	}
	expect(t, do(t, "POST", a.url+"/v1/sessions", `{"user_id":"u","session_id":"..a","session_token":"tok-0123456789abcdef"}`), 201, "")
	// The mux cleans such paths before routing; the handlers refuse them
	// all the same, in case a route ever reaches them unclean.
	srv, err := New(Config{Region: "r", Agent: a.svc, Store: nopStore{}, AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{".", ".."} {
		for _, h := range []struct {
			method string
			fn     http.HandlerFunc
			body   string
		}{{"GET", srv.getSession, ""}, {"POST", srv.postMessage, `{"message_id":"m","content":"x"}`}} {
			req := httptest.NewRequest(h.method, "/v1/sessions/x", strings.NewReader(h.body))
			req.SetPathValue("id", id)
			rec := httptest.NewRecorder()
			h.fn(rec, req)
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"error":"session_id:`) {
				t.Fatalf("%s with path id %q: %d %s", h.method, id, rec.Code, rec.Body.String())
			}
		}
	}
}

// nopStore answers nothing; for handlers that must refuse before any call.
type nopStore struct{}

func (nopStore) Get(context.Context, string) (*store.Session, error) {
	return nil, store.ErrUnavailable
}
func (nopStore) Put(context.Context, *store.Session) (store.PutResult, error) {
	return store.PutResult{}, store.ErrUnavailable
}
func (nopStore) Ping(context.Context) error { return nil }

// The auth scheme is case-insensitive (RFC 7235 §2.1); the token is not.
func TestAdminBearerSchemeAnyCase(t *testing.T) {
	a := newPlainRegion(t, plainOpts{env: newPlainEnv(t)})
	for _, h := range []string{"Bearer " + adminToken, "bearer " + adminToken, "BEARER " + adminToken, "bEaReR  " + adminToken} {
		expect(t, do(t, "GET", a.url+"/regions/sessions", "", "Authorization", h), 200, "")
	}
	for _, h := range []string{"", "bearer", "bearer ", adminToken, "Basic " + adminToken, "Bearer" + adminToken, "bearer " + strings.ToUpper(adminToken),
		"Bearer wrong", "Bearer " + adminToken + "x", "Bearers " + adminToken} {
		expect(t, do(t, "GET", a.url+"/regions/sessions", "", "Authorization", h), 401, "UNAUTHORIZED")
	}
}

// The failover history is bounded; its answer says how many failovers there
// were in all, so a reader never takes the kept window for the whole history.
func TestFailoverHistorySaysTotal(t *testing.T) {
	router, err := region.NewRouter(region.Config{Regions: []region.Region{
		{Name: "us-east-1", Endpoint: "http://127.0.0.1:1", Weight: 1},
		{Name: "eu-west-1", Endpoint: "http://127.0.0.1:1", Weight: 1, Priority: 1},
	}, Self: "us-east-1", Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	fm, err := failover.New(failover.Config{Router: router, Self: "us-east-1", Interval: time.Hour, MaxHistory: 2})
	if err != nil {
		t.Fatal(err)
	}
	a := newPlainRegion(t, plainOpts{env: newPlainEnv(t)})
	srv, err := New(Config{Region: "us-east-1", Agent: a.svc, Store: nopStore{}, AdminToken: adminToken, Failover: fm, Router: router})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"eu-west-1", "us-east-1", "eu-west-1"} {
		if _, err := fm.Failover(context.Background(), target, "test"); err != nil {
			t.Fatal(err)
		}
	}
	req := httptest.NewRequest("GET", "/regions/failover/history", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	var body struct {
		History []failover.Event `json:"history"`
		Total   int              `json:"total"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 || len(body.History) != 2 || body.Total != 3 || body.History[0].ID != 2 {
		t.Fatalf("history: %d %s (%v)", rec.Code, rec.Body.String(), err)
	}
}
