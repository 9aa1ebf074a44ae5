package lb

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/httpsafe"
)

// With status_token set, /lb/status (internal URLs, dial errors) needs the
// bearer token; without one it stays open, as the harness reads it.
func TestLBStatusToken(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 1}, func(c *Config) { c.StatusToken = "s3cret" })
	for _, auth := range []string{"", "Bearer", "Bearer wrong", "Bearer s3cret2", "Basic s3cret", "s3cret"} {
		hdr := map[string]string{}
		if auth != "" {
			hdr["Authorization"] = auth
		}
		resp, body := fx.do(t, http.MethodGet, "/lb/status", "", hdr)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"code":"UNAUTHORIZED"`) || strings.Contains(body, "127.0.0.1") ||
			!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: %d %s, want 401 UNAUTHORIZED", auth, resp.StatusCode, body)
		}
	}
	resp, body := fx.do(t, http.MethodGet, "/lb/status", "", map[string]string{"Authorization": "Bearer s3cret"})
	if resp.StatusCode != 200 || !strings.Contains(body, `"url":"http://127.0.0.1`) {
		t.Fatalf("with the token: %d %s", resp.StatusCode, body)
	}
	// /lb/health stays open: it is what an outer health check probes.
	if resp, _ := fx.do(t, http.MethodGet, "/lb/health", "", nil); resp.StatusCode != 200 {
		t.Fatalf("/lb/health: %d", resp.StatusCode)
	}

	open := newFixture(t, map[string]int{"us-east-1": 1}, nil)
	if resp, body := open.do(t, http.MethodGet, "/lb/status", "", nil); resp.StatusCode != 200 || !strings.Contains(body, `"regions"`) {
		t.Fatalf("without status_token: %d %s", resp.StatusCode, body)
	}
}

// max_body_bytes bounds the buffered body: one byte more is 413
// BODY_TOO_LARGE whether the length is announced or not, and nothing
// reaches a region.
func TestMaxBodyBytesConfigured(t *testing.T) {
	const limit = 64
	fx := newFixture(t, map[string]int{"us-east-1": 1}, func(c *Config) { c.MaxBodyBytes = limit })
	fits := `{"user_id":"u","session_id":"s-1"}` + strings.Repeat(" ", limit-34)
	if len(fits) != limit {
		t.Fatalf("test body is %d bytes", len(fits))
	}
	if resp, body := fx.do(t, http.MethodPost, "/v1/sessions", fits, nil); resp.StatusCode != 200 {
		t.Fatalf("a body of max_body_bytes: %d %s", resp.StatusCode, body)
	}
	hits := fx.totalHits()
	for _, chunked := range []bool{false, true} {
		var rd io.Reader = strings.NewReader(fits + " ")
		if chunked {
			rd = io.MultiReader(rd) // hides the length: the client sends it chunked
		}
		req, _ := http.NewRequest(http.MethodPost, fx.srv.URL+"/v1/sessions/s-1/messages", rd)
		resp, err := fx.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "BODY_TOO_LARGE") {
			t.Errorf("chunked=%v: %d %s, want 413 BODY_TOO_LARGE", chunked, resp.StatusCode, b)
		}
	}
	if fx.totalHits() != hits {
		t.Fatal("a body over max_body_bytes reached a region")
	}
}

// slowClient is one slowloris connection: it sends head at once, then one
// byte of drip every tick, never finishing. cut reports whether the server
// closed the connection before the client ran out of bytes to send; status
// is the answer's status line, if any.
type slowClient struct {
	cut    bool
	status string
}

func slowloris(addr, head string, drip int, tick time.Duration, started *sync.WaitGroup, alive *atomic.Int32, guard <-chan struct{}) slowClient {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		started.Done()
		return slowClient{}
	}
	defer conn.Close()
	alive.Add(1)
	defer alive.Add(-1)
	// The server closing the connection ends the reader.
	read := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		_, _ = io.Copy(io.Discard, conn)
		read <- strings.TrimSpace(line)
	}()
	_, err = io.WriteString(conn, head)
	started.Done()
	if err != nil {
		return slowClient{}
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for sent := 0; sent < drip; sent++ {
		select {
		case status := <-read:
			return slowClient{cut: true, status: status}
		case <-guard:
			return slowClient{}
		case <-t.C:
			if _, err := conn.Write([]byte("a")); err != nil {
				return slowClient{cut: true, status: <-read}
			}
		}
	}
	return slowClient{} // sent everything: the server never cut it
}

// 50 slowloris connections (half drip their headers, half a body) are cut
// by http.read_header_timeout and http.read_timeout, and meanwhile normal
// clients' requests through the LB are answered. Outcomes only: every slow
// connection was closed by the server before it finished, the body ones
// with 408, and normal requests succeeded while slow ones were connected.
func TestSlowlorisCutOffWhileOthersServed(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 1}, nil)
	limits := httpsafe.Defaults()
	limits.ReadHeaderTimeout = 300 * time.Millisecond
	limits.ReadTimeout = time.Second
	addr := serveSafe(t, fx.lb, limits)

	const n = 50
	const tick = 20 * time.Millisecond // the attacker's pace: one byte per tick
	const drip = 10000                 // bytes left to send: far past either timeout at this pace
	guard := make(chan struct{})       // ends the attack if the server never does (test failure)
	var started sync.WaitGroup
	var alive atomic.Int32
	results := make(chan struct {
		body bool
		slowClient
	}, n)
	started.Add(n)
	for i := range n {
		body := i%2 == 1
		head := "GET /v1/sessions/s-1 HTTP/1.1\r\nHost: lb.test\r\nX-Pad: "
		if body {
			head = "POST /v1/sessions/s-1/messages HTTP/1.1\r\nHost: lb.test\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"message_id\":\""
		}
		go func() {
			r := slowloris(addr, head, drip, tick, &started, &alive, guard)
			results <- struct {
				body bool
				slowClient
			}{body, r}
		}()
	}
	started.Wait()

	// Normal clients, one request per tick while the attack lasts.
	client := &http.Client{Timeout: 10 * time.Second}
	pace := time.NewTicker(tick)
	defer pace.Stop()
	served, servedDuringAttack := 0, 0
	for ; alive.Load() > 0; <-pace.C {
		resp, err := client.Post("http://"+addr+"/v1/sessions", "application/json", strings.NewReader(`{"user_id":"u"}`))
		if err != nil {
			t.Fatalf("normal request during the attack: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Served-By") != "us-east-1" {
			t.Fatalf("normal request during the attack: %d", resp.StatusCode)
		}
		served++
		if alive.Load() > 0 {
			servedDuringAttack++
		}
		if served == 1000 {
			break // the server is not cutting them: the results below say so
		}
	}

	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	var headCut, bodyCut int
	for range n {
		var r struct {
			body bool
			slowClient
		}
		select {
		case r = <-results:
		case <-deadline.C:
			close(guard)
			t.Fatal("slow connections still open 30s on")
		}
		switch {
		case !r.cut:
			t.Errorf("slow connection (body=%v) was not cut by the server", r.body)
		case r.body && !strings.Contains(r.status, " 408 "):
			t.Errorf("slow body answered %q, want 408", r.status)
		case r.body:
			bodyCut++
		default:
			headCut++
		}
	}
	if headCut != n/2 || bodyCut != n/2 {
		t.Errorf("cut %d slow-header and %d slow-body connections, want %d each", headCut, bodyCut, n/2)
	}
	if servedDuringAttack == 0 {
		t.Errorf("no normal request was answered while slow connections were open (%d in all)", served)
	}
	if hits := fx.regions["us-east-1"].hits.Load(); int(hits) != served {
		t.Errorf("region got %d requests, want the %d normal ones only", hits, served)
	}
}
