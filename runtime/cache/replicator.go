package cache

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Wire constants (docs/ARCHITECTURE.md); the peer headers are in peerauth.go.
const (
	MaxBodyBytes = 1 << 20
	WarmupPath   = "/cache/warmup"
	ExportPath   = "/cache/export"
	maxKeyLen    = 1024
	// maxAnswerBytes bounds an export answer, which may carry many entries.
	maxAnswerBytes = 16 * MaxBodyBytes
)

// Peer is another region's runtime, reachable at URL (base, no path).
type Peer struct{ Name, URL string }

// ReplicatorConfig configures NewReplicator. Zero values take the documented defaults.
type ReplicatorConfig struct {
	Region string // required
	// Key is this region's Ed25519 signing key (warmup_key): required.
	Key ed25519.PrivateKey
	// PeerKeys maps each region to its Ed25519 public key
	// (regions[].warmup_public_key). Requests are accepted only from the
	// regions listed here, verified with their own key; self's entry, when
	// present, must be Key's public half.
	PeerKeys map[string]ed25519.PublicKey
	// ReplayWindow: a request whose sender timestamp is further than this
	// from our clock is refused, and a nonce is remembered this long past its
	// timestamp. It must exceed the regions' clock disagreement. Default 2m,
	// at most 1h.
	ReplayWindow time.Duration
	// NonceCacheSize bounds the remembered nonces; when full of live ones,
	// requests are refused 503 (never evicted). Default 65536.
	NonceCacheSize int

	Staleness time.Duration // entries older than this are dropped; default 30s (the seed's bound)
	Peers     func() []Peer // current peers; entries named Region are skipped
	Client    *http.Client  // default: &http.Client{Timeout: SendTimeout}
	Cache     *Cache        // required
	Now       func() time.Time
	QueueSize int // Broadcast queue bound; default 1024
	Logger    *slog.Logger

	// ValidValue, when set, judges a peer's entry value before it is
	// stored (the agent refuses replies that carry data-changing tool
	// calls): a valid signature proves who sent an entry, not that the
	// sender was not compromised. Refused entries are dropped and counted
	// as poisoned.
	ValidValue func(key, value string) error

	BatchSize   int           // entries per warmup POST; default 100
	SendTimeout time.Duration // per POST deadline; default 2s
	ExportLimit int           // max entries an export answer carries; default 1000
}

// ReplicatorStats are cumulative counters. Each refused peer request is
// counted once, under the first check it failed.
type ReplicatorStats struct {
	Sent                    int64 // entries delivered to a peer (counted per peer)
	SendErrors              int64 // failed POSTs to a peer
	Received                int64 // entries accepted from warmups
	RejectedSignature       int64 // requests unsigned, with malformed peer headers, or forged (BAD_SIGNATURE)
	RejectedUnknownPeer     int64 // X-Peer-From without a public key here, or this region itself (UNKNOWN_PEER)
	RejectedWrongRecipient  int64 // signed for another region (WRONG_RECIPIENT)
	RejectedStaleRequest    int64 // timestamp outside ±ReplayWindow (STALE_REQUEST)
	RejectedReplayed        int64 // nonce seen before within the window (REPLAYED)
	RejectedSenderMismatch  int64 // body "from" differs from the signed sender (SENDER_MISMATCH)
	RejectedReplayCacheFull int64 // refused 503 for want of room to remember a nonce (REPLAY_CACHE_FULL)
	RejectedBadAnswer       int64 // export answers refused by PullFromPeers (unsigned, forged, not for our request)
	RejectedStale           int64 // entries dropped as older than Staleness (or past their TTL)
	RejectedInvalid         int64 // requests refused as malformed or too large
	RejectedPoisoned        int64 // entries whose value ValidValue refused
	Pulled                  int64 // entries stored by PullFromPeers
	// PullUnansweredPeers is how many peers did not answer the last
	// PullFromPeers (unreachable, or not within the send timeout); a peer
	// that answered with an error is not counted here.
	PullUnansweredPeers int64
	Exported            int64 // entries handed out by the export endpoint
	Dropped             int64 // Broadcast entries dropped because the queue was full
}

// Replicator broadcasts new cache entries to peers and accepts theirs.
type Replicator struct {
	cfg    ReplicatorConfig
	queue  chan Entry
	log    *slog.Logger
	nonces *nonceCache
	// store, when set (by tests that watch what accept would write), writes
	// each accepted entry; nil: Cache.storeMany, one round trip per request.
	store func(context.Context, Entry) (bool, error)

	startOnce sync.Once
	done      chan struct{}

	sent, sendErrors, received, pulled, pullUnanswered, exported, dropped           atomic.Int64
	rejectedSig, rejectedUnknown, rejectedWrongTo, rejectedStaleReq, rejectedReplay atomic.Int64
	rejectedMismatch, rejectedFull, rejectedAnswer, rejectedStale, rejectedInvalid  atomic.Int64
	rejectedPoisoned                                                                atomic.Int64
}

// NewReplicator validates cfg and applies defaults.
func NewReplicator(cfg ReplicatorConfig) (*Replicator, error) {
	switch {
	case cfg.Region == "":
		return nil, errors.New("replicator: region: required")
	case len(cfg.Key) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("replicator: warmup_key: required, an Ed25519 private key (%d bytes, got %d)", ed25519.PrivateKeySize, len(cfg.Key))
	case cfg.Cache == nil:
		return nil, errors.New("replicator: cache: required")
	case cfg.Staleness < 0:
		return nil, fmt.Errorf("replicator: cache.staleness: %v must be positive", cfg.Staleness)
	case cfg.QueueSize < 0:
		return nil, fmt.Errorf("replicator: queue_size: %d must be positive", cfg.QueueSize)
	case cfg.ReplayWindow < 0 || cfg.ReplayWindow > maxReplayWindow:
		return nil, fmt.Errorf("replicator: cache.replay_window: %v must be positive and at most %v", cfg.ReplayWindow, maxReplayWindow)
	case cfg.NonceCacheSize < 0:
		return nil, fmt.Errorf("replicator: cache.nonce_cache_size: %d must be positive", cfg.NonceCacheSize)
	}
	for name, pub := range cfg.PeerKeys {
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("replicator: regions[%s].warmup_public_key: want %d bytes, got %d", name, ed25519.PublicKeySize, len(pub))
		}
		if name == cfg.Region && !pub.Equal(cfg.Key.Public()) {
			return nil, fmt.Errorf("replicator: regions[%s].warmup_public_key: does not match warmup_key", name)
		}
	}
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = defaultReplayWindow
	}
	if cfg.NonceCacheSize == 0 {
		cfg.NonceCacheSize = defaultNonceCapacity
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
	return &Replicator{
		cfg: cfg, queue: make(chan Entry, cfg.QueueSize), log: log.With("region", cfg.Region), done: make(chan struct{}),
		nonces: newNonceCache(cfg.NonceCacheSize),
	}, nil
}

// Stats returns the counters.
func (r *Replicator) Stats() ReplicatorStats {
	return ReplicatorStats{
		Sent: r.sent.Load(), SendErrors: r.sendErrors.Load(), Received: r.received.Load(),
		RejectedSignature: r.rejectedSig.Load(), RejectedUnknownPeer: r.rejectedUnknown.Load(),
		RejectedWrongRecipient: r.rejectedWrongTo.Load(), RejectedStaleRequest: r.rejectedStaleReq.Load(),
		RejectedReplayed: r.rejectedReplay.Load(), RejectedSenderMismatch: r.rejectedMismatch.Load(),
		RejectedReplayCacheFull: r.rejectedFull.Load(), RejectedBadAnswer: r.rejectedAnswer.Load(),
		RejectedStale: r.rejectedStale.Load(), RejectedInvalid: r.rejectedInvalid.Load(), RejectedPoisoned: r.rejectedPoisoned.Load(),
		Pulled: r.pulled.Load(), PullUnansweredPeers: r.pullUnanswered.Load(),
		Exported: r.exported.Load(), Dropped: r.dropped.Load(),
	}
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

// send POSTs one batch to every peer in parallel, each signed for its recipient.
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
			if _, _, _, err := r.post(ctx, p, WarmupPath, body); err != nil {
				r.sendErrors.Add(1)
				r.log.Warn("cache warmup send failed", "peer", p.Name, "entries", len(batch), "err", err)
				return
			}
			r.sent.Add(int64(len(batch)))
		})
	}
	wg.Wait()
}

// post sends body signed for peer p (a fresh nonce each call) and returns a
// 200 answer's headers and body, and the nonce it sent.
func (r *Replicator) post(ctx context.Context, p Peer, path string, body []byte) (http.Header, []byte, string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.SendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(p.URL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, "", fmt.Errorf("peer %s url: %w", p.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	nonce := NewNonce()
	SignHeaders(req.Header, r.cfg.Key, Envelope{
		Method: http.MethodPost, Path: path, From: r.cfg.Region, To: p.Name, TimestampMs: r.cfg.Now().UnixMilli(), Nonce: nonce,
	}, body)
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return nil, nil, "", err
	}
	defer resp.Body.Close()
	lr := io.LimitReader(resp.Body, maxAnswerBytes+1)
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(lr, 512))
		return nil, nil, "", fmt.Errorf("peer %s %s: HTTP %d: %s", p.Name, path, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	ans, err := io.ReadAll(lr)
	if err != nil {
		return nil, nil, "", fmt.Errorf("peer %s %s: read answer: %w", p.Name, path, err)
	}
	if len(ans) > maxAnswerBytes {
		return nil, nil, "", fmt.Errorf("peer %s %s: answer exceeds %d bytes", p.Name, path, maxAnswerBytes)
	}
	return resp.Header, ans, nonce, nil
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
//
// Its callers validate entries first; accept checks them again so that no
// input, however it arrives, turns into an overflowed duration: an entry is
// never dated after now and never outlives this cache's own TTL.
func (r *Replicator) accept(ctx context.Context, es []wireEntry) (int, int, error) {
	stored, stale, invalid, poisoned := 0, 0, 0, 0
	var batch []Entry // stored in one round trip unless a test watches each entry
	now := r.cfg.Now()
	defer func() {
		r.rejectedStale.Add(int64(stale))
		r.rejectedInvalid.Add(int64(invalid))
		r.rejectedPoisoned.Add(int64(poisoned))
	}()
	for i, w := range es {
		if validEntry(i, w) != nil {
			invalid++
			continue
		}
		if r.cfg.ValidValue != nil {
			if err := r.cfg.ValidValue(w.Key, w.Value); err != nil {
				poisoned++
				r.log.Warn("peer cache entry refused: poisoned value", "key", w.Key, "err", err)
				continue
			}
		}
		age := wireMs(w.AgeMs) // bounded by validEntry: no overflow, never negative
		if age > r.cfg.Staleness {
			stale++
			continue
		}
		// CreatedAt is rebuilt on OUR clock from the age (never in the
		// future), so Store's remaining TTL is ttl-age; a peer cannot make an
		// entry outlive this cache's own TTL.
		ttl := min(wireMs(w.TTLMs), r.cfg.Cache.ttl)
		e := Entry{Key: w.Key, Value: w.Value, CreatedAt: now.Add(-age), TTL: ttl}
		if r.store == nil {
			batch = append(batch, e)
			continue
		}
		ok, err := r.store(ctx, e)
		if err != nil {
			return stored, stale, err
		}
		if ok {
			stored++
		} else {
			stale++ // outlived its TTL
		}
	}
	if len(batch) > 0 {
		n, expired, err := r.cfg.Cache.storeMany(ctx, batch)
		stored += n
		stale += expired // outlived their TTL
		if err != nil {
			return stored, stale, err
		}
	}
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

// count adds one to the counter of a refusal code.
func (r *Replicator) count(code string) {
	switch code {
	case CodeBadSignature:
		r.rejectedSig.Add(1)
	case CodeUnknownPeer:
		r.rejectedUnknown.Add(1)
	case CodeWrongRecipient:
		r.rejectedWrongTo.Add(1)
	case CodeStaleRequest:
		r.rejectedStaleReq.Add(1)
	case CodeReplayed:
		r.rejectedReplay.Add(1)
	case CodeSenderMismatch:
		r.rejectedMismatch.Add(1)
	case CodeReplayCacheFull:
		r.rejectedFull.Add(1)
	}
}

// refused answers and counts a refusal.
func (r *Replicator) refused(w http.ResponseWriter, req *http.Request, f *refusal) {
	r.count(f.code)
	r.log.Warn("cache peer request refused", "code", f.code, "reason", f.msg, "path", req.URL.Path,
		"from", req.Header.Get(HeaderFrom), "remote", req.RemoteAddr)
	r.writeErr(w, f.status, f.code, f.msg)
}

// authenticate checks a peer request's headers against its body. The
// order matters: the nonce is remembered only once the signature verified,
// so forged requests cannot fill the nonce cache.
func (r *Replicator) authenticate(h http.Header, path string, body []byte) (signedHeaders, *refusal) {
	sh, err := readEnvelope(h, http.MethodPost, path)
	if err != nil {
		return sh, refuse(CodeBadSignature, "unsigned request: %v", err)
	}
	from := sh.env.From
	pub, known := r.cfg.PeerKeys[from]
	if !known || from == r.cfg.Region {
		return sh, refuse(CodeUnknownPeer, "%s %q is not a peer of %s", HeaderFrom, from, r.cfg.Region)
	}
	if !sh.verify(pub, body) {
		return sh, refuse(CodeBadSignature, "%s does not verify with the public key of %s", HeaderSignature, from)
	}
	if sh.env.To != r.cfg.Region {
		return sh, refuse(CodeWrongRecipient, "signed for %s, this is %s", sh.env.To, r.cfg.Region)
	}
	now := r.cfg.Now()
	if !withinWindow(sh.env.TimestampMs, now, r.cfg.ReplayWindow) {
		return sh, refuse(CodeStaleRequest, "%s %d is more than %v from this region's clock (%d)",
			HeaderTimestamp, sh.env.TimestampMs, r.cfg.ReplayWindow, now.UnixMilli())
	}
	// The nonce need be kept only while its timestamp still passes the
	// window check: until timestamp + window on our clock.
	switch v, retry := r.nonces.add(sh.nonce, sh.env.TimestampMs+r.cfg.ReplayWindow.Milliseconds(), now.UnixMilli()); v {
	case nonceReplayed:
		return sh, refuse(CodeReplayed, "%s %s already seen", HeaderNonce, sh.env.Nonce)
	case nonceFull:
		// Fail closed: evicting a live nonce would reopen its replay.
		return sh, &refusal{status: http.StatusServiceUnavailable, code: CodeReplayCacheFull, retryAfter: retry,
			msg: fmt.Sprintf("replay cache full (%d live nonces); retry in %v", r.cfg.NonceCacheSize, retry)}
	}
	return sh, nil
}

// readSigned enforces method, size limit and the peer signature; it writes
// the error answer itself.
func (r *Replicator) readSigned(w http.ResponseWriter, req *http.Request, path string) ([]byte, signedHeaders, bool) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.writeErr(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use POST")
		return nil, signedHeaders{}, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBodyBytes))
	if err != nil {
		r.rejectedInvalid.Add(1)
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			r.writeErr(w, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", fmt.Sprintf("body exceeds %d bytes", MaxBodyBytes))
		} else {
			r.writeErr(w, http.StatusBadRequest, "BAD_REQUEST", "read body: "+err.Error())
		}
		return nil, signedHeaders{}, false
	}
	sh, f := r.authenticate(req.Header, path, body)
	if f != nil {
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((f.retryAfter+time.Second-1)/time.Second), 10))
		}
		r.refused(w, req, f)
		return nil, sh, false
	}
	return body, sh, true
}

// senderMatches refuses a body whose "from" is not the signed sender: a
// region signs only for itself.
func (r *Replicator) senderMatches(w http.ResponseWriter, req *http.Request, bodyFrom string, sh signedHeaders) bool {
	if bodyFrom == sh.env.From {
		return true
	}
	r.refused(w, req, refuse(CodeSenderMismatch, "body from %q, signed by %s", bodyFrom, sh.env.From))
	return false
}

// WarmupHandler serves POST /cache/warmup.
func (r *Replicator) WarmupHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, sh, ok := r.readSigned(w, req, WarmupPath)
		if !ok {
			return
		}
		wr, err := decodeWarmup(body)
		if err != nil {
			r.rejectedInvalid.Add(1)
			r.writeErr(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
			return
		}
		if !r.senderMatches(w, req, wr.From, sh) {
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

// ExportHandler serves POST /cache/export: recent entries for a peer with a
// cold cache. The answer is signed by this region for the requester and
// carries the request's nonce, so it cannot be replayed to another pull.
func (r *Replicator) ExportHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, sh, ok := r.readSigned(w, req, ExportPath)
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
		if !r.senderMatches(w, req, er.From, sh) {
			return
		}
		es, err := r.cfg.Cache.Recent(req.Context(), wireMs(er.MaxAgeMs), r.cfg.ExportLimit)
		if err != nil {
			r.writeErr(w, http.StatusServiceUnavailable, "CACHE_UNAVAILABLE", err.Error())
			return
		}
		ans, err := json.Marshal(exportResponse{From: r.cfg.Region, Entries: r.toWire(es)})
		if err != nil {
			r.writeErr(w, http.StatusInternalServerError, "INTERNAL", err.Error())
			return
		}
		r.exported.Add(int64(len(es)))
		SignHeaders(w.Header(), r.cfg.Key, Envelope{
			Method: AnswerMethod, Path: ExportPath, From: r.cfg.Region, To: sh.env.From,
			TimestampMs: r.cfg.Now().UnixMilli(), Nonce: sh.env.Nonce,
		}, ans)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Served-By", r.cfg.Region)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(ans)
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
		mu              sync.Mutex
		total           int
		errs            []error
		unansweredPeers int64
		asked           int
		wg              sync.WaitGroup
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
				if unanswered(err) {
					unansweredPeers++
				}
			}
		})
	}
	wg.Wait()
	r.pulled.Add(int64(total))
	r.pullUnanswered.Store(unansweredPeers)
	if asked > 0 && len(errs) == asked {
		return total, fmt.Errorf("cache pull: every peer failed: %w", errors.Join(errs...))
	}
	for _, err := range errs {
		r.log.Warn("cache pull from a peer failed", "err", err)
	}
	return total, nil
}

// verifyAnswer checks an export answer: signed by the peer asked, with its
// own key, for this region, echoing the nonce of our request (which makes
// it fresh: no clock is compared here, its timestamp is not judged).
func (r *Replicator) verifyAnswer(peer, nonce string, h http.Header, ans []byte) (exportResponse, error) {
	sh, err := readEnvelope(h, AnswerMethod, ExportPath)
	if err != nil {
		return exportResponse{}, fmt.Errorf("unsigned answer: %w", err)
	}
	pub, ok := r.cfg.PeerKeys[peer]
	switch {
	case !ok:
		return exportResponse{}, fmt.Errorf("no public key for %s", peer)
	case sh.env.From != peer:
		return exportResponse{}, fmt.Errorf("answer signed as %q, asked %s", sh.env.From, peer)
	case !sh.verify(pub, ans):
		return exportResponse{}, fmt.Errorf("%s does not verify with the public key of %s", HeaderSignature, peer)
	case sh.env.To != r.cfg.Region:
		return exportResponse{}, fmt.Errorf("answer signed for %q, this is %s", sh.env.To, r.cfg.Region)
	case sh.env.Nonce != nonce:
		return exportResponse{}, fmt.Errorf("answer to another request (nonce %s, sent %s)", sh.env.Nonce, nonce)
	}
	var resp exportResponse
	if err := decodeStrict(ans, &resp); err != nil {
		return exportResponse{}, fmt.Errorf("decode: %w", err)
	}
	if resp.From != peer {
		return exportResponse{}, fmt.Errorf("body from %q, signed by %s", resp.From, peer)
	}
	return resp, nil
}

// unanswered reports a pull error that means the peer did not answer in
// time (unreachable, or past the send timeout), as opposed to a peer that
// answered with an error, or entries this region could not store.
func unanswered(err error) bool {
	var ne net.Error
	var se *storeError
	return !errors.As(err, &se) && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne))
}

// storeError is a pull whose peer answered but whose entries this region
// could not store in time: the peer is not "unanswered".
type storeError struct {
	peer string
	err  error
}

func (e *storeError) Error() string { return "peer " + e.peer + ": store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func (r *Replicator) pullOne(ctx context.Context, p Peer, body []byte) (int, error) {
	h, ans, nonce, err := r.post(ctx, p, ExportPath, body)
	if err != nil {
		return 0, err
	}
	resp, err := r.verifyAnswer(p.Name, nonce, h, ans)
	if err != nil {
		r.rejectedAnswer.Add(1)
		return 0, fmt.Errorf("peer %s %s: answer refused: %w", p.Name, ExportPath, err)
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
		return n, &storeError{peer: p.Name, err: err}
	}
	return n, nil
}
