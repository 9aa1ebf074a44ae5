// Package gate is the harness-controlled HTTP front door of a region: a reverse
// proxy that passes requests to the runtime, or answers a fixed status, fails a
// seeded fraction of requests with 503, or adds delay. It lets scenarios inject
// HTTP faults without any test hook in the runtime.
package gate

import (
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Gate is an HTTP reverse proxy with fault controls. Safe for concurrent use.
type Gate struct {
	region string
	target *url.URL
	proxy  *httputil.ReverseProxy

	mu     sync.Mutex
	status int
	rate   float64
	delay  time.Duration
	rng    *rand.Rand

	srv *http.Server
	ln  net.Listener
	url string
}

// New returns a gate in front of target (e.g. "http://127.0.0.1:9001") whose
// failure-rate decisions come from seed. It does not listen; see Start.
func New(region, target string, seed int64) (*Gate, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("gate target: bad URL %q", target)
	}
	g := &Gate{region: region, target: u, rng: rand.New(rand.NewSource(seed))}
	g.proxy = httputil.NewSingleHostReverseProxy(u)
	g.proxy.Transport = &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	// A runtime that is down looks, through the gate, like a connection
	// refused: answer 502 with the JSON error shape the rest of the system uses.
	g.proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() != nil {
			return
		}
		writeJSON(w, g.region, http.StatusBadGateway, "GATE_UPSTREAM", err.Error())
	}
	return g, nil
}

// Start listens on addr ("127.0.0.1:0" for a free port) and serves until Close.
func Start(region, target, addr string, seed int64) (*Gate, error) {
	g, err := New(region, target, seed)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gate %s listen %s: %w", region, addr, err)
	}
	g.ln = ln
	g.url = "http://" + ln.Addr().String()
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = g.srv.Serve(ln) }()
	return g, nil
}

// URL is the gate's base URL once started.
func (g *Gate) URL() string { return g.url }

// Addr is the gate's host:port once started.
func (g *Gate) Addr() string {
	if g.ln == nil {
		return ""
	}
	return g.ln.Addr().String()
}

// Close stops serving and drops open connections.
func (g *Gate) Close() error {
	if g.srv == nil {
		return nil
	}
	err := g.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if t, ok := g.proxy.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	return err
}

// SetStatus makes the gate answer every request (including /health) with code;
// 0 restores pass-through.
func (g *Gate) SetStatus(code int) error {
	g.mu.Lock()
	g.status = code
	g.mu.Unlock()
	return nil
}

// SetFailureRate makes the gate answer 503 to a fraction p of requests,
// clamped to [0,1].
func (g *Gate) SetFailureRate(p float64) error {
	if p < 0 {
		p = 0
	}
	if p > 1 {
		p = 1
	}
	g.mu.Lock()
	g.rate = p
	g.mu.Unlock()
	return nil
}

// SetDelay adds d before every request is handled.
func (g *Gate) SetDelay(d time.Duration) error {
	if d < 0 {
		d = 0
	}
	g.mu.Lock()
	g.delay = d
	g.mu.Unlock()
	return nil
}

// Reset restores pass-through with no delay.
func (g *Gate) Reset() error {
	g.mu.Lock()
	g.status, g.rate, g.delay = 0, 0, 0
	g.mu.Unlock()
	return nil
}

// Mode describes the current settings, for logs.
func (g *Gate) Mode() (status int, rate float64, delay time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.status, g.rate, g.delay
}

// ServeHTTP applies the configured fault, then proxies.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	status, delay := g.status, g.delay
	fail := g.rate > 0 && g.rng.Float64() < g.rate
	g.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if status != 0 {
		writeJSON(w, g.region, status, "GATE_INJECTED", fmt.Sprintf("injected status %d", status))
		return
	}
	if fail {
		writeJSON(w, g.region, http.StatusServiceUnavailable, "GATE_INJECTED", "injected failure")
		return
	}
	g.proxy.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, region string, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Served-By", region)
	w.Header().Set("X-Gate", "injected")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "{\"error\":%q,\"code\":%q}\n", msg, errCode)
}
