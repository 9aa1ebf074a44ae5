package lb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/alert"
)

// fakeRegion is an httptest region whose health and traffic answers the
// test controls.
type fakeRegion struct {
	name       string
	srv        *httptest.Server
	healthCode atomic.Int32
	reqCode    atomic.Int32 // answer for non-health requests
	hang       atomic.Bool  // block non-health requests until the client leaves
	hits       atomic.Int32 // non-health requests received
	mu         sync.Mutex
	bodies     []string
	headers    []http.Header // of every non-health request, in order
	paths      []string      // method and escaped path of every non-health request
}

func newFakeRegion(t testing.TB, name string) *fakeRegion {
	f := &fakeRegion{name: name}
	f.healthCode.Store(200)
	f.reqCode.Store(200)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", name)
		if r.URL.Path == "/health" {
			w.WriteHeader(int(f.healthCode.Load()))
			_, _ = io.WriteString(w, `{"status":"active"}`)
			return
		}
		f.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(b))
		f.headers = append(f.headers, r.Header.Clone())
		f.paths = append(f.paths, r.Method+" "+r.URL.EscapedPath())
		f.mu.Unlock()
		if f.hang.Load() {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(int(f.reqCode.Load()))
		_, _ = fmt.Fprintf(w, `{"region":%q}`, name)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

type fixture struct {
	lb      *LB
	srv     *httptest.Server
	regions map[string]*fakeRegion
}

func newFixture(t testing.TB, weights map[string]int, mutate func(*Config)) *fixture {
	t.Helper()
	cfg := Default()
	fx := &fixture{regions: map[string]*fakeRegion{}}
	for _, name := range []string{"us-east-1", "eu-west-1", "ap-southeast-1"} {
		w, ok := weights[name]
		if !ok {
			continue
		}
		fr := newFakeRegion(t, name)
		fx.regions[name] = fr
		cfg.Regions = append(cfg.Regions, RegionConfig{Name: name, URL: fr.srv.URL, Weight: w})
	}
	cfg.Health.FailureThreshold = 2
	cfg.Health.SuccessThreshold = 2
	cfg.Retry.PerTryTimeout = 2 * time.Second
	cfg.Seed = 7
	if mutate != nil {
		mutate(&cfg)
	}
	l, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	fx.lb = l
	fx.srv = httptest.NewServer(l.Handler())
	t.Cleanup(func() { fx.srv.Close(); l.Wait(); l.Close() })
	return fx
}

var seedWeights = map[string]int{"us-east-1": 50, "eu-west-1": 30, "ap-southeast-1": 20}

func (fx *fixture) do(t testing.TB, method, path string, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, fx.srv.URL+path, rd)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := fx.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (fx *fixture) servedBy(t testing.TB, path string) string {
	t.Helper()
	resp, _ := fx.do(t, http.MethodGet, path, "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return resp.Header.Get("X-Served-By")
}

// createServedBy sends POST /v1/sessions without a session id, which is
// routed at random by weight, and returns the region that answered.
func (fx *fixture) createServedBy(t testing.TB) string {
	t.Helper()
	resp, _ := fx.do(t, http.MethodPost, "/v1/sessions", `{"user_id":"u"}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("POST /v1/sessions: %d", resp.StatusCode)
	}
	return resp.Header.Get("X-Served-By")
}

// checkRounds runs n health-check rounds.
func (fx *fixture) checkRounds(n int) {
	for i := 0; i < n; i++ {
		fx.lb.CheckNow(context.Background())
	}
}

func (fx *fixture) regionStatus(name string) RegionStatus {
	for _, r := range fx.lb.Status().Regions {
		if r.Name == name {
			return r
		}
	}
	return RegionStatus{}
}

// chi2 over the seed weights; 13.8 is the p=0.001 critical value for 2 dof.
func chi2(counts map[string]int, n int) float64 {
	c := 0.0
	for name, w := range seedWeights {
		exp := float64(n) * float64(w) / 100
		d := float64(counts[name]) - exp
		c += d * d / exp
	}
	return c
}

func TestSplitFollowsWeights(t *testing.T) {
	fx := newFixture(t, seedWeights, nil)
	// The routing decision over many draws, then real requests through the proxy.
	const n = 6000
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		counts[fx.lb.order("")[0].name]++
	}
	if c := chi2(counts, n); c > 13.8 {
		t.Fatalf("split %v does not follow 50/30/20 (chi2=%.1f)", counts, c)
	}
	const m = 600
	served := map[string]int{}
	for i := 0; i < m; i++ {
		served[fx.createServedBy(t)]++
	}
	if c := chi2(served, m); c > 13.8 {
		t.Fatalf("proxied split %v does not follow 50/30/20 (chi2=%.1f)", served, c)
	}
}

func TestStickySessionsAndOnlyFailedRegionMoves(t *testing.T) {
	fx := newFixture(t, seedWeights, nil)
	const n = 4000
	const viaHTTP = 300 // this many sessions are also checked through the proxy
	owner := map[string]string{}
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("s-%d", i)
		o := fx.lb.order(id)[0].name
		owner[id] = o
		counts[o]++
		if i >= viaHTTP {
			continue
		}
		if got := fx.servedBy(t, "/v1/sessions/"+id+"?x=1"); got != o {
			t.Fatalf("GET %s served by %s, owner is %s", id, got, o)
		}
		resp, _ := fx.do(t, http.MethodPost, "/v1/sessions/"+id+"/messages", `{"message_id":"m","content":"c"}`, nil)
		if got := resp.Header.Get("X-Served-By"); got != o {
			t.Fatalf("POST message to %s served by %s, owner is %s", id, got, o)
		}
	}
	if c := chi2(counts, n); c > 13.8 {
		t.Fatalf("sticky split %v does not follow 50/30/20 (chi2=%.1f)", counts, c)
	}
	// POST /v1/sessions with a client-chosen id lands where its later requests go.
	resp, _ := fx.do(t, http.MethodPost, "/v1/sessions", `{"user_id":"u","session_id":"s-7"}`, nil)
	if got := resp.Header.Get("X-Served-By"); got != owner["s-7"] {
		t.Fatalf("create went to %s, session requests go to %s", got, owner["s-7"])
	}

	fx.regions["eu-west-1"].healthCode.Store(503)
	fx.checkRounds(2)
	moved := 0
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("s-%d", i)
		was, now := owner[id], fx.lb.order(id)[0].name
		if i < viaHTTP {
			now = fx.servedBy(t, "/v1/sessions/"+id)
		}
		switch {
		case was == "eu-west-1" && now == "eu-west-1":
			t.Fatalf("session %s still served by the failed region", id)
		case was == "eu-west-1":
			moved++
		case now != was:
			t.Fatalf("session %s of healthy %s moved to %s", id, was, now)
		}
	}
	if moved != counts["eu-west-1"] || moved == 0 {
		t.Fatalf("moved %d sessions, want %d", moved, counts["eu-west-1"])
	}
}

func TestHealthThresholdDegradedDownRecovery(t *testing.T) {
	fx := newFixture(t, seedWeights, func(c *Config) { c.Health.FailureThreshold = 3 })
	us, eu := fx.regions["us-east-1"], fx.regions["eu-west-1"]
	us.healthCode.Store(503)
	eu.srv.Close() // connection refused
	fx.checkRounds(2)
	if s := fx.regionStatus("us-east-1"); s.Status != StatusActive || !s.InRotation || s.ConsecutiveFailures != 2 {
		t.Fatalf("below threshold: %+v", s)
	}
	fx.checkRounds(1)
	if s := fx.regionStatus("us-east-1"); s.Status != StatusDegraded || s.InRotation {
		t.Fatalf("non-2xx: %+v, want degraded", s)
	}
	if s := fx.regionStatus("eu-west-1"); s.Status != StatusDown {
		t.Fatalf("conn refused: %+v, want down", s)
	}
	for i := 0; i < 50; i++ {
		if got := fx.createServedBy(t); got != "ap-southeast-1" {
			t.Fatalf("request served by %s, out of rotation", got)
		}
	}
	us.healthCode.Store(200)
	fx.checkRounds(1)
	if s := fx.regionStatus("us-east-1"); s.Status != StatusDegraded {
		t.Fatalf("after 1 success: %+v", s)
	}
	fx.checkRounds(1)
	if s := fx.regionStatus("us-east-1"); s.Status != StatusActive || !s.InRotation {
		t.Fatalf("after 2 successes: %+v", s)
	}
	// /lb/status JSON: transitions with RFC3339Nano times.
	resp, body := fx.do(t, http.MethodGet, "/lb/status", "", nil)
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	var st struct {
		Regions     []map[string]any
		Transitions []struct{ Region, From, To, At string }
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range st.Transitions {
		if _, err := time.Parse(time.RFC3339Nano, tr.At); err != nil {
			t.Fatalf("at %q: %v", tr.At, err)
		}
		got = append(got, tr.Region+":"+tr.From+">"+tr.To)
	}
	want := "us-east-1:active>degraded,eu-west-1:active>down,us-east-1:degraded>active"
	if strings.Join(got, ",") != want {
		t.Fatalf("transitions %v, want %s", got, want)
	}
	for _, k := range []string{"name", "weight", "status", "ejected_until", "in_rotation"} {
		if _, ok := st.Regions[0][k]; !ok {
			t.Fatalf("/lb/status region lacks %q: %v", k, st.Regions[0])
		}
	}
	if resp, _ := fx.do(t, http.MethodGet, "/lb/health", "", nil); resp.StatusCode != 200 {
		t.Fatalf("/lb/health %d", resp.StatusCode)
	}
}

// sessionOwnedBy finds a session id whose rendezvous owner is want.
func sessionOwnedBy(t *testing.T, fx *fixture, want string) string {
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("k-%d", i)
		if o := fx.lb.order(id); len(o) > 0 && o[0].name == want {
			return id
		}
	}
	t.Fatalf("no session owned by %s", want)
	return ""
}

func TestOutlierEjectionAndReturn(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 50, "eu-west-1": 50}, func(c *Config) {
		c.Outlier.ConsecutiveFailures = 3
		c.Outlier.Ejection = 300 * time.Millisecond
	})
	us := fx.regions["us-east-1"]
	us.reqCode.Store(500) // health stays 200: only real traffic sees the failure
	id := sessionOwnedBy(t, fx, "us-east-1")
	for i := 0; i < 3; i++ { // a message without message_id is not retried: each failure reaches the client
		resp, _ := fx.do(t, http.MethodPost, "/v1/sessions/"+id+"/messages", `{"content":"c"}`, nil)
		if resp.StatusCode != 500 || resp.Header.Get("X-Served-By") != "us-east-1" {
			t.Fatalf("try %d: %d from %s", i, resp.StatusCode, resp.Header.Get("X-Served-By"))
		}
	}
	s := fx.regionStatus("us-east-1")
	if s.InRotation || s.EjectedUntil == nil || s.Status != StatusActive {
		t.Fatalf("after 3 failures: %+v, want ejected", s)
	}
	resp, _ := fx.do(t, http.MethodPost, "/v1/sessions/"+id+"/messages", `{"content":"c"}`, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Served-By") != "eu-west-1" {
		t.Fatalf("while ejected: %d from %s", resp.StatusCode, resp.Header.Get("X-Served-By"))
	}
	us.reqCode.Store(200)
	deadline := time.Now().Add(5 * time.Second)
	for !fx.regionStatus("us-east-1").InRotation {
		if time.Now().After(deadline) {
			t.Fatal("region not back in rotation after ejection ended")
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	if got := fx.servedBy(t, "/v1/sessions/"+id); got != "us-east-1" {
		t.Fatalf("session did not return to its owner: %s", got)
	}
	tr := fx.lb.Status().Transitions
	if len(tr) != 2 || tr[0].To != StatusEjected || tr[1].From != StatusEjected || tr[1].To != StatusActive {
		t.Fatalf("transitions %+v", tr)
	}
}

// Retry follows the API contract (lb.go retryable): a GET, and a message
// POST carrying a message_id (the runtime deduplicates by it), go to the
// next region after a 5xx; a message without message_id does not, and a
// client's Idempotency-Key header alone makes nothing retryable.
func TestRetryIdempotentOnly(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 50, "eu-west-1": 50}, func(c *Config) { c.Outlier.Enabled = false })
	us, eu := fx.regions["us-east-1"], fx.regions["eu-west-1"]
	us.reqCode.Store(503)
	id := sessionOwnedBy(t, fx, "us-east-1")

	resp, _ := fx.do(t, http.MethodGet, "/v1/sessions/"+id, "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Served-By") != "eu-west-1" {
		t.Fatalf("GET: %d from %s; want a retry on eu-west-1", resp.StatusCode, resp.Header.Get("X-Served-By"))
	}
	if us.hits.Load() != 1 || eu.hits.Load() != 1 {
		t.Fatalf("hits us=%d eu=%d", us.hits.Load(), eu.hits.Load())
	}

	// A message with message_id is retried, its body intact.
	body := `{"message_id":"m2","content":"hello"}`
	resp, _ = fx.do(t, http.MethodPost, "/v1/sessions/"+id+"/messages", body, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Served-By") != "eu-west-1" {
		t.Fatalf("POST message with message_id: %d from %s; want a retry on eu-west-1", resp.StatusCode, resp.Header.Get("X-Served-By"))
	}
	eu.mu.Lock()
	last := eu.bodies[len(eu.bodies)-1]
	eu.mu.Unlock()
	if last != body {
		t.Fatalf("retried body = %q, want %q", last, body)
	}

	// Not retried, with or without an Idempotency-Key: a message without
	// message_id (or with an empty one), and a session create.
	for _, c := range []struct{ path, body string }{
		{"/v1/sessions/" + id + "/messages", `{"content":"no id"}`},
		{"/v1/sessions/" + id + "/messages", `{"message_id":"","content":"empty id"}`},
		{"/v1/sessions/" + id + "/messages", `not json {"message_id":"m3"}`},
		{"/v1/sessions", `{"user_id":"u","session_id":"` + id + `"}`},
	} {
		for _, hdr := range []map[string]string{nil, {"Idempotency-Key": "k-" + c.body}} {
			before := eu.hits.Load()
			resp, _ = fx.do(t, http.MethodPost, c.path, c.body, hdr)
			if resp.StatusCode != 503 || resp.Header.Get("X-Served-By") != "us-east-1" || eu.hits.Load() != before {
				t.Fatalf("POST %s %s (headers %v): %d from %s, eu-west-1 hits %d->%d; must not be retried",
					c.path, c.body, hdr, resp.StatusCode, resp.Header.Get("X-Served-By"), before, eu.hits.Load())
			}
		}
	}

	// Both fail: the last region's answer reaches the client, no third try.
	eu.reqCode.Store(500)
	resp, _ = fx.do(t, http.MethodGet, "/v1/sessions/"+id, "", nil)
	if resp.StatusCode != 500 || resp.Header.Get("X-Served-By") != "eu-west-1" {
		t.Fatalf("both failing: %d from %s", resp.StatusCode, resp.Header.Get("X-Served-By"))
	}
}

// A slow session create that carries an Idempotency-Key runs on exactly one
// region: the per-try timeout answers 504 instead of sending it to a second
// region while the first may still create the session.
func TestSlowCreateWithIdempotencyKeyHitsOneRegion(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 50, "eu-west-1": 50}, func(c *Config) {
		c.Retry.PerTryTimeout = 100 * time.Millisecond
		c.Outlier.Enabled = false
	})
	for _, r := range fx.regions {
		r.hang.Store(true)
	}
	resp, body := fx.do(t, http.MethodPost, "/v1/sessions", `{"user_id":"u","session_id":"slow-1"}`, map[string]string{"Idempotency-Key": "create-slow-1"})
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "UPSTREAM_TIMEOUT") {
		t.Fatalf("slow create: %d %s, want 504 UPSTREAM_TIMEOUT", resp.StatusCode, body)
	}
	total := 0
	for _, r := range fx.regions {
		total += int(r.hits.Load())
	}
	if total != 1 {
		t.Fatalf("slow create with Idempotency-Key reached %d regions, want exactly 1", total)
	}
}

func TestRetryAfterPerTryTimeoutAndConnError(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 50, "eu-west-1": 50}, func(c *Config) {
		c.Retry.PerTryTimeout = 100 * time.Millisecond
		c.Outlier.Enabled = false
	})
	fx.regions["us-east-1"].hang.Store(true)
	id := sessionOwnedBy(t, fx, "us-east-1")
	if got := fx.servedBy(t, "/v1/sessions/"+id); got != "eu-west-1" {
		t.Fatalf("after per-try timeout served by %s", got)
	}
	// A hanging POST is cut by the per-try timeout and reported as 504.
	resp, body := fx.do(t, http.MethodPost, "/v1/sessions/"+id+"/messages", `{}`, nil)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "UPSTREAM_TIMEOUT") {
		t.Fatalf("hanging POST: %d %s", resp.StatusCode, body)
	}
	fx.regions["us-east-1"].srv.Close()
	if got := fx.servedBy(t, "/v1/sessions/"+id); got != "eu-west-1" {
		t.Fatalf("after connection error served by %s", got)
	}
}

func TestNoHealthyRegionPageAndSingleAlert(t *testing.T) {
	var mu sync.Mutex
	var got []alert.Payload
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p alert.Payload
		_ = json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	defer hook.Close()
	// A region named with markup, to prove the HTML page escapes it.
	fx2 := newFixture(t, map[string]int{"us-east-1": 50, "eu-west-1": 50}, func(c *Config) {
		c.Alert.Webhook = hook.URL
		c.Regions[1].Name = "<b>eu</b>"
	})
	for _, r := range fx2.regions {
		r.healthCode.Store(503)
	}
	fx2.checkRounds(5) // several rounds with everything down: still one alert
	for i := 0; i < 5; i++ {
		resp, body := fx2.do(t, http.MethodGet, "/v1/sessions/x", "", nil)
		if resp.StatusCode != 503 || !strings.Contains(body, `"code":"NO_HEALTHY_REGION"`) || !strings.Contains(body, `"regions"`) {
			t.Fatalf("JSON 503: %d %s", resp.StatusCode, body)
		}
	}
	resp, body := fx2.do(t, http.MethodGet, "/", "", map[string]string{"Accept": "text/html,application/xhtml+xml"})
	if resp.StatusCode != 503 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "&lt;b&gt;eu&lt;/b&gt;") || strings.Contains(body, "<b>eu</b>") {
		t.Fatalf("HTML 503: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	fx2.regions["us-east-1"].healthCode.Store(200)
	fx2.checkRounds(3)
	if got := fx2.createServedBy(t); got != "us-east-1" {
		t.Fatalf("served by %s", got)
	}
	fx2.lb.Wait() // any asynchronous alert sync has finished
	mu.Lock()
	defer mu.Unlock()
	var statuses []string
	for _, p := range got {
		statuses = append(statuses, p.Status)
		if p.Alerts[0].Labels["alertname"] != "NoHealthyRegion" {
			t.Fatalf("alertname %v", p.Alerts[0].Labels)
		}
	}
	if strings.Join(statuses, ",") != "firing,resolved" {
		t.Fatalf("webhook got %v, want exactly one firing and one resolved", statuses)
	}
}

func TestAlertFromRequestPathWhenAllEjected(t *testing.T) {
	var posts atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { posts.Add(1) }))
	defer hook.Close()
	fx := newFixture(t, map[string]int{"us-east-1": 1}, func(c *Config) {
		c.Alert.Webhook = hook.URL
		c.Outlier.ConsecutiveFailures = 1
		c.Outlier.Ejection = time.Hour
	})
	fx.regions["us-east-1"].reqCode.Store(500)
	fx.do(t, http.MethodPost, "/v1/sessions", `{"user_id":"u"}`, nil) // ejects the only region
	for i := 0; i < 5; i++ {
		if resp, _ := fx.do(t, http.MethodGet, "/v1/sessions/x", "", nil); resp.StatusCode != 503 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for posts.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	fx.lb.Wait()
	if posts.Load() != 1 {
		t.Fatalf("webhook posts = %d, want 1", posts.Load())
	}
}

func TestStartLoopDetects(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 1, "eu-west-1": 1}, func(c *Config) { c.Health.Interval = 20 * time.Millisecond })
	fx.regions["eu-west-1"].healthCode.Store(500)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fx.lb.Start(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for fx.regionStatus("eu-west-1").Status != StatusDegraded {
		if time.Now().After(deadline) {
			t.Fatal("health loop did not mark eu-west-1 degraded")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	cancel()
	fx.lb.Wait()
}

func TestBodyTooLarge(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 1}, nil)
	resp, body := fx.do(t, http.MethodPost, "/v1/sessions", strings.Repeat("x", DefaultMaxBodyBytes+1), nil)
	if resp.StatusCode != 413 || !strings.Contains(body, "BODY_TOO_LARGE") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func BenchmarkProxy(b *testing.B) {
	fx := newFixture(b, map[string]int{"us-east-1": 1}, nil)
	client := fx.srv.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Get(fx.srv.URL + "/v1/sessions/bench")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}

// The alert_storm failpoint fires one more alert every health round while
// no region is in rotation, and resolves them all with the incident.
func TestAlertStormFailpoint(t *testing.T) {
	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p alert.Payload
		_ = json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		got = append(got, p.Status+":"+p.Alerts[0].Labels["alertname"])
		mu.Unlock()
	}))
	defer hook.Close()
	fx := newFixture(t, map[string]int{"us-east-1": 100}, func(c *Config) {
		c.Alert.Webhook = hook.URL
		c.Failpoints.AlertStorm = true
	})
	fx.regions["us-east-1"].healthCode.Store(503)
	fx.checkRounds(3 + 2) // three to the failure threshold, then two more rounds down
	fx.regions["us-east-1"].healthCode.Store(200)
	fx.checkRounds(3)
	fx.lb.Wait()
	mu.Lock()
	defer mu.Unlock()
	firing, resolved := 0, 0
	for _, g := range got {
		if strings.HasPrefix(g, "firing:") {
			firing++
		} else {
			resolved++
		}
	}
	if firing < 3 || resolved != firing || !slices.Contains(got, "firing:NoHealthyRegion-2") {
		t.Fatalf("webhook got %v: want NoHealthyRegion and a new NoHealthyRegion-<n> every round, each resolved", got)
	}
}
