package lb

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/httpsafe"
)

// serveSafe serves l's Handler as global-lb does (httpsafe.Server with the
// http: limits) on 127.0.0.1 and returns the address.
func serveSafe(t testing.TB, l *LB, limits httpsafe.Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpsafe.Server(l.Handler(), limits, nil, nil, OperatorPath)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().String()
}

func (fx *fixture) totalHits() int {
	n := 0
	for _, r := range fx.regions {
		n += int(r.hits.Load())
	}
	return n
}

// rawDo sends one request line and headers as written (no client-side
// cleaning of the path) and reads the answer.
func (fx *fixture) rawDo(t *testing.T, method, target, body string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", fx.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: lb.test\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", method, target, len(body), body)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestMatchRoute(t *testing.T) {
	cases := map[string]struct {
		rt route
		id string
	}{
		"/":                          {routeRoot, ""},
		"/v1/sessions":               {routeCreate, ""},
		"/v1/sessions/s-1":           {routeSession, "s-1"},
		"/v1/sessions/s-1/messages":  {routeMessage, "s-1"},
		"/lb/health":                 {routeLBHealth, ""},
		"/lb/status":                 {routeLBStatus, ""},
		"/lb/metrics":                {routeLBMetrics, ""},
		"/v1/sessions/":              {routeNone, ""},
		"/v1/sessions/s-1/":          {routeNone, ""},
		"/v1/sessions//messages":     {routeNone, ""},
		"/v1/sessions/s/messages/x":  {routeNone, ""},
		"/v1/sessions/s/other":       {routeNone, ""},
		"/v1/sessions/..":            {routeNone, ""},
		"/v1/sessions/./messages":    {routeNone, ""},
		"/v1/sessions/../../regions": {routeNone, ""},
		"/v1/sessions/a/b":           {routeNone, ""}, // what a%2Fb decodes to
		"//v1/sessions":              {routeNone, ""},
		"/v1/sessions/x/../../../regions/failover": {routeNone, ""},
		"/V1/sessions":           {routeNone, ""},
		"/regions":               {routeNone, ""},
		"/regions/failover":      {routeNone, ""},
		"/cache/warmup":          {routeNone, ""},
		"/metrics":               {routeNone, ""},
		"/health":                {routeNone, ""},
		"/lb/status/":            {routeNone, ""},
		"*":                      {routeNone, ""},
		"":                       {routeNone, ""},
		"/v1/sessions\x00/x":     {routeNone, ""},
		"/v1/sessions/s\x00/msg": {routeNone, ""},
	}
	for path, want := range cases {
		rt, id := matchRoute(path)
		if rt != want.rt || id != want.id {
			t.Errorf("matchRoute(%q) = %v %q, want %v %q", path, rt, id, want.rt, want.id)
		}
	}
}

// The public entry serves only the agent API and the LB's own endpoints:
// admin, peer, metrics and region-health paths, unknown paths and listed
// paths with another method are answered by the LB and reach no region.
func TestPublicEntryAllowlist(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 50, "eu-west-1": 50}, nil)
	notFound := [][2]string{
		{"GET", "/regions"}, {"POST", "/regions/health-check"}, {"POST", "/regions/failover"},
		{"GET", "/regions/failover/dry-run"}, {"GET", "/regions/failover/history"}, {"GET", "/regions/sessions"},
		{"GET", "/regions/sessions/active"}, {"GET", "/regions/overwrites"},
		{"POST", "/cache/warmup"}, {"POST", "/cache/export"},
		{"GET", "/metrics"}, {"GET", "/health"}, {"GET", "/ping"}, {"POST", "/x"},
		{"GET", "/v1/sessions/"}, {"GET", "/v1/sessions/s/"}, {"POST", "/v1/sessions/s/messages/"},
		{"GET", "/v1/sessions/s/other"}, {"GET", "/v1/sessions/a%2Fb"}, {"GET", "/v1/sessions/.."},
		{"GET", "/v1/sessions/%2E%2E"}, {"GET", "/v1/sessions/../../regions"}, {"POST", "/v1/sessions/x/../../../regions/failover"},
		{"GET", "//v1/sessions/s"}, {"GET", "/lb/status/"}, {"GET", "*"},
		{"GET", "http://evil.test/regions"},
	}
	for _, c := range notFound {
		resp, body := fx.rawDo(t, c[0], c[1], `{"target":"eu-west-1"}`)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"code":"NOT_FOUND"`) {
			t.Errorf("%s %s: %d %s, want 404 NOT_FOUND", c[0], c[1], resp.StatusCode, body)
		}
	}
	badMethod := map[[2]string]string{
		{"GET", "/v1/sessions"}: "POST", {"DELETE", "/v1/sessions/s"}: "GET, HEAD", {"POST", "/v1/sessions/s"}: "GET, HEAD",
		{"GET", "/v1/sessions/s/messages"}: "POST", {"PUT", "/v1/sessions/s/messages"}: "POST",
		{"POST", "/lb/status"}: "GET, HEAD", {"DELETE", "/lb/health"}: "GET, HEAD", {"POST", "/"}: "GET, HEAD",
	}
	for c, allow := range badMethod {
		resp, body := fx.rawDo(t, c[0], c[1], `{"message_id":"m","content":"c"}`)
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(body, `"code":"METHOD_NOT_ALLOWED"`) || resp.Header.Get("Allow") != allow {
			t.Errorf("%s %s: %d Allow %q %s, want 405 METHOD_NOT_ALLOWED, Allow %q", c[0], c[1], resp.StatusCode, resp.Header.Get("Allow"), body, allow)
		}
	}
	if n := fx.totalHits(); n != 0 {
		for _, r := range fx.regions {
			r.mu.Lock()
			t.Logf("%s received %v", r.name, r.paths)
			r.mu.Unlock()
		}
		t.Fatalf("regions received %d requests from paths outside the allowlist", n)
	}
	// The listed routes still reach a region, with the path the LB matched.
	for _, c := range [][3]string{
		{"POST", "/v1/sessions", `{"user_id":"u"}`}, {"GET", "/v1/sessions/s-1", ""}, {"HEAD", "/v1/sessions/s-1", ""},
		{"POST", "/v1/sessions/s-1/messages", `{"message_id":"m","content":"c"}`}, {"GET", "/v1/sessions/%73-1?x=1", ""},
	} {
		if resp, body := fx.rawDo(t, c[0], c[1], c[2]); resp.StatusCode != 200 || resp.Header.Get("X-Served-By") == "" {
			t.Errorf("%s %s: %d %s, want it proxied", c[0], c[1], resp.StatusCode, body)
		}
	}
	var got []string
	for _, r := range fx.regions {
		r.mu.Lock()
		got = append(got, r.paths...)
		r.mu.Unlock()
	}
	for _, p := range got {
		method, path, _ := strings.Cut(p, " ")
		if rt, _ := matchRoute(path); !rt.proxied() || !rt.allows(method) {
			t.Errorf("a region received %q", p)
		}
	}
	if len(got) != 5 {
		t.Errorf("regions received %v, want the 5 listed requests", got)
	}
}

// A request to an unlisted path is refused before its body is read: a large
// body there is not buffered (404, not 413).
func TestUnlistedPathBodyNotRead(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 1}, nil)
	resp, body := fx.do(t, http.MethodPost, "/regions/failover", strings.Repeat("x", DefaultMaxBodyBytes+1), nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "NOT_FOUND") {
		t.Fatalf("%d %s, want 404 NOT_FOUND before reading the body", resp.StatusCode, body)
	}
	if n := fx.totalHits(); n != 0 {
		t.Fatalf("%d requests reached a region", n)
	}
}

// Client-chosen address headers never reach a region: X-Forwarded-For is
// the peer's address only; X-Real-IP, Forwarded and the like are dropped.
func TestClientAddressHeadersReplaced(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 1}, nil)
	spoof := map[string]string{
		"X-Real-IP": "6.6.6.6", "X-Forwarded-For": "6.6.6.6, 7.7.7.7", "Forwarded": "for=6.6.6.6;proto=https",
		"True-Client-IP": "6.6.6.6", "X-Client-IP": "6.6.6.6", "X-Cluster-Client-IP": "6.6.6.6", "CF-Connecting-IP": "6.6.6.6",
		"X-Forwarded-Proto": "https", "X-Client-Region": "eu-west-1",
	}
	for _, c := range [][3]string{{"GET", "/v1/sessions/s-1", ""}, {"POST", "/v1/sessions/s-1/messages", `{"message_id":"m","content":"c"}`}} {
		if resp, _ := fx.do(t, c[0], c[1], c[2], spoof); resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d", c[0], c[1], resp.StatusCode)
		}
	}
	r := fx.regions["us-east-1"]
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, h := range r.headers {
		if got := h.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
			t.Errorf("request %d: X-Forwarded-For %q, want the peer's 127.0.0.1 only", i, got)
		}
		for _, name := range []string{"X-Real-IP", "Forwarded", "True-Client-IP", "X-Client-IP", "X-Cluster-Client-IP", "CF-Connecting-IP"} {
			if v := h.Values(name); len(v) > 0 {
				t.Errorf("request %d: %s %q reached the region", i, name, v)
			}
		}
		if h.Get("X-Forwarded-Proto") != "http" || h.Get("X-Client-Region") != "eu-west-1" {
			t.Errorf("request %d: X-Forwarded-Proto %q (want the LB's http), X-Client-Region %q (an app header, kept)", i, h.Get("X-Forwarded-Proto"), h.Get("X-Client-Region"))
		}
	}
	if len(r.headers) != 2 {
		t.Fatalf("region saw %d requests, want 2", len(r.headers))
	}
}

// leaks reports internal detail in an answer to an anonymous caller.
func leaks(resp *http.Response, body string) string {
	var hdr strings.Builder
	_ = resp.Header.Write(&hdr)
	for _, s := range []string{body, hdr.String()} {
		for _, bad := range []string{"127.0.0.1", "dial", "connection refused", "http://"} {
			if strings.Contains(strings.ToLower(s), bad) {
				return bad
			}
		}
	}
	return ""
}

// publicProbes are requests an anonymous caller can send: every answer is
// checked for internal detail.
var publicProbes = []struct{ method, path, body, accept string }{
	{"GET", "/v1/sessions/s-1", "", ""},
	{"GET", "/v1/sessions/s-1", "", "text/html"},
	{"HEAD", "/v1/sessions/s-1", "", ""},
	{"POST", "/v1/sessions", `{"user_id":"u"}`, ""},
	{"POST", "/v1/sessions", `{"user_id":"u"}`, "text/html"},
	{"POST", "/v1/sessions/s-1/messages", `{"message_id":"m","content":"c"}`, ""},
	{"POST", "/v1/sessions/s-1/messages", `{"content":"c"}`, ""},
	{"GET", "/", "", "text/html"},
	{"GET", "/", "", ""},
	{"GET", "/regions", "", ""},
	{"GET", "/health", "", ""},
	{"PUT", "/v1/sessions/s-1", "", ""},
	{"GET", "/lb/health", "", ""},
}

// With regions down, no answer of the public entry names an internal
// address or a dial error: first while they are still in rotation (the
// proxy error), then once health checks took them out (the 503 body and
// page, which keep region names and statuses).
func TestNoInternalDetailToAnonymousCallers(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 50, "eu-west-1": 50}, func(c *Config) { c.Outlier.Enabled = false })
	for _, r := range fx.regions {
		r.srv.Close() // connection refused
	}
	probe := func(stage string, wantCodes ...int) {
		t.Helper()
		for _, p := range publicProbes {
			hdr := map[string]string{}
			if p.accept != "" {
				hdr["Accept"] = p.accept
			}
			resp, body := fx.do(t, p.method, p.path, p.body, hdr)
			if bad := leaks(resp, body); bad != "" {
				t.Errorf("%s: %s %s (Accept %q): answer contains %q: %d %s", stage, p.method, p.path, p.accept, bad, resp.StatusCode, body)
			}
			if rt, _ := matchRoute(p.path); rt.proxied() && rt.allows(p.method) && !containsInt(wantCodes, resp.StatusCode) {
				t.Errorf("%s: %s %s: %d, want one of %v", stage, p.method, p.path, resp.StatusCode, wantCodes)
			}
		}
	}
	probe("in rotation, unreachable", http.StatusBadGateway)
	fx.checkRounds(2) // failure_threshold 2: both go down
	probe("out of rotation", http.StatusServiceUnavailable)

	// The 503 body keeps names and statuses.
	resp, body := fx.do(t, http.MethodGet, "/v1/sessions/s-1", "", nil)
	var v struct {
		Code    string
		Regions []map[string]any
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || resp.StatusCode != 503 || v.Code != "NO_HEALTHY_REGION" || len(v.Regions) != 2 {
		t.Fatalf("503 body %s (%v)", body, err)
	}
	for _, r := range v.Regions {
		if r["name"] == "" || r["status"] != StatusDown || len(r) != 3 {
			t.Errorf("503 region %v, want name, status down and in_rotation only", r)
		}
	}
	resp, body = fx.do(t, http.MethodGet, "/", "", map[string]string{"Accept": "text/html"})
	if resp.StatusCode != 503 || !strings.Contains(body, "us-east-1") || !strings.Contains(body, StatusDown) {
		t.Fatalf("status page: %d %s", resp.StatusCode, body)
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// GET / is the LB's status page when nothing is in rotation, and 404 (no
// region reached) when something is.
func TestRootIsStatusPageOnly(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 1}, nil)
	resp, body := fx.do(t, http.MethodGet, "/", "", map[string]string{"Accept": "text/html"})
	if resp.StatusCode != http.StatusNotFound || fx.totalHits() != 0 {
		t.Fatalf("GET / with a region in rotation: %d %s, %d hits", resp.StatusCode, body, fx.totalHits())
	}
	fx.regions["us-east-1"].healthCode.Store(503)
	fx.checkRounds(2)
	resp, body = fx.do(t, http.MethodGet, "/", "", map[string]string{"Accept": "text/html"})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(strings.ToLower(body), "<html") {
		t.Fatalf("GET / with none in rotation: %d %s", resp.StatusCode, body)
	}
}

// A client that stops sending its body mid-way gets 408 once the server's
// read deadline passes (http.read_timeout), not a 400 that blames it for
// a malformed body.
func TestBodyReadTimeout408(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 1}, nil)
	limits := httpsafe.Defaults()
	limits.ReadHeaderTimeout, limits.ReadTimeout = 200*time.Millisecond, 200*time.Millisecond
	conn, err := net.Dial("tcp", serveSafe(t, fx.lb, limits))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /v1/sessions HTTP/1.1\r\nHost: lb.test\r\nContent-Length: 100\r\n\r\n{\"user_id\":")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { <-ctx.Done(); _ = conn.SetReadDeadline(time.Now()) }() // test guard only
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "REQUEST_TIMEOUT") {
		t.Fatalf("stalled body: %d %s, want 408 REQUEST_TIMEOUT", resp.StatusCode, b)
	}
	if fx.totalHits() != 0 {
		t.Fatal("a stalled request reached a region")
	}
}

func TestOperatorPath(t *testing.T) {
	for path, want := range map[string]bool{"/lb/health": true, "/lb/status": true, "/lb/metrics": true, "/v1/sessions": false, "/lb/statusx": false, "/": false} {
		if got := OperatorPath(httptest.NewRequest("GET", path, nil)); got != want {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
}
