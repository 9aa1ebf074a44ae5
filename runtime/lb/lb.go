// Package lb is the global load balancer standing in for Route 53 weighted
// records plus CloudFront: weighted and session-sticky routing, active health
// checks with thresholds, passive outlier ejection, retry of idempotent
// requests on another region, a 503 status page and a no-healthy-region
// alert.
package lb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"html/template"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentops/failover-harness/runtime/alert"
	"github.com/agentops/failover-harness/runtime/healthlog"
)

// Region statuses as decided by health checks, plus the pseudo-status used
// in transitions for outlier ejection.
const (
	StatusActive   = "active"
	StatusDegraded = "degraded"
	StatusDown     = "down"
	StatusEjected  = "ejected"
)

// RegionStatus is one region as reported by GET /lb/status.
type RegionStatus struct {
	Name                string     `json:"name"`
	URL                 string     `json:"url"`
	Weight              int        `json:"weight"`
	Status              string     `json:"status"`
	EjectedUntil        *time.Time `json:"ejected_until"`
	InRotation          bool       `json:"in_rotation"`
	Requests            int64      `json:"requests"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastError           string     `json:"last_error,omitempty"`
}

// Transition is one change of a region's status (ejection included).
type Transition = healthlog.Transition

// HealthRound is the timing of one completed round of the health loop.
type HealthRound = healthlog.Round

// HealthRounds reports whether the health loop kept its schedule (CheckNow
// calls made outside the loop are not counted: they have no schedule).
type HealthRounds = healthlog.Rounds

// Status is the body of GET /lb/status.
type Status struct {
	// Now is the LB's clock when the body was built: a caller turns every
	// other time here into an age on the LB's own clock (Now - t) instead of
	// comparing the LB's clock with its own.
	Now         time.Time      `json:"now"`
	Regions     []RegionStatus `json:"regions"`
	Transitions []Transition   `json:"transitions"`
	// TransitionsTotal counts every transition ever recorded: more than
	// Transitions holds means the oldest were dropped.
	TransitionsTotal int64            `json:"transitions_total"`
	Health           HealthRounds     `json:"health"`
	Alerts           alert.AlertStats `json:"alerts"`
}

type backend struct {
	name   string
	weight int
	target *url.URL

	status       string
	consecFail   int
	consecOK     int
	lastErr      string
	outlierFails int
	ejectedUntil time.Time // zero when not ejected

	// requests counts proxied attempts (not health probes) sent to this
	// region, like Envoy's upstream_rq_total: it shows traffic that a retry
	// later hid from the client.
	requests atomic.Int64
}

// LB is the global load balancer. Safe for concurrent use.
type LB struct {
	// answers counts what clients were answered through the agent API, by
	// status class (index 1..5): the error ratio users see, for PromQL.
	answers [6]atomic.Int64

	cfg       Config
	log       *slog.Logger
	transport *http.Transport
	health    *http.Client
	alert     *alert.Sender
	proxy     *httputil.ReverseProxy

	mu          sync.Mutex
	backends    []*backend
	transitions healthlog.Log
	rnd         *rand.Rand
	rounds      healthlog.Ring

	alertMu     sync.Mutex
	alertFiring atomic.Bool
	alertSync   atomic.Bool // an asynchronous alert sync is in flight
	storm       []string    // alert_storm failpoint: the alerts it fired this incident

	metricsOnce sync.Once // GET /lb/metrics (metrics.go)
	metricsH    http.Handler
	wg          sync.WaitGroup
}

// now is the one wall clock the LB reads: time.Now shifted by
// clock_offset. Add keeps the monotonic reading, so comparisons of two now
// values (ejection deadlines) are unaffected by the offset and by clock steps.
func (l *LB) now() time.Time { return time.Now().Add(l.cfg.ClockOffset) }

// New builds an LB from a validated-or-not config (it validates).
func New(cfg Config, logger *slog.Logger) (*LB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &LB{cfg: cfg, log: logger, rnd: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Seed)^0x9e3779b97f4a7c15))}
	for i, rc := range cfg.Regions {
		u, err := url.Parse(rc.URL)
		if err != nil {
			return nil, fmt.Errorf("regions[%d].url: %v", i, err)
		}
		l.backends = append(l.backends, &backend{name: rc.Name, weight: rc.Weight, target: u, status: StatusActive})
	}
	// Connection reuse matters for a proxy; dial and per-try bounds keep an
	// unresponsive region from pinning connections.
	l.transport = &http.Transport{
		DialContext:           (&net.Dialer{Timeout: cfg.Retry.PerTryTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	l.health = &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: cfg.Health.Timeout}).DialContext,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}}
	l.alert = alert.NewSenderWith(cfg.Alert.Webhook, &http.Client{Timeout: 5 * time.Second}, "global-lb",
		alert.Options{Alertmanager: cfg.Alert.Alertmanager, Resend: cfg.Alert.Resend})
	l.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// ReverseProxy has already dropped the client's Forwarded and
			// X-Forwarded-*; client-IP headers it does not know go too, so a
			// region never trusts an address the client chose.
			for _, h := range clientIPHeaders {
				pr.Out.Header.Del(h)
			}
			pr.SetXForwarded() // X-Forwarded-For: the peer's address only
			pr.Out.Host = ""   // use the region's host
		},
		Transport:    &retryTransport{lb: l},
		ErrorHandler: l.proxyError,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return l, nil
}

// clientIPHeaders are request headers naming a client address that only a
// proxy may set; the LB strips them from what clients send.
var clientIPHeaders = []string{"X-Real-IP", "True-Client-IP", "X-Client-IP", "X-Cluster-Client-IP", "CF-Connecting-IP"}

// Handler is the public entry: the agent API (proxied), /lb/health,
// /lb/status and / (allowlist.go). Anything else is 404 NOT_FOUND, a listed
// path with another method 405, neither reaching a region.
func (l *LB) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, id := matchRoute(r.URL.Path)
		switch {
		case rt == routeNone:
			writeError(w, http.StatusNotFound, "no such endpoint", "NOT_FOUND")
		case !rt.allows(r.Method):
			w.Header().Set("Allow", rt.methods())
			writeError(w, http.StatusMethodNotAllowed, "method not allowed", "METHOD_NOT_ALLOWED")
		case rt == routeLBHealth:
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		case rt == routeLBStatus || rt == routeLBMetrics:
			if !l.statusAuthorized(r) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="lb-status"`)
				writeError(w, http.StatusUnauthorized, "GET "+r.URL.Path+" needs Authorization: Bearer <status_token>", "UNAUTHORIZED")
				return
			}
			if rt == routeLBMetrics {
				l.metricsHandler().ServeHTTP(w, r)
				return
			}
			writeJSON(w, http.StatusOK, l.Status())
		case rt == routeRoot:
			if l.inRotationCount() == 0 {
				cw := &classWriter{ResponseWriter: w}
				l.noRegion(cw, r)
				l.answered(cw.code)
				return
			}
			writeError(w, http.StatusNotFound, "no such endpoint", "NOT_FOUND")
		default:
			cw := &classWriter{ResponseWriter: w}
			l.serveProxy(cw, r, rt, id)
			l.answered(cw.code)
		}
	})
}

// statusAuthorized checks the bearer token of /lb/status. Both sides are
// hashed so the constant-time compare also hides the token's length.
func (l *LB) statusAuthorized(r *http.Request) bool {
	if l.cfg.StatusToken == "" {
		return true // documented: open without a token (tests only)
	}
	want := sha256.Sum256([]byte("Bearer " + l.cfg.StatusToken))
	got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// Start runs active health checks in the background until ctx is done (a
// first round immediately, then every health.interval), recording each
// round's timing. Wait blocks until the background work has stopped.
func (l *LB) Start(ctx context.Context) {
	if !l.cfg.Health.Enabled {
		return
	}
	l.wg.Go(func() {
		t := time.NewTicker(l.cfg.Health.Interval)
		defer t.Stop()
		var ready time.Time // when the round could start; zero for the first
		for {
			start := l.now()
			var late time.Duration
			if !ready.IsZero() {
				// A starved process starts a round late. A round that waits
				// for a slow probe is not late: the next one is ready when
				// it ends (its tick fired meanwhile and waits buffered).
				late = max(0, start.Sub(ready))
			}
			l.CheckNow(ctx)
			if ctx.Err() != nil {
				return // an interrupted round says nothing about timing
			}
			end := l.now()
			l.recordRound(HealthRound{Started: start, LateSeconds: late.Seconds(), TookSeconds: end.Sub(start).Seconds()})
			select {
			case <-ctx.Done():
				return
			case tick := <-t.C:
				ready = healthlog.ReadyAt(tick.Add(l.cfg.ClockOffset), end)
			}
		}
	})
}

func (l *LB) recordRound(r HealthRound) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rounds.Add(r)
}

// Wait blocks until Start's loop and pending alert notifications are done.
func (l *LB) Wait() { l.wg.Wait() }

// Close releases idle upstream connections.
func (l *LB) Close() {
	l.transport.CloseIdleConnections()
	if t, ok := l.health.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
}

// Status reports regions, transitions and health-loop timing, as GET
// /lb/status.
func (l *LB) Status() Status {
	l.mu.Lock()
	// Read the clock under the lock: every time recorded in the snapshot was
	// taken before it was written, so no reported time is after Now.
	now := l.now()
	l.expireLocked(now)
	st := Status{Now: now, Health: l.rounds.Snapshot(l.cfg.Health.Enabled, l.cfg.Health.Interval)}
	st.Transitions, st.TransitionsTotal = l.transitions.Snapshot()
	for _, b := range l.backends {
		rs := RegionStatus{Name: b.name, URL: b.target.String(), Weight: b.weight, Status: b.status,
			InRotation: b.inRotation(), Requests: b.requests.Load(), ConsecutiveFailures: b.consecFail, LastError: b.lastErr}
		if !b.ejectedUntil.IsZero() {
			t := b.ejectedUntil
			rs.EjectedUntil = &t
		}
		st.Regions = append(st.Regions, rs)
	}
	l.mu.Unlock()
	st.Alerts = l.alert.Stats()
	return st
}

func (b *backend) inRotation() bool { return b.status == StatusActive && b.ejectedUntil.IsZero() }

func (l *LB) transitionLocked(b *backend, from, to string, at time.Time) {
	l.transitions.Add(Transition{Region: b.name, From: from, To: to, At: at})
	l.log.Info("region transition", "region", b.name, "from", from, "to", to)
}

// expireLocked ends ejections whose time has passed, recording the
// transition at the moment the ejection ended.
func (l *LB) expireLocked(now time.Time) {
	for _, b := range l.backends {
		if !b.ejectedUntil.IsZero() && !now.Before(b.ejectedUntil) {
			l.transitionLocked(b, StatusEjected, b.status, b.ejectedUntil)
			b.ejectedUntil = time.Time{}
			b.outlierFails = 0
		}
	}
}

// ---- health checks ----

type probeKind int

const (
	probeOK probeKind = iota
	probeHTTP
	probeConn
)

// CheckNow runs one round of health checks, every region in parallel, and
// applies the thresholds. Only the HTTP status code is used.
func (l *LB) CheckNow(ctx context.Context) {
	kinds := make([]probeKind, len(l.backends))
	errs := make([]string, len(l.backends))
	var wg sync.WaitGroup
	for i, b := range l.backends { // backends slice and targets are immutable
		wg.Go(func() { kinds[i], errs[i] = l.probe(ctx, b.target) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // shutting down: the results say nothing about the regions
	}
	now := l.now()
	l.mu.Lock()
	for i, b := range l.backends {
		prev := b.status
		b.lastErr = errs[i]
		if kinds[i] == probeOK {
			b.consecOK++
			b.consecFail = 0
			if b.status != StatusActive && b.consecOK >= l.cfg.Health.SuccessThreshold {
				b.status = StatusActive
			}
		} else {
			b.consecFail++
			b.consecOK = 0
			if b.consecFail >= l.cfg.Health.FailureThreshold {
				// Past the threshold the latest failure kind decides.
				b.status = StatusDegraded
				if kinds[i] == probeConn {
					b.status = StatusDown
				}
			}
		}
		if b.status != prev {
			l.transitionLocked(b, prev, b.status, now)
		}
	}
	l.expireLocked(now)
	l.mu.Unlock()
	l.syncAlert(ctx)
	if l.cfg.Failpoints.AlertStorm {
		l.stormAlert(ctx)
	}
}

func (l *LB) probe(ctx context.Context, target *url.URL) (probeKind, string) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Health.Timeout)
	defer cancel()
	u := *target
	u.Path = strings.TrimRight(u.Path, "/") + l.cfg.Health.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return probeConn, err.Error()
	}
	resp, err := l.health.Do(req)
	if err != nil {
		return probeConn, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return probeHTTP, "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return probeOK, ""
}

// ---- alerting ----

// syncAlert fires once when no region is in rotation and resolves when one
// is. It reads the state under alertMu, so concurrent calls cannot reorder
// firing and resolved. While none is, every round calls Fire: the sender
// sends the webhook once and re-sends to an Alertmanager when due.
func (l *LB) syncAlert(ctx context.Context) {
	l.alertMu.Lock()
	defer l.alertMu.Unlock()
	none := l.inRotationCount() == 0
	name := l.cfg.Alert.Name
	switch {
	case none:
		if err := l.alert.Fire(ctx, name, "no region is in rotation at the global load balancer", map[string]string{"component": "global-lb"}); err != nil {
			l.log.Error("alert fire failed", "err", err)
		}
	case !none && l.alert.Firing(name):
		if err := l.alert.Resolve(ctx, name); err != nil {
			l.log.Error("alert resolve failed", "err", err)
		}
	}
	l.alertFiring.Store(l.alert.Firing(name))
}

// stormAlert is the alert_storm failpoint (a planted bug, tests only):
// while no region is in rotation each health round fires one more alert,
// <name>-<n>, and keeps the earlier ones firing; once a region is back all
// are resolved.
func (l *LB) stormAlert(ctx context.Context) {
	l.alertMu.Lock()
	defer l.alertMu.Unlock()
	if l.inRotationCount() > 0 {
		for _, n := range l.storm {
			if err := l.alert.Resolve(ctx, n); err != nil {
				l.log.Error("alert resolve failed", "err", err, "failpoint", "alert_storm")
			}
		}
		l.storm = nil
		return
	}
	l.storm = append(l.storm, fmt.Sprintf("%s-%d", l.cfg.Alert.Name, len(l.storm)+1))
	for _, n := range l.storm {
		if err := l.alert.Fire(ctx, n, "no region is in rotation at the global load balancer (alert_storm failpoint)", map[string]string{"component": "global-lb"}); err != nil {
			l.log.Error("alert fire failed", "err", err, "failpoint", "alert_storm")
		}
	}
}

// syncAlertAsync runs syncAlert off the request path, at most one at a time.
func (l *LB) syncAlertAsync() {
	if !l.alertSync.CompareAndSwap(false, true) {
		return
	}
	l.wg.Go(func() {
		defer l.alertSync.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l.syncAlert(ctx)
	})
}

func (l *LB) inRotationCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireLocked(l.now())
	n := 0
	for _, b := range l.backends {
		if b.inRotation() {
			n++
		}
	}
	return n
}

// ---- routing ----

// rendezvousScore is weighted rendezvous hashing: the region with the highest
// score for a key owns it; shares are proportional to weight and removing a
// region only moves the keys it owned.
func rendezvousScore(key, name string, weight int) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(name))
	x := h.Sum64()
	// splitmix64 finaliser: FNV's low bits are not uniform enough alone.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	u := (float64(x>>11) + 0.5) / (1 << 53) // uniform in (0,1)
	return float64(weight) / -math.Log(u)
}

// order returns the regions in rotation in the order to try them: by
// rendezvous score for a session key, else weighted random without
// replacement. When every candidate has weight 0 they count as equal.
func (l *LB) order(key string) []*backend {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireLocked(l.now())
	var cands []*backend
	total := 0
	for _, b := range l.backends {
		if b.inRotation() {
			cands = append(cands, b)
			total += b.weight
		}
	}
	w := func(b *backend) int {
		if total == 0 {
			return 1
		}
		return b.weight
	}
	if key != "" {
		scores := make(map[*backend]float64, len(cands))
		for _, b := range cands {
			scores[b] = rendezvousScore(key, b.name, w(b))
		}
		slices.SortStableFunc(cands, func(a, b *backend) int {
			switch {
			case scores[a] > scores[b]:
				return -1
			case scores[a] < scores[b]:
				return 1
			}
			return strings.Compare(a.name, b.name)
		})
		return cands
	}
	out := make([]*backend, 0, len(cands))
	rest := slices.Clone(cands)
	for len(rest) > 0 {
		sum := 0
		for _, b := range rest {
			sum += w(b)
		}
		i := len(rest) - 1 // weight-0 leftovers keep their order at the end
		if sum > 0 {
			n := l.rnd.IntN(sum)
			for j, b := range rest {
				if n < w(b) {
					i = j
					break
				}
				n -= w(b)
			}
		}
		out = append(out, rest[i])
		rest = slices.Delete(rest, i, i+1)
	}
	return out
}

// record feeds passive outlier detection with one upstream result.
func (l *LB) record(b *backend, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok {
		b.outlierFails = 0
		return
	}
	b.outlierFails++
	if !l.cfg.Outlier.Enabled || !b.ejectedUntil.IsZero() || b.outlierFails < l.cfg.Outlier.ConsecutiveFailures {
		return
	}
	now := l.now()
	b.ejectedUntil = now.Add(l.cfg.Outlier.Ejection)
	l.transitionLocked(b, b.status, StatusEjected, now)
}

// ---- proxying ----

type planKey struct{}

type plan struct {
	order []*backend
	body  []byte
}

// serveProxy sends an allowlisted agent-API request to the regions. The
// body is buffered (to retry it), bounded by max_body_bytes; a slow body is
// bounded by http.read_timeout, which the server sets on the connection.
func (l *LB) serveProxy(w http.ResponseWriter, r *http.Request, rt route, id string) {
	var body []byte
	if rt.hasBody() {
		limit := l.cfg.MaxBodyBytes
		if r.ContentLength > limit {
			l.writeTooLarge(w)
			return
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		var tooLarge *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &tooLarge):
			l.writeTooLarge(w)
			return
		case errors.As(err, &ne) && ne.Timeout():
			writeError(w, http.StatusRequestTimeout, "request body not received in time", "REQUEST_TIMEOUT")
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, "cannot read request body", "BAD_REQUEST")
			return
		}
		if len(b) > 0 { // an empty body is sent as none, with a length
			body = b
		}
	}
	order := l.order(sessionKey(rt, id, body))
	if len(order) == 0 {
		l.noRegion(w, r)
		return
	}
	if l.alertFiring.Load() {
		l.syncAlertAsync()
	}
	n := 1
	if l.cfg.Retry.Enabled && retryable(rt, r.Method, body) {
		n = min(l.cfg.Retry.Attempts, len(order))
	}
	p := &plan{order: order[:n], body: body}
	r = r.WithContext(context.WithValue(r.Context(), planKey{}, p))
	r.Body = http.NoBody
	l.proxy.ServeHTTP(w, r)
}

// retryTransport sends a request to each region of its plan in turn until
// one answers below 500; each try is bounded by retry.per_try_timeout.
type retryTransport struct{ lb *LB }

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	l := t.lb
	p, _ := req.Context().Value(planKey{}).(*plan)
	if p == nil || len(p.order) == 0 {
		return nil, errors.New("lb: request without a routing plan")
	}
	var lastErr error
	for i, b := range p.order {
		last := i == len(p.order)-1
		ctx, cancel := context.WithTimeout(req.Context(), l.cfg.Retry.PerTryTimeout)
		out := req.Clone(ctx)
		out.URL.Scheme = b.target.Scheme
		out.URL.Host = b.target.Host
		// The decoded path the allowlist matched, re-escaped: the region
		// sees exactly the path the LB checked, whatever escapes the
		// client used.
		out.URL.Path = strings.TrimRight(b.target.Path, "/") + req.URL.Path
		out.URL.RawPath = ""
		out.Host = ""
		out.TransferEncoding = nil // the body is buffered: send it with a length
		if p.body != nil {
			out.Body = io.NopCloser(bytes.NewReader(p.body))
			out.ContentLength = int64(len(p.body))
			out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(p.body)), nil }
		} else {
			out.Body, out.ContentLength = nil, 0
		}
		b.requests.Add(1)
		resp, err := l.transport.RoundTrip(out)
		clientGone := req.Context().Err() != nil
		if err != nil {
			cancel()
			if clientGone {
				return nil, err // the client left; say nothing about the region
			}
			l.record(b, false)
			l.log.Warn("upstream error", "region", b.name, "try", i+1, "err", err)
			lastErr = fmt.Errorf("region %s: %w", b.name, err)
			if last {
				return nil, lastErr
			}
			continue
		}
		if resp.StatusCode >= 500 {
			l.record(b, false)
			if !last {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				cancel()
				l.log.Warn("retrying on next region", "region", b.name, "status", resp.StatusCode, "try", i+1)
				continue
			}
		} else {
			l.record(b, true)
		}
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	return nil, lastErr
}

// cancelBody releases the per-try context once the body is consumed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// proxyError answers a request no region answered. The error names
// internal addresses and dial failures: it goes to the log, never to the
// (anonymous) client.
func (l *LB) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // client went away
	}
	l.log.Warn("no region answered", "method", r.Method, "path", r.URL.Path, "err", err)
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, "upstream region timed out", "UPSTREAM_TIMEOUT")
		return
	}
	writeError(w, http.StatusBadGateway, "upstream region failed", "UPSTREAM_UNAVAILABLE")
}

func (l *LB) writeTooLarge(w http.ResponseWriter) {
	writeError(w, http.StatusRequestEntityTooLarge, "request body larger than "+strconv.FormatInt(l.cfg.MaxBodyBytes, 10)+" bytes", "BODY_TOO_LARGE")
}

// ---- responses ----

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg, errCode string) {
	writeJSON(w, code, map[string]string{"error": msg, "code": errCode})
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Service unavailable</title></head>
<body><h1>Service temporarily unavailable</h1>
<p>No region is healthy right now. Please retry shortly.</p>
<table><thead><tr><th>Region</th><th>Status</th><th>In rotation</th></tr></thead><tbody>
{{range .}}<tr><td>{{.Name}}</td><td>{{.Status}}</td><td>{{.InRotation}}</td></tr>
{{end}}</tbody></table></body></html>
`))

// PublicRegion is a region as anonymous callers see it (the 503 body and
// page): name and status, never its URL or last error.
type PublicRegion struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	InRotation bool   `json:"in_rotation"`
}

func (l *LB) publicRegions() []PublicRegion {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireLocked(l.now())
	out := make([]PublicRegion, 0, len(l.backends))
	for _, b := range l.backends {
		out = append(out, PublicRegion{Name: b.name, Status: b.status, InRotation: b.inRotation()})
	}
	return out
}

// noRegion answers a request no region is in rotation for, and makes sure
// the alert fires (real traffic can eject the last region between rounds).
func (l *LB) noRegion(w http.ResponseWriter, r *http.Request) {
	if !l.alertFiring.Load() {
		l.syncAlertAsync()
	}
	l.writeNoHealthy(w, r)
}

func (l *LB) writeNoHealthy(w http.ResponseWriter, r *http.Request) {
	regions := l.publicRegions()
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(l.cfg.Health.Interval.Seconds()))))
	w.Header().Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		if err := statusPage.Execute(w, regions); err != nil {
			l.log.Error("status page", "err", err)
		}
		return
	}
	writeJSON(w, http.StatusServiceUnavailable, struct {
		Error   string         `json:"error"`
		Code    string         `json:"code"`
		Regions []PublicRegion `json:"regions"`
	}{"no healthy region", "NO_HEALTHY_REGION", regions})
}

// classWriter remembers the status of an answer (200 when none was set).
type classWriter struct {
	http.ResponseWriter
	code int
}

func (w *classWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *classWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes streaming through (the reverse proxy flushes).
func (w *classWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's own writer.
func (w *classWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (l *LB) answered(code int) {
	if code == 0 {
		return // the client went away before any answer
	}
	if c := code / 100; c >= 1 && c <= 5 {
		l.answers[c].Add(1)
	}
}
