package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/agentops/failover-harness/runtime/agent"
	"github.com/agentops/failover-harness/runtime/store"
)

// fuzzStore is an in-memory version-wins store.Store with the real store's
// bound, item-size guard and owner rules (a live session keeps its owner; an
// expired one names it), so a fuzz iteration costs no network.
type fuzzStore struct {
	mu    sync.Mutex
	items map[string]*store.Session
	ttl   time.Duration
}

func (m *fuzzStore) Get(_ context.Context, id string) (*store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.items[id]
	if !ok {
		return nil, fmt.Errorf("%s: %w", id, store.ErrNotFound)
	}
	if !time.Now().Before(s.ExpiresAt) {
		return nil, &store.ExpiredError{SessionID: id, ExpiredAt: s.ExpiresAt, Owner: s.Owner}
	}
	return copySession(s), nil
}

func (m *fuzzStore) Put(_ context.Context, s *store.Session) (store.PutResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.items[s.ID]; ok && (old.Version >= s.Version || old.Owner != s.Owner) && time.Now().Before(old.ExpiresAt) {
		return store.PutResult{}, &store.ConflictError{SessionID: s.ID, Current: old.Version, Attempted: s.Version, OtherOwner: old.Owner != s.Owner}
	}
	if err := store.CheckItemSize(s); err != nil {
		return store.PutResult{}, err
	}
	c := copySession(s)
	c.Seen = store.RecordMessages(c.Seen, c.Messages)
	c.ExpiresAt = time.Now().Add(m.ttl)
	s.ExpiresAt = c.ExpiresAt
	m.items[s.ID] = c
	return store.PutResult{Version: s.Version, ExpiresAt: c.ExpiresAt}, nil
}

func (m *fuzzStore) Ping(context.Context) error { return nil }

func copySession(s *store.Session) *store.Session {
	c := *s
	c.Messages = append([]store.Message(nil), s.Messages...)
	c.Seen = append([]store.SeenID(nil), s.Seen...)
	return &c
}

var errorCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// fuzzServer is one region over fuzzStore holding session s1, owned by
// sessTok, with one exchange (m1), so message and read paths reach a live
// session. A small message limit makes MESSAGE_TOO_LARGE reachable by short
// inputs. The model counts its calls from here on.
func fuzzServer(t *testing.T, policy agent.Policy) (*Server, *agent.Service, *countingModel) {
	st := &fuzzStore{items: map[string]*store.Session{}, ttl: time.Hour}
	m := &countingModel{}
	svc, err := agent.New(agent.Config{Region: "us-east-1", Store: st, Model: m, Policy: policy, Interval: time.Hour, MaxMessages: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := svc.CreateSession(ctx, "u", "s1", sessTok); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PostMessage(ctx, "s1", sessTok, "m1", "hello"); err != nil {
		t.Fatal(err)
	}
	m.calls.Store(0)
	srv, err := New(Config{Region: "us-east-1", Agent: svc, Store: st, AdminToken: adminToken, MaxMessageBytes: 64, Logger: errorLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return srv, svc, m
}

// sessionPath matches the agent-API paths that name a session (decoded, as the
// mux routes them).
var sessionPath = regexp.MustCompile(`^/v1/sessions/([^/]+)(/messages)?$`)

// FuzzAgentAPI sends arbitrary requests (method, path, body, with or without
// the admin token, with any X-Session-Token) through the real handler.
// Whatever the input: no panic, no 500 (every failure here is the client's),
// X-Served-By on every answer, every error a JSON {"error","code"} body, no
// accepted agent-API body with text that is not valid UTF-8 or a session id
// that is a path segment, and session s1 answers only its token: without it no
// 2xx on its paths and no model call, and no 200 re-create.
func FuzzAgentAPI(f *testing.F) {
	type seed struct {
		method, path, body string
		auth               bool
		token              string // X-Session-Token, sent when not empty
	}
	const other = "someone-elses-token-0123"
	for _, s := range []seed{
		{"POST", "/v1/sessions", `{"user_id":"u","session_id":"s2"}`, false, ""},
		{"POST", "/v1/sessions", `{"user_id":"u","session_id":"s2","session_token":"` + other + `"}`, false, ""},
		{"POST", "/v1/sessions", `{"user_id":"u","session_id":"s1","session_token":"` + sessTok + `"}`, false, ""},
		{"POST", "/v1/sessions", `{"user_id":"u","session_id":"s1","session_token":"` + other + `"}`, false, ""},
		{"POST", "/v1/sessions", `{"user_id":"u","session_id":"s1"}`, false, sessTok},
		{"POST", "/v1/sessions", `{"user_id":"u","session_id":"s2","session_token":"short"}`, false, ""},
		{"POST", "/v1/sessions", `{"user_id":"u","session_id":"s2","session_token":"with space 0123456789"}`, false, ""},
		{"POST", "/v1/sessions", `{"user_id":"u","session_id":"s2","session_token":""}`, false, ""},
		{"POST", "/v1/sessions", `{"user_id":"u","session_id":"s2","session_token":7}`, false, ""},
		{"POST", "/v1/sessions", `{"user_id":"u"}`, false, ""},
		{"POST", "/v1/sessions", `{"user_id":"u","session_id":".."}`, false, ""},
		{"POST", "/v1/sessions", `{"user_id":"\ud800","session_id":"x"}`, false, ""},
		{"POST", "/v1/sessions", "{\"user_id\":\"\xff\"}", false, ""},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"m2","content":"create issue broken login"}`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"m1","content":"hello"}`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"m3","content":"` + strings.Repeat("a", 65) + `"}`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"m3","content":"a \udc00 b"}`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"m3","content":"\ud83d\ude00"}`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"m3","content":"\uFFFD spelled"}`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"m3","content":"x","extra":1}`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"a:b","content":"x"}`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"m3","content":"x"} {}`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"m2","content":"create issue broken login"}`, false, ""},
		{"POST", "/v1/sessions/s1/messages", `{"message_id":"m1","content":"hello"}`, false, other},
		{"POST", "/v1/sessions/%731/messages", `{"message_id":"m1","content":"hello"}`, true, ""},
		{"POST", "/v1/sessions/nope/messages", `{"message_id":"m3","content":"x"}`, false, sessTok},
		{"POST", "/v1/sessions/%2e%2e/messages", `{"message_id":"m3","content":"x"}`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", ``, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `[]`, false, sessTok},
		{"POST", "/v1/sessions/s1/messages", `nul`, false, sessTok},
		{"GET", "/v1/sessions/s1", ``, false, sessTok},
		{"GET", "/v1/sessions/s1", ``, false, ""},
		{"GET", "/v1/sessions/s1", ``, false, sessTok + "x"},
		{"GET", "/v1/sessions/s1", ``, true, other},
		{"GET", "/v1/sessions/..", ``, false, sessTok},
		{"GET", "/v1/sessions/%ff", ``, false, sessTok},
		{"GET", "//v1/sessions/s1", ``, false, sessTok},
		{"DELETE", "/v1/sessions/s1", ``, false, sessTok},
		{"PUT", "/v1/sessions", `{}`, false, ""},
		{"GET", "/health", ``, false, ""},
		{"GET", "/metrics", ``, false, ""},
		{"GET", "/no/such/path", ``, false, ""},
		{"POST", "/cache/warmup", `{"from":"x","entries":[]}`, false, ""},
		{"GET", "/regions/sessions", ``, true, ""},
		{"GET", "/regions/sessions", ``, false, ""},
		{"GET", "/regions/sessions/active?since=1m", ``, true, ""},
		{"GET", "/regions/sessions/active?since=-1m", ``, true, ""},
		{"GET", "/regions/overwrites", ``, true, ""},
		{"GET", "/regions", ``, true, ""},
		{"POST", "/regions/failover", `{"target":"eu-west-1"}`, true, ""},
		{"POST", "/regions/health-check", ``, true, ""},
		{"GET", "/regions/failover/history", ``, true, ""},
	} {
		f.Add(s.method, s.path, []byte(s.body), s.auth, s.token, uint8(0))
	}
	f.Add("POST", "/v1/sessions/s1/messages", []byte(`{"message_id":"m4","content":"create issue x"}`), false, sessTok, uint8(1))
	f.Add("POST", "/v1/sessions/s1/messages", []byte(`{"message_id":"m4","content":"hi"}`), false, sessTok, uint8(2))
	f.Add("POST", "/v1/sessions/s1/messages", []byte(`{"message_id":"m1","content":"hello"}`), false, "", uint8(1))
	f.Add("GET", "/v1/sessions/s1", []byte(``), false, other, uint8(2))
	policies := []agent.Policy{agent.OnAck, agent.Periodic, agent.OnMutation}

	f.Fuzz(func(t *testing.T, method, path string, body []byte, auth bool, token string, policy uint8) {
		if strings.ContainsAny(token, "\r\n") {
			return // it would add header lines (or end the head) the checks below do not see
		}
		// Parsed as the real server parses a request line: what it would
		// refuse never reaches the handler.
		head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n", method, path, len(body))
		if auth {
			head += "Authorization: Bearer " + adminToken + "\r\n"
		}
		if token != "" {
			head += SessionTokenHeader + ": " + token + "\r\n"
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head + "\r\n" + string(body))))
		if err != nil {
			return
		}
		srv, svc, m := fuzzServer(t, policies[int(policy)%len(policies)])
		defer svc.Close(context.Background())
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		ownerRules(t, req, rec, m)

		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %q %q: %d %s", method, path, body, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("X-Served-By") != "us-east-1" {
			t.Fatalf("%s %q: X-Served-By missing on %d", method, path, rec.Code)
		}
		if rec.Code < 300 && req.Method == http.MethodPost && strings.HasPrefix(req.URL.Path, "/v1/sessions") {
			acceptedBody(t, body, rec)
		}
		if rec.Code < 400 {
			return
		}
		var e struct{ Error, Code string }
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %q: %d with Content-Type %q: %s", method, path, rec.Code, ct, rec.Body.String())
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || !errorCode.MatchString(e.Code) {
			t.Fatalf("%s %q: %d body is not a JSON error (%v): %s", method, path, rec.Code, err, rec.Body.String())
		}
		if rec.Code == http.StatusServiceUnavailable && e.Code != "NOT_CONFIGURED" {
			t.Fatalf("%s %q: 503 %s for client input: %s", method, path, e.Code, rec.Body.String())
		}
	})
}

// ownerRules holds what session s1 (owned by sessTok) must hold against a
// request that does not present sessTok: no 2xx on its paths, no model call,
// and no 200 re-create of it. The admin token does not open a session.
func ownerRules(t *testing.T, req *http.Request, rec *httptest.ResponseRecorder, m *countingModel) {
	t.Helper()
	if req.Header.Get(SessionTokenHeader) == sessTok {
		return
	}
	if sm := sessionPath.FindStringSubmatch(req.URL.Path); sm != nil && sm[1] == "s1" {
		if rec.Code < 300 {
			t.Fatalf("%s %q without s1's token: %d %s", req.Method, req.URL.Path, rec.Code, rec.Body.String())
		}
		if n := m.calls.Load(); n != 0 {
			t.Fatalf("%s %q without s1's token called the model %d time(s)", req.Method, req.URL.Path, n)
		}
	}
	var created struct {
		SessionID    string `json:"session_id"`
		SessionToken string `json:"session_token"`
	}
	if req.URL.Path == "/v1/sessions" && rec.Code == http.StatusOK &&
		json.Unmarshal(rec.Body.Bytes(), &created) == nil && created.SessionID == "s1" && created.SessionToken != sessTok {
		t.Fatalf("s1 re-created (200) with token %q: %s", created.SessionToken, rec.Body.String())
	}
}

// acceptedBody holds what an accepted agent-API body must satisfy, judged
// independently of the server's own checks: its text is valid UTF-8 (no
// invalid bytes; no U+FFFD that the body did not spell itself, which is what
// a replaced unpaired surrogate leaves), and a created session's id is not a
// path segment.
func acceptedBody(t *testing.T, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	if !utf8.Valid(body) {
		t.Fatalf("accepted a body with invalid UTF-8: %q → %d %s", body, rec.Code, rec.Body.String())
	}
	var fields map[string]any
	if json.Unmarshal(body, &fields) == nil {
		// U+FFFD the client wrote itself: literally, or as the escape \ufffd.
		spelled := bytes.ContainsRune(body, utf8.RuneError) || bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`))
		for k, v := range fields {
			if str, ok := v.(string); ok && strings.ContainsRune(str, utf8.RuneError) && !spelled {
				t.Fatalf("accepted %s with an unpaired surrogate (decoded as U+FFFD): %q → %d", k, body, rec.Code)
			}
		}
	}
	var created struct {
		SessionID string `json:"session_id"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &created) == nil && (created.SessionID == "." || created.SessionID == "..") {
		t.Fatalf("session id %q accepted: %s", created.SessionID, rec.Body.String())
	}
}
