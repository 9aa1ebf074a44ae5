// Package server is the region runtime's HTTP surface: the agent API, the
// health endpoint, the admin API (bearer token), the peer cache endpoints
// and /metrics. Every response carries X-Served-By; errors are JSON.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/agentops/failover-harness/runtime/agent"
	"github.com/agentops/failover-harness/runtime/alert"
	"github.com/agentops/failover-harness/runtime/cache"
	"github.com/agentops/failover-harness/runtime/failover"
	"github.com/agentops/failover-harness/runtime/metrics"
	"github.com/agentops/failover-harness/runtime/region"
	"github.com/agentops/failover-harness/runtime/store"
)

// MaxBody is the request body limit (ARCHITECTURE: > 1 MiB → 413).
const MaxBody = 1 << 20

// DefaultMaxMessageBytes is the default limit of a message's content
// (config session.max_message_bytes): the conversation is kept in one
// DynamoDB item of at most 400 KB, so one message must stay a small part of it.
const DefaultMaxMessageBytes = 32 << 10

// Config wires a Server. Optional parts may be nil; their endpoints then
// answer 503 NOT_CONFIGURED.
type Config struct {
	Region     string
	Agent      *agent.Service // required
	Store      store.Store    // required: /health pings it
	StoreStats func() store.StoreStats
	Cache      *cache.Cache
	Replicator *cache.Replicator
	Router     *region.Router
	Failover   *failover.Manager
	Alert      *alert.Sender
	AdminToken string // required
	Metrics    *metrics.Registry

	// MaxMessageBytes bounds a message's content (413 MESSAGE_TOO_LARGE);
	// default DefaultMaxMessageBytes.
	MaxMessageBytes int

	// HealthTimeout bounds each dependency ping of /health; default 1s.
	HealthTimeout time.Duration
	// CachePingTTL is how long a Redis ping result is reused; default 1s.
	CachePingTTL time.Duration
	// ActiveWindow is the default ?since= of /regions/sessions/active; default 5m.
	ActiveWindow time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

// Server serves one region.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	token   [32]byte

	messages *metrics.Counter
	requests *metrics.Counter
	latency  *metrics.Histogram

	pingMu   sync.Mutex
	pingAt   time.Time
	pingErr  error
	pingDone bool
}

// New validates cfg and builds the handler.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Region == "":
		return nil, errors.New("server: region: required")
	case cfg.Agent == nil:
		return nil, errors.New("server: agent: required")
	case cfg.Store == nil:
		return nil, errors.New("server: store: required")
	case cfg.AdminToken == "":
		return nil, errors.New("server: admin_token: required")
	case cfg.MaxMessageBytes < 0:
		return nil, fmt.Errorf("server: session.max_message_bytes: %d must be > 0", cfg.MaxMessageBytes)
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = time.Second
	}
	if cfg.CachePingTTL <= 0 {
		cfg.CachePingTTL = time.Second
	}
	if cfg.ActiveWindow <= 0 {
		cfg.ActiveWindow = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewRegistry("region", cfg.Region)
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("region", cfg.Region), mux: http.NewServeMux()}
	// Hash so the constant-time compare also hides the token's length.
	s.token = sha256.Sum256([]byte(cfg.AdminToken))
	s.registerMetrics()
	s.routes()
	s.handler = s.recoverer(s.servedBy(s.instrument(s.mux)))
	return s, nil
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("POST /v1/sessions", s.createSession)
	m.HandleFunc("POST /v1/sessions/{id}/messages", s.postMessage)
	m.HandleFunc("GET /v1/sessions/{id}", s.getSession)
	m.HandleFunc("GET /health", s.health)
	m.Handle("GET /metrics", s.cfg.Metrics.Handler())
	if s.cfg.Replicator != nil {
		m.Handle("POST /cache/warmup", s.limitBody(s.cfg.Replicator.WarmupHandler()))
		m.Handle("POST /cache/export", s.limitBody(s.cfg.Replicator.ExportHandler()))
	} else {
		m.HandleFunc("POST /cache/warmup", s.notConfigured("replicator"))
		m.HandleFunc("POST /cache/export", s.notConfigured("replicator"))
	}
	m.Handle("GET /regions", s.admin(s.regions))
	m.Handle("POST /regions/health-check", s.admin(s.healthCheck))
	m.Handle("POST /regions/failover", s.admin(s.failover))
	m.Handle("GET /regions/failover/dry-run", s.admin(s.dryRun))
	m.Handle("GET /regions/failover/history", s.admin(s.history))
	m.Handle("GET /regions/sessions", s.admin(s.sessions))
	m.Handle("GET /regions/sessions/active", s.admin(s.activeSessions))
	m.Handle("GET /regions/overwrites", s.admin(s.overwrites))
}

// ---- middleware ----

func (s *Server) servedBy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", s.cfg.Region)
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a handler panic into a 500 JSON answer instead of a
// dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			if !sw.wrote {
				sw.Header().Set("X-Served-By", s.cfg.Region)
				writeError(sw, http.StatusInternalServerError, "INTERNAL", "internal error")
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument routes through the mux (JSON 404/405 instead of the mux's
// plain text) and records latency and status per route pattern.
func (s *Server) instrument(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, pattern := mux.Handler(r)
		sw := &statusWriter{ResponseWriter: w}
		if pattern == "" {
			pattern = "unmatched"
			if allow := s.allowed(r); allow != "" {
				sw.Header().Set("Allow", allow)
				writeError(sw, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method "+r.Method+" not allowed")
			} else {
				writeError(sw, http.StatusNotFound, "NOT_FOUND", "no such endpoint: "+r.URL.Path)
			}
		} else {
			mux.ServeHTTP(sw, r)
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		s.requests.Inc(pattern, fmt.Sprint(code))
		s.latency.Observe(time.Since(start).Seconds(), pattern)
	})
}

// allowed lists the methods that do match r's path.
func (s *Server) allowed(r *http.Request) string {
	var ok []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			ok = append(ok, m)
		}
	}
	return strings.Join(ok, ", ")
}

func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			writeError(w, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", fmt.Sprintf("body exceeds %d bytes", MaxBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		next.ServeHTTP(w, r)
	})
}

// authorized checks an Authorization header: the scheme "Bearer" in any case
// (auth schemes are case-insensitive, RFC 7235 §2.1), then the token, compared
// in constant time over hashes so neither its bytes nor its length leak.
func (s *Server) authorized(header string) bool {
	scheme, token, _ := strings.Cut(header, " ")
	got := sha256.Sum256([]byte(strings.TrimLeft(token, " ")))
	tokenOK := subtle.ConstantTimeCompare(got[:], s.token[:]) == 1
	return strings.EqualFold(scheme, "Bearer") && tokenOK
}

func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="agent-runtime"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "admin endpoints need Authorization: Bearer <admin_token>")
			return
		}
		h(w, r)
	})
}

func (s *Server) notConfigured(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusServiceUnavailable, "NOT_CONFIGURED", what+" is not configured in this region")
	}
}

// ---- JSON helpers ----

type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, errCode, msg string) {
	writeJSON(w, code, apiError{Error: msg, Code: errCode})
}

// errBodyTooLarge and errBadRequest classify decode failures.
var errBodyTooLarge = errors.New("body too large")

// decodeJSON reads exactly one JSON object with no unknown fields from r,
// limited to MaxBody.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.ContentLength > MaxBody {
		return errBodyTooLarge
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	return decodeReader(body, dst)
}

// decodeReader reads the whole body (callers bound it) and decodes it; then
// it refuses strings that are not valid UTF-8, which encoding/json would
// silently replace by U+FFFD (storing text the client never sent).
func decodeReader(body io.Reader, dst any) error {
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errBodyTooLarge
		}
		return fmt.Errorf("reading body: %w", err)
	}
	if len(data) > MaxBody {
		return errBodyTooLarge
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty body: a JSON object is required")
		}
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("malformed JSON: trailing data after the object")
	}
	return checkUTF8Fields(data)
}

// checkUTF8Fields names the first field (in key order) of the JSON object
// data whose string value is not valid UTF-8: raw invalid bytes, or a
// \u escape of an unpaired UTF-16 surrogate. Request bodies are flat
// objects; data has already decoded, so anything else is not judged here.
func checkUTF8Fields(data []byte) error {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if raw := bytes.TrimSpace(fields[k]); len(raw) > 0 && raw[0] == '"' && !validJSONString(raw) {
			return fmt.Errorf("%s: not valid UTF-8", k)
		}
	}
	return nil
}

// validJSONString reports whether the JSON string literal raw decodes to
// exactly the text it spells: valid UTF-8 and every surrogate escape paired.
func validJSONString(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		r, ok := hex4(raw[i+1:])
		if !ok {
			return false
		}
		i += 4
		switch {
		case r >= 0xD800 && r < 0xDC00: // high surrogate: a low one must follow
			if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo, ok := hex4(raw[i+3:]); ok && lo >= 0xDC00 && lo < 0xE000 {
					i += 6
					continue
				}
			}
			return false
		case r >= 0xDC00 && r < 0xE000: // a low surrogate alone
			return false
		}
	}
	return true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (s *Server) decodeOrReply(w http.ResponseWriter, r *http.Request, dst any) bool {
	err := decodeJSON(w, r, dst)
	if err == nil {
		return true
	}
	if errors.Is(err, errBodyTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", fmt.Sprintf("body exceeds %d bytes", MaxBody))
	} else {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
	}
	return false
}

// ---- agent API ----

// idPattern keeps client ids printable and free of ':' (reserved for reply ids).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// checkSessionID validates a session id, from a body or a path. "." and ".."
// match idPattern but are path segments: a proxy, log or client that
// resolves URLs would send /v1/sessions/../messages somewhere else.
func checkSessionID(id string) error {
	if !idPattern.MatchString(id) {
		return errors.New("session_id: must be 1-128 characters of A-Z a-z 0-9 . _ -")
	}
	if id == "." || id == ".." {
		return fmt.Errorf("session_id: %q is a path segment, not an id", id)
	}
	return nil
}

// SessionTokenHeader carries the session token on GET /v1/sessions/{id} and
// POST /v1/sessions/{id}/messages.
const SessionTokenHeader = "X-Session-Token"

// tokenPattern is what a client-chosen session token must be: long enough not to
// be guessed, short and plain enough for a header.
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,256}$`)

// newSessionToken is the token of a session created without one: 32 random bytes,
// base64url without padding.
func newSessionToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// CreateSessionRequest is the body of POST /v1/sessions.
type CreateSessionRequest struct {
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id,omitempty"`
	// SessionToken is optional; a pointer so that a present but empty one is
	// refused rather than taken for absent.
	SessionToken *string `json:"session_token,omitempty"`
}

// Validate names the bad field.
func (q CreateSessionRequest) Validate() error {
	if q.UserID == "" {
		return errors.New("user_id: required")
	}
	if len(q.UserID) > 256 {
		return errors.New("user_id: longer than 256 bytes")
	}
	if q.SessionID != "" {
		if err := checkSessionID(q.SessionID); err != nil {
			return err
		}
	}
	if q.SessionToken != nil && !tokenPattern.MatchString(*q.SessionToken) {
		return errors.New("session_token: must be 16-256 characters of A-Z a-z 0-9 _ -")
	}
	return nil
}

// PostMessageRequest is the body of POST /v1/sessions/{id}/messages.
type PostMessageRequest struct {
	MessageID string `json:"message_id"`
	Content   string `json:"content"`
}

// Validate names the bad field.
func (q PostMessageRequest) Validate() error {
	if !idPattern.MatchString(q.MessageID) {
		return errors.New("message_id: required, 1-128 characters of A-Z a-z 0-9 . _ -")
	}
	if strings.TrimSpace(q.Content) == "" {
		return errors.New("content: required")
	}
	return nil
}

// FailoverRequest is the body of POST /regions/failover.
type FailoverRequest struct {
	Target string `json:"target"`
	Reason string `json:"reason,omitempty"`
}

// Validate names the bad field.
func (q FailoverRequest) Validate() error {
	if q.Target == "" {
		return errors.New("target: required")
	}
	return nil
}

// DecodeMessage decodes and validates a message request body (exported for
// the fuzz target and for clients that want the same rules).
func DecodeMessage(body io.Reader) (PostMessageRequest, error) {
	var q PostMessageRequest
	if err := decodeReader(io.LimitReader(body, MaxBody+1), &q); err != nil {
		return q, err
	}
	return q, q.Validate()
}

type sessionCreated struct {
	SessionID string `json:"session_id"`
	Version   int64  `json:"version"`
	Region    string `json:"region"`
	ExpiresAt string `json:"expires_at"`
	// SessionToken is the token the caller presented, or the one generated for it.
	SessionToken string `json:"session_token"`
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	var q CreateSessionRequest
	if !s.decodeOrReply(w, r, &q) {
		return
	}
	if err := q.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	token := newSessionToken()
	if q.SessionToken != nil {
		token = *q.SessionToken
	}
	sess, created, err := s.cfg.Agent.CreateSession(r.Context(), q.UserID, q.SessionID, token)
	if err != nil {
		s.agentError(w, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, sessionCreated{SessionID: sess.ID, Version: sess.Version, Region: s.cfg.Region, ExpiresAt: rfc3339(sess.ExpiresAt), SessionToken: token})
}

type toolCallJSON struct {
	Name string            `json:"name"`
	Args map[string]string `json:"args"`
}

type replyJSON struct {
	MessageID string         `json:"message_id"`
	Content   string         `json:"content"`
	ToolCalls []toolCallJSON `json:"tool_calls"`
}

type messageResponse struct {
	SessionID string `json:"session_id"`
	MessageID string `json:"message_id"`
	Version   int64  `json:"version"` // the session's
	// MessageVersion is the version the user message carries as stored.
	MessageVersion int64     `json:"message_version"`
	Region         string    `json:"region"`
	Reply          replyJSON `json:"reply"`
	Cache          string    `json:"cache"`
	Durable        bool      `json:"durable"`
	Duplicate      bool      `json:"duplicate"`
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := checkSessionID(id); err != nil {
		s.messages.Inc("bad_request")
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	var q PostMessageRequest
	if !s.decodeOrReply(w, r, &q) {
		s.messages.Inc("bad_request")
		return
	}
	if err := q.Validate(); err != nil {
		s.messages.Inc("bad_request")
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	if len(q.Content) > s.cfg.MaxMessageBytes {
		s.messages.Inc("too_large")
		writeError(w, http.StatusRequestEntityTooLarge, "MESSAGE_TOO_LARGE",
			fmt.Sprintf("content: %d bytes exceeds the %d-byte limit (session.max_message_bytes)", len(q.Content), s.cfg.MaxMessageBytes))
		return
	}
	// The agent checks the token before anything else looks at the session.
	res, err := s.cfg.Agent.PostMessage(r.Context(), id, r.Header.Get(SessionTokenHeader), q.MessageID, q.Content)
	if err != nil {
		s.messages.Inc(outcome(err))
		s.agentError(w, err)
		return
	}
	switch {
	case res.Duplicate:
		s.messages.Inc("duplicate")
	default:
		s.messages.Inc("ok")
	}
	cacheState := "miss"
	if res.CacheHit {
		cacheState = "hit"
	}
	tcs := make([]toolCallJSON, 0, len(res.Reply.ToolCalls))
	for _, tc := range res.Reply.ToolCalls {
		tcs = append(tcs, toolCallJSON{Name: tc.Name, Args: tc.Args})
	}
	writeJSON(w, http.StatusOK, messageResponse{
		SessionID: id, MessageID: q.MessageID, Version: res.Version, MessageVersion: res.MessageVersion, Region: s.cfg.Region,
		Reply: replyJSON{MessageID: res.Reply.ID, Content: res.Reply.Content, ToolCalls: tcs},
		Cache: cacheState, Durable: res.Durable, Duplicate: res.Duplicate,
	})
}

type messageJSON struct {
	ID        string `json:"id"`
	Role      string `json:"role"`
	Content   string `json:"content"`
	Timestamp string `json:"timestamp"`
	Region    string `json:"region"`
	Version   int64  `json:"version"`
}

type sessionJSON struct {
	SessionID        string        `json:"session_id"`
	Version          int64         `json:"version"`
	Messages         []messageJSON `json:"messages"`
	LastActiveRegion string        `json:"last_active_region"`
	LastActiveAt     string        `json:"last_active_at"`
	ExpiresAt        string        `json:"expires_at"`
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := checkSessionID(id); err != nil {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	sess, err := s.cfg.Agent.GetSession(r.Context(), id, r.Header.Get(SessionTokenHeader))
	if err != nil {
		s.agentError(w, err)
		return
	}
	out := sessionJSON{
		SessionID: sess.ID, Version: sess.Version, Messages: make([]messageJSON, 0, len(sess.Messages)),
		LastActiveRegion: sess.LastActiveRegion, LastActiveAt: rfc3339(sess.LastActiveAt), ExpiresAt: rfc3339(sess.ExpiresAt),
	}
	for _, m := range sess.Messages {
		out.Messages = append(out.Messages, messageJSON{ID: m.ID, Role: m.Role, Content: m.Content, Timestamp: m.Timestamp.UTC().Format(time.RFC3339Nano), Region: m.Region, Version: m.Version})
	}
	writeJSON(w, http.StatusOK, out)
}

func outcome(err error) string {
	switch {
	case errors.Is(err, store.ErrNotFound): // a stranger's request included: counted as an unknown id
		return "not_found"
	case errors.Is(err, store.ErrExpired):
		return "expired"
	case errors.Is(err, store.ErrConflict):
		return "conflict"
	case errors.Is(err, store.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, store.ErrTooLarge):
		return "too_large"
	}
	return "error"
}

// agentError maps agent/store errors to the documented status codes.
func (s *Server) agentError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Also a session the caller's token does not own: the same answer, so a
		// guesser cannot tell a taken id from a free one.
		writeError(w, http.StatusNotFound, "SESSION_NOT_FOUND", "session not found")
	case errors.Is(err, agent.ErrSessionExists):
		writeError(w, http.StatusConflict, "SESSION_EXISTS", "session_id: a live session with this id exists; re-create it with its session_token or choose another id")
	case errors.Is(err, store.ErrExpired):
		writeError(w, http.StatusGone, "SESSION_EXPIRED", "session expired: re-authenticate and create a new session")
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "VERSION_CONFLICT", err.Error())
	case errors.Is(err, store.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "SESSION_TOO_LARGE",
			fmt.Sprintf("the session would exceed the store's %d-byte item limit: message not acknowledged, nothing written", store.MaxItemBytes))
	case errors.Is(err, store.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, "STORE_UNAVAILABLE", "global store unreachable: message not acknowledged")
	case errors.Is(err, agent.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "SHUTTING_DOWN", "region is shutting down")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, "TIMEOUT", "request timed out")
	default:
		s.log.Error("request failed", "err", err)
		writeError(w, http.StatusInternalServerError, "INTERNAL", "internal error")
	}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	// Fractional seconds: a client checking an expiry against the TTL
	// needs more than whole seconds.
	return t.UTC().Format(time.RFC3339Nano)
}

// ---- health ----

type healthJSON struct {
	Region string            `json:"region"`
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	out := healthJSON{Region: s.cfg.Region, Status: "active", Checks: map[string]string{}}
	code := http.StatusOK
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HealthTimeout)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		// Without the global store this region cannot acknowledge anything.
		out.Checks["dynamodb"] = "error: " + err.Error()
		out.Status = "degraded"
		code = http.StatusServiceUnavailable
	} else {
		out.Checks["dynamodb"] = "ok"
	}
	if s.cfg.Cache == nil {
		out.Checks["redis"] = "disabled"
	} else if err := s.cachePing(r.Context()); err != nil {
		out.Checks["redis"] = "error: " + err.Error()
		out.Status = "degraded"
	} else {
		out.Checks["redis"] = "ok"
	}
	writeJSON(w, code, out)
}

// cachePing reuses a recent Redis ping result so frequent probes do not
// each pay a Redis round trip.
func (s *Server) cachePing(ctx context.Context) error {
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	now := s.cfg.Now()
	if s.pingDone && now.Sub(s.pingAt) < s.cfg.CachePingTTL {
		return s.pingErr
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.HealthTimeout)
	defer cancel()
	s.pingErr = s.cfg.Cache.Ping(ctx)
	s.pingAt, s.pingDone = now, true
	return s.pingErr
}

// ---- admin ----

func (s *Server) regions(w http.ResponseWriter, _ *http.Request) {
	if s.cfg.Router == nil {
		s.notConfigured("router")(w, nil)
		return
	}
	// now is read last: every time in the body was recorded before it, so
	// a reader dates them by age on this region's clock (now - t) and never
	// compares this clock with its own.
	out := map[string]any{"self": s.cfg.Region, "regions": s.cfg.Router.Regions()}
	ts, total := s.cfg.Router.Transitions()
	out["transitions"], out["transitions_total"] = ts, total
	if s.cfg.Failover != nil {
		out["current"] = s.cfg.Failover.Current()
		out["health"] = s.cfg.Failover.Rounds()
	}
	out["now"] = s.cfg.Router.Now()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) healthCheck(w http.ResponseWriter, r *http.Request) {
	var statuses map[string]region.Status
	var ev *failover.Event
	switch {
	case s.cfg.Failover != nil:
		statuses, ev = s.cfg.Failover.Tick(r.Context())
	case s.cfg.Router != nil:
		statuses = s.cfg.Router.CheckAll(r.Context())
	default:
		s.notConfigured("router")(w, r)
		return
	}
	out := map[string]any{"statuses": statuses, "regions": s.cfg.Router.Regions()}
	if ev != nil {
		out["failover"] = ev
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) failover(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Failover == nil {
		s.notConfigured("failover manager")(w, r)
		return
	}
	var q FailoverRequest
	if !s.decodeOrReply(w, r, &q) {
		return
	}
	if err := q.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	ev, err := s.cfg.Failover.Failover(r.Context(), q.Target, q.Reason)
	if err != nil {
		writeError(w, http.StatusConflict, "FAILOVER_REJECTED", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

func (s *Server) dryRun(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Failover == nil {
		s.notConfigured("failover manager")(w, r)
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Failover.DryRun())
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Failover == nil {
		s.notConfigured("failover manager")(w, r)
		return
	}
	h, total := s.cfg.Failover.Recorded()
	if h == nil {
		h = []failover.Event{}
	}
	// total counts every failover: more than len(history) once the oldest were dropped.
	writeJSON(w, http.StatusOK, map[string]any{"current": s.cfg.Failover.Current(), "history": h, "total": total})
}

func (s *Server) sessions(w http.ResponseWriter, _ *http.Request) {
	list := s.cfg.Agent.Sessions()
	writeJSON(w, http.StatusOK, map[string]any{"region": s.cfg.Region, "count": len(list), "sessions": list})
}

func (s *Server) activeSessions(w http.ResponseWriter, r *http.Request) {
	since := s.cfg.ActiveWindow
	if v := r.URL.Query().Get("since"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "since: must be a positive Go duration such as 5m")
			return
		}
		since = d
	}
	list := s.cfg.Agent.ActiveSessions(since)
	if list == nil {
		list = []agent.SessionInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"region": s.cfg.Region, "since": since.String(), "count": len(list), "sessions": list})
}

// overwrites lists the kept reports of writes that removed messages another
// region had stored, so a checker can match lost messages by id.
func (s *Server) overwrites(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"overwrites": s.cfg.Agent.Overwrites()})
}
