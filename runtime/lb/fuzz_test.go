package lb

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// agentAPI is the fuzz oracle for what may reach a region, written apart
// from matchRoute: the agent API's three routes with their methods.
var agentAPI = regexp.MustCompile(`^(POST /v1/sessions|(GET|HEAD) /v1/sessions/[^/]+|POST /v1/sessions/[^/]+/messages)$`)

func reachable(method, path string) bool {
	if !agentAPI.MatchString(method + " " + path) {
		return false
	}
	seg := strings.Split(path, "/")
	return len(seg) < 4 || (seg[3] != "." && seg[3] != "..")
}

// fuzzRegion is a stub region that records what reached it. It answers
// 503 or 502 when the body asks (to drive retries and ejection), else 200.
type fuzzRegion struct {
	srv   *httptest.Server
	hits  atomic.Int64
	mu    sync.Mutex
	wrong []string // requests the oracle says must not have arrived
}

func newFuzzRegion(f *testing.F, name string) *fuzzRegion {
	r := &fuzzRegion{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/health" {
			return
		}
		r.hits.Add(1)
		if !reachable(req.Method, req.URL.Path) {
			r.mu.Lock()
			r.wrong = append(r.wrong, req.Method+" "+req.URL.EscapedPath())
			r.mu.Unlock()
		}
		b, _ := io.ReadAll(req.Body)
		w.Header().Set("X-Served-By", name)
		switch {
		case bytes.Contains(b, []byte("fail")):
			w.WriteHeader(http.StatusServiceUnavailable)
		case bytes.Contains(b, []byte("gateway")):
			w.WriteHeader(http.StatusBadGateway)
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	f.Cleanup(r.srv.Close)
	return r
}

// FuzzLBHandler sends arbitrary requests (method, target, header lines,
// body), parsed as the server parses them, through the LB's Handler in
// front of stub regions. It never panics, never answers a 5xx but 502, 503
// or 504, and a request outside the allowlist never reaches a region.
func FuzzLBHandler(f *testing.F) {
	seeds := []struct {
		method, target, headers, body string
	}{
		{"GET", "/v1/sessions/s-1", "Accept: application/json", ""},
		{"HEAD", "/v1/sessions/s-1", "", ""},
		{"POST", "/v1/sessions", "Content-Type: application/json", `{"user_id":"u","session_id":"s-1"}`},
		{"POST", "/v1/sessions", "Idempotency-Key: k1", `{"user_id":"u","session_id":"fail"}`},
		{"POST", "/v1/sessions/s-1/messages", "Idempotency-Key: m1", `{"message_id":"m1","content":"fail"}`},
		{"POST", "/v1/sessions/s-1/messages", "", `{"message_id":"m2","content":"gateway"}`},
		{"POST", "/v1/sessions/s-1/messages", "", `{"content":"fail"}`},
		{"POST", "/v1/sessions/s-1/messages", "Transfer-Encoding: chunked", "5\r\nhello\r\n0\r\n\r\n"},
		{"POST", "/v1/sessions/s-1/messages", "Content-Length: 99", "short"},
		{"GET", "/regions", "Authorization: Bearer secret", ""},
		{"POST", "/regions/failover", "Authorization: Bearer secret", `{"target":"eu-west-1"}`},
		{"POST", "/cache/warmup", "X-Warmup-Signature: sha256=00", `{"from":"x","entries":[]}`},
		{"POST", "/cache/export", "", `{"from":"x"}`},
		{"GET", "/metrics", "", ""},
		{"GET", "/health", "", ""},
		{"GET", "/lb/status", "", ""},
		{"POST", "/lb/status", "", ""},
		{"GET", "/lb/health", "", ""},
		{"GET", "/", "Accept: text/html", ""},
		{"GET", "/v1/sessions/../regions", "", ""},
		{"GET", "/v1/sessions/%2e%2e", "", ""},
		{"GET", "/v1/sessions/a%2Fb/messages", "", ""},
		{"POST", "/v1/sessions/x/messages/../../../regions/failover", "", `{"target":"x"}`},
		{"GET", "http://evil.test/v1/sessions/s-1", "", ""},
		{"GET", "//v1/sessions/s-1", "", ""},
		{"CONNECT", "evil.test:443", "", ""},
		{"DELETE", "/v1/sessions/s-1", "", ""},
		{"GET", "/v1/sessions/s-1", "X-Real-IP: 6.6.6.6\nX-Forwarded-For: 6.6.6.6\nForwarded: for=6.6.6.6", ""},
		{"GET", "/v1/sessions/s-1", "Connection: X-Served-By, close\nUpgrade: websocket", ""},
		{"POST", "/v1/sessions", "Expect: 100-continue", `{"user_id":"u"}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.headers, []byte(s.body))
	}

	a, b := newFuzzRegion(f, "us-east-1"), newFuzzRegion(f, "eu-west-1")
	cfg := Default()
	cfg.Regions = []RegionConfig{{Name: "us-east-1", URL: a.srv.URL, Weight: 50}, {Name: "eu-west-1", URL: b.srv.URL, Weight: 50}}
	cfg.Outlier.Ejection = time.Millisecond // ejected regions come back at once: keep exercising the proxy
	cfg.MaxBodyBytes = 4 << 10
	l, err := New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { l.Wait(); l.Close() })
	h := l.Handler()

	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte) {
		var raw strings.Builder
		fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: lb.test\r\n", method, target)
		framed := false
		for _, line := range strings.Split(headers, "\n") {
			line = strings.TrimRight(line, "\r")
			if line == "" {
				continue
			}
			lower := strings.ToLower(line)
			framed = framed || strings.HasPrefix(lower, "content-length:") || strings.HasPrefix(lower, "transfer-encoding:")
			raw.WriteString(line + "\r\n")
		}
		if !framed {
			raw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
		}
		raw.WriteString("\r\n")
		raw.Write(body)
		// Parsed as the server parses a request: what it would refuse
		// never reaches the handler.
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw.String())))
		if err != nil {
			return
		}
		req.RemoteAddr = "127.0.0.1:40000"

		before := a.hits.Load() + b.hits.Load()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		after := a.hits.Load() + b.hits.Load()

		if c := rec.Code; c >= 500 && c != http.StatusBadGateway && c != http.StatusServiceUnavailable && c != http.StatusGatewayTimeout {
			t.Fatalf("%s %s: answered %d %s", req.Method, target, c, rec.Body)
		}
		if !reachable(req.Method, req.URL.Path) && after != before {
			t.Fatalf("%s %s (path %q) reached a region", req.Method, target, req.URL.Path)
		}
		for _, r := range []*fuzzRegion{a, b} {
			r.mu.Lock()
			wrong := r.wrong
			r.wrong = nil // reported once, with the input that sent it
			r.mu.Unlock()
			if len(wrong) > 0 {
				t.Fatalf("%s %s: a region received %v", req.Method, target, wrong)
			}
		}
	})
}
