package cache

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Wire constants (docs/ARCHITECTURE.md).
const (
	SignatureHeader = "X-Warmup-Signature"
	MaxBodyBytes    = 1 << 20
	WarmupPath      = "/cache/warmup"
	ExportPath      = "/cache/export"
	maxKeyLen       = 1024
)

// Peer is another region's runtime, reachable at URL (base, no path).
type Peer struct{ Name, URL string }

// ReplicatorConfig configures NewReplicator. Zero values take the documented defaults.
type ReplicatorConfig struct {
	Region    string        // required
	Secret    []byte        // required: HMAC key shared by all regions
	Staleness time.Duration // entries older than this are dropped; default 30s (the seed's bound)
	Peers     func() []Peer // current peers; entries named Region are skipped
	Client    *http.Client  // default: &http.Client{Timeout: SendTimeout}
	Cache     *Cache        // required
	Now       func() time.Time
	QueueSize int // Broadcast queue bound; default 1024
	Logger    *slog.Logger

	BatchSize   int           // entries per warmup POST; default 100
	SendTimeout time.Duration // per POST deadline; default 2s
	ExportLimit int           // max entries an export answer carries; default 1000
}

// ReplicatorStats are cumulative counters.
type ReplicatorStats struct {
	Sent              int64 // entries delivered to a peer (counted per peer)
	SendErrors        int64 // failed POSTs to a peer
	Received          int64 // entries accepted from warmups
	RejectedSignature int64 // warmup/export requests refused for a missing or bad signature
	RejectedStale     int64 // entries dropped as older than Staleness (or past their TTL)
	RejectedInvalid   int64 // requests refused as malformed or too large
	Pulled            int64 // entries stored by PullFromPeers
	// PullUnansweredPeers is how many peers did not answer the last
	// PullFromPeers (unreachable, or not within the send timeout); a peer
	// that answered with an error is not counted here.
	PullUnansweredPeers int64
	Exported            int64 // entries handed out by the export endpoint
	Dropped             int64 // Broadcast entries dropped because the queue was full
}

// Replicator broadcasts new cache entries to peers and accepts theirs.
type Replicator struct {
	cfg   ReplicatorConfig
	queue chan Entry
	log   *slog.Logger

	startOnce sync.Once
	done      chan struct{}

	sent, sendErrors, received, rejectedSig, rejectedStale, rejectedInvalid, pulled, pullUnanswered, exported, dropped atomic.Int64
}

// NewReplicator validates cfg and applies defaults.
func NewReplicator(cfg ReplicatorConfig) (*Replicator, error) {
	switch {
	case cfg.Region == "":
		return nil, errors.New("replicator: region: required")
	case len(cfg.Secret) == 0:
		return nil, errors.New("replicator: warmup_secret: required")
	case cfg.Cache == nil:
		return nil, errors.New("replicator: cache: required")
	case cfg.Staleness < 0:
		return nil, fmt.Errorf("replicator: cache.staleness: %v must be positive", cfg.Staleness)
	case cfg.QueueSize < 0:
		return nil, fmt.Errorf("replicator: queue_size: %d must be positive", cfg.QueueSize)
	}
	if cfg.Staleness == 0 {
		cfg.Staleness = 30 * time.Second
	}
	if cfg.Peers == nil {
		cfg.Peers = func() []Peer { return nil }
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 2 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.SendTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 1024
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.ExportLimit <= 0 {
		cfg.ExportLimit = 1000
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Replicator{cfg: cfg, queue: make(chan Entry, cfg.QueueSize), log: log.With("region", cfg.Region), done: make(chan struct{})}, nil
}

// Stats returns the counters.
func (r *Replicator) Stats() ReplicatorStats {
	return ReplicatorStats{
		Sent: r.sent.Load(), SendErrors: r.sendErrors.Load(), Received: r.received.Load(),
		RejectedSignature: r.rejectedSig.Load(), RejectedStale: r.rejectedStale.Load(),
		RejectedInvalid: r.rejectedInvalid.Load(), Pulled: r.pulled.Load(), PullUnansweredPeers: r.pullUnanswered.Load(),
		Exported: r.exported.Load(), Dropped: r.dropped.Load(),
	}
}

// Sign returns the X-Warmup-Signature value for body: "sha256=<hex HMAC-SHA256(secret, body)>".
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// verify compares in constant time.
func verify(secret, body []byte, sig string) bool {
	return sig != "" && hmac.Equal([]byte(sig), []byte(Sign(secret, body)))
}

// Broadcast queues e for the peers without blocking; when the queue is full e is dropped
// and counted, because replication is best-effort and must never slow a reply.
func (r *Replicator) Broadcast(e Entry) {
	select {
	case r.queue <- e:
	default:
		r.dropped.Add(1)
	}
}

// Start runs the sender until ctx ends. Calling it again has no effect.
func (r *Replicator) Start(ctx context.Context) {
	r.startOnce.Do(func() { go r.run(ctx) })
}

// Done is closed when the sender started by Start has exited.
func (r *Replicator) Done() <-chan struct{} { return r.done }

func (r *Replicator) run(ctx context.Context) {
	defer close(r.done)
	for {
		var batch []Entry
		select {
		case <-ctx.Done():
			return
		case e := <-r.queue:
			batch = append(batch, e)
		}
	drain: // send whatever else is already queued in the same POST
		for len(batch) < r.cfg.BatchSize {
			select {
			case e := <-r.queue:
				batch = append(batch, e)
			default:
				break drain
			}
		}
		r.send(ctx, batch)
	}
}

// wireEntry is an entry on the wire: ages, never timestamps, so no clocks are compared.
type wireEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	AgeMs int64  `json:"age_ms"` // how old the entry is, on the sender's clock
	TTLMs int64  `json:"ttl_ms"` // the entry's total lifetime; remaining = ttl_ms - age_ms
}

type warmupRequest struct {
	From    string      `json:"from"`
	Entries []wireEntry `json:"entries"`
}

type exportRequest struct {
	From     string `json:"from"`
	MaxAgeMs int64  `json:"max_age_ms"`
}

type exportResponse struct {
	From    string      `json:"from"`
	Entries []wireEntry `json:"entries"`
}

func (r *Replicator) toWire(es []Entry) []wireEntry {
	now := r.cfg.Now()
	out := make([]wireEntry, 0, len(es))
	for _, e := range es {
		age := max(now.Sub(e.CreatedAt), 0)
		out = append(out, wireEntry{Key: e.Key, Value: e.Value, AgeMs: age.Milliseconds(), TTLMs: e.TTL.Milliseconds()})
	}
	return out
}

// send POSTs one batch to every peer in parallel.
func (r *Replicator) send(ctx context.Context, batch []Entry) {
	body, err := json.Marshal(warmupRequest{From: r.cfg.Region, Entries: r.toWire(batch)})
	if err != nil {
		r.log.Error("warmup encode", "err", err)
		return
	}
	var wg sync.WaitGroup
	for _, p := range r.cfg.Peers() {
		if p.Name == r.cfg.Region {
			continue
		}
		wg.Go(func() {
			if err := r.post(ctx, p, WarmupPath, body, nil); err != nil {
				r.sendErrors.Add(1)
				r.log.Warn("cache warmup send failed", "peer", p.Name, "entries", len(batch), "err", err)
				return
			}
			r.sent.Add(int64(len(batch)))
		})
	}
	wg.Wait()
}

// post sends a signed body and decodes a 200 answer into out (if non-nil).
func (r *Replicator) post(ctx context.Context, p Peer, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.SendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(p.URL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("peer %s url: %w", p.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(r.cfg.Secret, body))
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// An export answer may carry many entries; bound it anyway.
	lr := io.LimitReader(resp.Body, 16*MaxBodyBytes)
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(lr, 512))
		return fmt.Errorf("peer %s %s: HTTP %d: %s", p.Name, path, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, lr)
		return nil
	}
	if err := json.NewDecoder(lr).Decode(out); err != nil {
		return fmt.Errorf("peer %s %s: decode answer: %w", p.Name, path, err)
	}
	return nil
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// maxWireMs is the largest millisecond count a peer may send: ten years.
// Every wire duration is checked against it before it is multiplied into a
// time.Duration, which overflows past ~292 years (an age of 2^63-1 ms used
// to wrap negative and pass as fresh, or date an entry in the future).
const maxWireMs = 10 * 365 * 24 * int64(time.Hour/time.Millisecond)

// wireMs turns a checked millisecond count into a duration.
func wireMs(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// validEntry checks one wire entry; the error names the field.
func validEntry(i int, e wireEntry) error {
	switch {
	case !strings.HasPrefix(e.Key, KeyPrefix) || len(e.Key) > maxKeyLen:
		return fmt.Errorf("entries[%d].key: must start with %q and be at most %d bytes", i, KeyPrefix, maxKeyLen)
	case e.AgeMs < 0 || e.AgeMs > maxWireMs:
		return fmt.Errorf("entries[%d].age_ms: %d must be 0..%d", i, e.AgeMs, maxWireMs)
	case e.TTLMs <= 0 || e.TTLMs > maxWireMs:
		return fmt.Errorf("entries[%d].ttl_ms: %d must be 1..%d", i, e.TTLMs, maxWireMs)
	}
	return nil
}

// decodeWarmup parses and validates a warmup body.
func decodeWarmup(body []byte) (warmupRequest, error) {
	var req warmupRequest
	if err := decodeStrict(body, &req); err != nil {
		return warmupRequest{}, err
	}
	if req.From == "" {
		return warmupRequest{}, errors.New("from: required")
	}
	for i, e := range req.Entries {
		if err := validEntry(i, e); err != nil {
			return warmupRequest{}, err
		}
	}
	return req, nil
}

// accept applies the staleness bound (judged from age_ms alone, SPEC §5 defect 9) and
// stores the rest with their remaining TTL. It returns (stored, stale).
func (r *Replicator) accept(ctx context.Context, es []wireEntry) (int, int, error) {
	stored, stale := 0, 0
	now := r.cfg.Now()
	for _, w := range es {
		age := wireMs(w.AgeMs) // validEntry bounded it: no overflow, never negative
		if age > r.cfg.Staleness {
			stale++
			continue
		}
		// CreatedAt is rebuilt on OUR clock from the age (never in the
		// future), so Store's remaining TTL is ttl-age; a peer cannot make an
		// entry outlive this cache's own TTL.
		ttl := min(wireMs(w.TTLMs), r.cfg.Cache.ttl)
		ok, err := r.cfg.Cache.store(ctx, Entry{Key: w.Key, Value: w.Value, CreatedAt: now.Add(-age), TTL: ttl})
		if err != nil {
			return stored, stale, err
		}
		if ok {
			stored++
		} else {
			stale++ // outlived its TTL
		}
	}
	r.rejectedStale.Add(int64(stale))
	return stored, stale, nil
}

func (r *Replicator) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Served-By", r.cfg.Region)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (r *Replicator) writeErr(w http.ResponseWriter, code int, errCode, msg string) {
	r.writeJSON(w, code, map[string]string{"error": msg, "code": errCode})
}

// readSigned enforces method, size limit and signature; it writes the error answer itself.
func (r *Replicator) readSigned(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.writeErr(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use POST")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBodyBytes))
	if err != nil {
		r.rejectedInvalid.Add(1)
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			r.writeErr(w, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", fmt.Sprintf("body exceeds %d bytes", MaxBodyBytes))
		} else {
			r.writeErr(w, http.StatusBadRequest, "BAD_REQUEST", "read body: "+err.Error())
		}
		return nil, false
	}
	if !verify(r.cfg.Secret, body, req.Header.Get(SignatureHeader)) {
		r.rejectedSig.Add(1)
		r.log.Warn("cache peer request refused: bad signature", "path", req.URL.Path, "remote", req.RemoteAddr)
		r.writeErr(w, http.StatusUnauthorized, "BAD_SIGNATURE", SignatureHeader+" missing or wrong")
		return nil, false
	}
	return body, true
}

// WarmupHandler serves POST /cache/warmup.
func (r *Replicator) WarmupHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, ok := r.readSigned(w, req)
		if !ok {
			return
		}
		wr, err := decodeWarmup(body)
		if err != nil {
			r.rejectedInvalid.Add(1)
			r.writeErr(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
			return
		}
		stored, stale, err := r.accept(req.Context(), wr.Entries)
		r.received.Add(int64(stored))
		if err != nil {
			r.writeErr(w, http.StatusServiceUnavailable, "CACHE_UNAVAILABLE", err.Error())
			return
		}
		r.writeJSON(w, http.StatusOK, map[string]int{"accepted": stored, "stale": stale})
	})
}

// ExportHandler serves POST /cache/export: recent entries for a peer with a cold cache.
func (r *Replicator) ExportHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, ok := r.readSigned(w, req)
		if !ok {
			return
		}
		var er exportRequest
		err := decodeStrict(body, &er)
		if err == nil && er.From == "" {
			err = errors.New("from: required")
		}
		if err == nil && (er.MaxAgeMs <= 0 || er.MaxAgeMs > maxWireMs) {
			err = fmt.Errorf("max_age_ms: %d must be 1..%d", er.MaxAgeMs, maxWireMs)
		}
		if err != nil {
			r.rejectedInvalid.Add(1)
			r.writeErr(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
			return
		}
		es, err := r.cfg.Cache.Recent(req.Context(), wireMs(er.MaxAgeMs), r.cfg.ExportLimit)
		if err != nil {
			r.writeErr(w, http.StatusServiceUnavailable, "CACHE_UNAVAILABLE", err.Error())
			return
		}
		r.exported.Add(int64(len(es)))
		r.writeJSON(w, http.StatusOK, exportResponse{From: r.cfg.Region, Entries: r.toWire(es)})
	})
}

// PullFromPeers asks every peer for entries younger than Staleness and stores them: the
// cold-start path after a restart with an empty Redis. It returns how many were stored,
// and an error only when every peer failed (some peers being down is normal here).
func (r *Replicator) PullFromPeers(ctx context.Context) (int, error) {
	body, err := json.Marshal(exportRequest{From: r.cfg.Region, MaxAgeMs: r.cfg.Staleness.Milliseconds()})
	if err != nil {
		return 0, err
	}
	var (
		mu         sync.Mutex
		total      int
		errs       []error
		unanswered int64
		asked      int
		wg         sync.WaitGroup
	)
	for _, p := range r.cfg.Peers() {
		if p.Name == r.cfg.Region {
			continue
		}
		asked++
		wg.Go(func() {
			n, err := r.pullOne(ctx, p, body)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil {
				errs = append(errs, err)
				var ne net.Error
				if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) {
					unanswered++
				}
			}
		})
	}
	wg.Wait()
	r.pulled.Add(int64(total))
	r.pullUnanswered.Store(unanswered)
	if asked > 0 && len(errs) == asked {
		return total, fmt.Errorf("cache pull: every peer failed: %w", errors.Join(errs...))
	}
	for _, err := range errs {
		r.log.Warn("cache pull from a peer failed", "err", err)
	}
	return total, nil
}

func (r *Replicator) pullOne(ctx context.Context, p Peer, body []byte) (int, error) {
	var resp exportResponse
	if err := r.post(ctx, p, ExportPath, body, &resp); err != nil {
		return 0, err
	}
	valid := resp.Entries[:0]
	for i, e := range resp.Entries {
		if err := validEntry(i, e); err != nil {
			r.log.Warn("cache pull: invalid entry skipped", "peer", p.Name, "err", err)
			continue
		}
		valid = append(valid, e)
	}
	n, _, err := r.accept(ctx, valid)
	if err != nil {
		return n, fmt.Errorf("peer %s: store: %w", p.Name, err)
	}
	return n, nil
}
