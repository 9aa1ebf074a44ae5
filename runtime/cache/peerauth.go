package cache

import (
	"container/heap"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Peer protocol v2 (docs/ARCHITECTURE.md): every peer request, and the
// export answer, carries these headers; the signature is Ed25519 by the
// sender's own key over Envelope.canonical, so the key names the sender.
const (
	ProtocolVersion = "peer-v2"
	HeaderFrom      = "X-Peer-From"      // sender region
	HeaderTo        = "X-Peer-To"        // receiver region
	HeaderTimestamp = "X-Peer-Timestamp" // sender's clock, unix ms
	HeaderNonce     = "X-Peer-Nonce"     // 16 random bytes, hex
	HeaderSignature = "X-Peer-Signature" // base64 Ed25519 signature
	// AnswerMethod stands for the HTTP method in an answer's canonical
	// string, so a signed answer can never pass as a signed request.
	AnswerMethod = "ANSWER"
	nonceBytes   = 16
)

// Refusal codes of the peer endpoints (each answered 401 unless noted).
const (
	CodeBadSignature     = "BAD_SIGNATURE"     // unsigned, malformed headers or forged
	CodeUnknownPeer      = "UNKNOWN_PEER"      // X-Peer-From has no public key here
	CodeWrongRecipient   = "WRONG_RECIPIENT"   // X-Peer-To is another region
	CodeStaleRequest     = "STALE_REQUEST"     // timestamp outside ±ReplayWindow
	CodeReplayed         = "REPLAYED"          // nonce already seen within the window
	CodeSenderMismatch   = "SENDER_MISMATCH"   // body "from" != X-Peer-From
	CodeReplayCacheFull  = "REPLAY_CACHE_FULL" // 503: no room to remember the nonce
	defaultReplayWindow  = 2 * time.Minute
	maxReplayWindow      = time.Hour
	defaultNonceCapacity = 65536
)

// Envelope is what a peer message's signature covers besides the body.
type Envelope struct {
	Method      string // HTTP method, or AnswerMethod for an answer
	Path        string // WarmupPath or ExportPath (the endpoint, not the URL a proxy sees)
	From, To    string // sender and receiver regions
	TimestampMs int64  // sender's clock, unix ms
	Nonce       string // 32 hex digits; an answer repeats its request's
}

// canonical is the signed string: one field a line, the body by its SHA-256.
func (e Envelope) canonical(body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte(ProtocolVersion + "\n" + e.Method + "\n" + e.Path + "\n" + e.From + "\n" + e.To + "\n" +
		strconv.FormatInt(e.TimestampMs, 10) + "\n" + e.Nonce + "\n" + hex.EncodeToString(sum[:]))
}

// SignHeaders signs e and body with key and sets the five peer headers on h.
func SignHeaders(h http.Header, key ed25519.PrivateKey, e Envelope, body []byte) {
	h.Set(HeaderFrom, e.From)
	h.Set(HeaderTo, e.To)
	h.Set(HeaderTimestamp, strconv.FormatInt(e.TimestampMs, 10))
	h.Set(HeaderNonce, e.Nonce)
	h.Set(HeaderSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(key, e.canonical(body))))
}

// NewNonce returns 16 fresh random bytes, hex-encoded.
func NewNonce() string {
	var b [nonceBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b[:])
}

// signedHeaders is what readEnvelope parsed: the envelope and its signature.
type signedHeaders struct {
	env   Envelope
	nonce [nonceBytes]byte
	sig   []byte
}

// readEnvelope parses the peer headers of h (method and path are the
// caller's); any missing or malformed one is an error (an unsigned request).
func readEnvelope(h http.Header, method, path string) (signedHeaders, error) {
	s := signedHeaders{env: Envelope{Method: method, Path: path, From: h.Get(HeaderFrom), To: h.Get(HeaderTo), Nonce: h.Get(HeaderNonce)}}
	sig := h.Get(HeaderSignature)
	ts := h.Get(HeaderTimestamp)
	switch {
	case sig == "":
		return s, errors.New(HeaderSignature + " missing")
	case s.env.From == "" || s.env.To == "" || ts == "" || s.env.Nonce == "":
		return s, fmt.Errorf("%s, %s, %s and %s are required", HeaderFrom, HeaderTo, HeaderTimestamp, HeaderNonce)
	}
	var err error
	if s.env.TimestampMs, err = strconv.ParseInt(ts, 10, 64); err != nil {
		return s, fmt.Errorf("%s: not unix milliseconds", HeaderTimestamp)
	}
	// Length first: hex.Decode writes len(src)/2 bytes into the fixed array.
	if len(s.env.Nonce) != 2*nonceBytes {
		return s, fmt.Errorf("%s: want %d hex digits", HeaderNonce, 2*nonceBytes)
	}
	if _, err := hex.Decode(s.nonce[:], []byte(s.env.Nonce)); err != nil {
		return s, fmt.Errorf("%s: want %d hex digits", HeaderNonce, 2*nonceBytes)
	}
	if s.sig, err = base64.StdEncoding.DecodeString(sig); err != nil || len(s.sig) != ed25519.SignatureSize {
		return s, fmt.Errorf("%s: want a base64 Ed25519 signature", HeaderSignature)
	}
	return s, nil
}

func (s signedHeaders) verify(pub ed25519.PublicKey, body []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, s.env.canonical(body), s.sig)
}

// withinWindow reports whether a sender timestamp lies within ±window of
// now. This is the one place the protocol compares two regions' clocks, so
// the window must exceed their disagreement. No overflow: now±window is far
// from the int64 limits, and ts is only compared.
func withinWindow(tsMs int64, now time.Time, window time.Duration) bool {
	n, w := now.UnixMilli(), window.Milliseconds()
	return tsMs >= n-w && tsMs <= n+w
}

// nonceCache remembers the nonces of verified requests until they could no
// longer pass the timestamp check (sender timestamp + window, on our clock).
// It is bounded: when full of live nonces it refuses rather than evict one,
// because forgetting a live nonce would let its request be replayed.
type nonceCache struct {
	mu   sync.Mutex
	max  int
	seen map[[nonceBytes]byte]struct{}
	exp  expiryHeap
}

func newNonceCache(max int) *nonceCache {
	return &nonceCache{max: max, seen: map[[nonceBytes]byte]struct{}{}}
}

type nonceVerdict int

const (
	nonceFresh nonceVerdict = iota
	nonceReplayed
	nonceFull
)

// add records n, alive until expiresMs; nowMs drops the expired first.
// When full it also returns how long until the oldest nonce expires.
func (c *nonceCache) add(n [nonceBytes]byte, expiresMs, nowMs int64) (nonceVerdict, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.exp) > 0 && c.exp[0].expiresMs < nowMs {
		delete(c.seen, heap.Pop(&c.exp).(nonceExpiry).nonce)
	}
	if _, ok := c.seen[n]; ok {
		return nonceReplayed, 0
	}
	if len(c.seen) >= c.max {
		return nonceFull, time.Duration(c.exp[0].expiresMs-nowMs+1) * time.Millisecond
	}
	c.seen[n] = struct{}{}
	heap.Push(&c.exp, nonceExpiry{nonce: n, expiresMs: expiresMs})
	return nonceFresh, 0
}

func (c *nonceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

type nonceExpiry struct {
	nonce     [nonceBytes]byte
	expiresMs int64
}

// expiryHeap is a min-heap by expiry (container/heap).
type expiryHeap []nonceExpiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expiresMs < h[j].expiresMs }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(nonceExpiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// refusal is one reason a peer request is refused.
type refusal struct {
	status     int
	code       string
	msg        string
	retryAfter time.Duration // for a 503: when the oldest nonce expires
}

func (f *refusal) Error() string { return f.code + ": " + f.msg }

func refuse(code, format string, a ...any) *refusal {
	return &refusal{status: http.StatusUnauthorized, code: code, msg: fmt.Sprintf(format, a...)}
}
