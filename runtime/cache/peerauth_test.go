package cache

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The signed string is exactly the documented one (docs/ARCHITECTURE.md),
// and a signature made over it independently of SignHeaders verifies.
func TestCanonicalStringIsTheDocumentedOne(t *testing.T) {
	body := []byte(`{"from":"us-east-1","entries":[]}`)
	env := Envelope{Method: "POST", Path: WarmupPath, From: "us-east-1", To: "eu-west-1", TimestampMs: 1700000000123, Nonce: "00112233445566778899aabbccddeeff"}
	sum := sha256.Sum256(body)
	want := "peer-v2\nPOST\n/cache/warmup\nus-east-1\neu-west-1\n1700000000123\n00112233445566778899aabbccddeeff\n" + hex.EncodeToString(sum[:])
	if got := string(env.canonical(body)); got != want {
		t.Fatalf("canonical =\n%q\nwant\n%q", got, want)
	}
	h := http.Header{}
	SignHeaders(h, testKey("us-east-1"), env, body)
	sig, err := base64.StdEncoding.DecodeString(h.Get(HeaderSignature))
	if err != nil || !ed25519.Verify(testKey("us-east-1").Public().(ed25519.PublicKey), []byte(want), sig) {
		t.Fatalf("X-Peer-Signature does not verify over the documented string: %v", err)
	}
	if h.Get(HeaderFrom) != "us-east-1" || h.Get(HeaderTo) != "eu-west-1" || h.Get(HeaderTimestamp) != "1700000000123" || h.Get(HeaderNonce) != env.Nonce {
		t.Fatalf("headers = %v", h)
	}
	if n := NewNonce(); len(n) != 32 || n == NewNonce() {
		t.Fatalf("NewNonce = %q: want 32 fresh hex digits", n)
	}
}

// A captured signed warmup sent again is refused 401 REPLAYED, counted,
// and stores nothing the second time.
func TestWarmupReplayRefused(t *testing.T) {
	r := newRegion(t, "eu-west-1", nil, nil)
	ctx := ctxT(t)
	k := Key("m", "replayed")
	body, _ := json.Marshal(warmupRequest{From: "us-east-1", Entries: []wireEntry{{Key: k, Value: "v", AgeMs: 10, TTLMs: 60000}}})
	h := signedBy("us-east-1", "eu-west-1", WarmupPath, body)
	if code, out := postWarmup(t, r.srv.URL, body, h); code != 200 || out["accepted"] != 1.0 {
		t.Fatalf("first delivery: %d %v", code, out)
	}
	// Remove it: a replay that got through would write it again.
	if err := r.rdb.Del(ctx, k).Err(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if code, out := postWarmup(t, r.srv.URL, body, h); code != 401 || out["code"] != CodeReplayed {
			t.Fatalf("replay: %d %v, want 401 REPLAYED", code, out)
		}
	}
	if n := r.rdb.Exists(ctx, k).Val(); n != 0 {
		t.Fatal("a replayed warmup stored its entry again")
	}
	if st := r.rep.Stats(); st.RejectedReplayed != 2 || st.Received != 1 {
		t.Fatalf("stats = %+v, want 2 replays counted and 1 entry received", st)
	}
	// The same body with a fresh nonce is a new request.
	if code, _ := postWarmup(t, r.srv.URL, body, signedBy("us-east-1", "eu-west-1", WarmupPath, body)); code != 200 {
		t.Fatalf("fresh nonce: %d", code)
	}
}

// Region B, signing with its own key, cannot speak for C: neither in the
// body (SENDER_MISMATCH) nor in X-Peer-From (the signature then does not
// verify with C's key).
func TestPeerCannotSpeakForAnother(t *testing.T) {
	a := newRegion(t, "us-east-1", nil, nil)
	k := Key("m", "as-c")
	body, _ := json.Marshal(warmupRequest{From: "ap-southeast-1", Entries: []wireEntry{{Key: k, Value: "v", AgeMs: 1, TTLMs: 60000}}})
	if code, out := postWarmup(t, a.srv.URL, body, signedBy("eu-west-1", "us-east-1", WarmupPath, body)); code != 401 || out["code"] != CodeSenderMismatch {
		t.Fatalf("B signs a body from C: %d %v, want 401 SENDER_MISMATCH", code, out)
	}
	asC := signed(testKey("eu-west-1"), Envelope{Path: WarmupPath, From: "ap-southeast-1", To: "us-east-1"}, body)
	if code, out := postWarmup(t, a.srv.URL, body, asC); code != 401 || out["code"] != CodeBadSignature {
		t.Fatalf("B signs as C: %d %v, want 401 BAD_SIGNATURE", code, out)
	}
	exp, _ := json.Marshal(exportRequest{From: "ap-southeast-1", MaxAgeMs: 1000})
	if code, out := postPeer(t, a.srv.URL, ExportPath, exp, signedBy("eu-west-1", "us-east-1", ExportPath, exp)); code != 401 || out["code"] != CodeSenderMismatch {
		t.Fatalf("B asks an export for C: %d %v, want 401 SENDER_MISMATCH", code, out)
	}
	if _, ok, _ := a.cache.Get(ctxT(t), k); ok {
		t.Fatal("an entry B sent as C was stored")
	}
	if st := a.rep.Stats(); st.RejectedSenderMismatch != 2 || st.RejectedSignature != 1 || st.Received != 0 {
		t.Fatalf("stats = %+v", st)
	}
	// A region this one has no key of, and this region itself, are not peers.
	for _, from := range []string{"zz-unknown-1", "us-east-1"} {
		b, _ := json.Marshal(warmupRequest{From: from, Entries: []wireEntry{}})
		if code, out := postWarmup(t, a.srv.URL, b, signedBy(from, "us-east-1", WarmupPath, b)); code != 401 || out["code"] != CodeUnknownPeer {
			t.Fatalf("from %s: %d %v, want 401 UNKNOWN_PEER", from, code, out)
		}
	}
	if st := a.rep.Stats(); st.RejectedUnknownPeer != 2 {
		t.Fatalf("unknown peers counted %d, want 2", st.RejectedUnknownPeer)
	}
}

// A request A signed for B, delivered to C, is refused there: the
// recipient is signed, so it cannot be redirected either.
func TestWarmupForAnotherRecipientRefused(t *testing.T) {
	c := newRegion(t, "ap-southeast-1", nil, nil)
	k := Key("m", "for-b")
	body, _ := json.Marshal(warmupRequest{From: "us-east-1", Entries: []wireEntry{{Key: k, Value: "v", AgeMs: 1, TTLMs: 60000}}})
	h := signedBy("us-east-1", "eu-west-1", WarmupPath, body)
	if code, out := postWarmup(t, c.srv.URL, body, h); code != 401 || out["code"] != CodeWrongRecipient {
		t.Fatalf("A→B delivered to C: %d %v, want 401 WRONG_RECIPIENT", code, out)
	}
	h.Set(HeaderTo, "ap-southeast-1") // rewritten in flight
	if code, out := postWarmup(t, c.srv.URL, body, h); code != 401 || out["code"] != CodeBadSignature {
		t.Fatalf("X-Peer-To rewritten: %d %v, want 401 BAD_SIGNATURE", code, out)
	}
	if _, ok, _ := c.cache.Get(ctxT(t), k); ok {
		t.Fatal("C stored a warmup meant for B")
	}
	if st := c.rep.Stats(); st.RejectedWrongRecipient != 1 || st.RejectedSignature != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// Only a timestamp within ±replay_window of the receiver's clock passes;
// the bounds are inclusive, and no number, however large, breaks the check.
func TestWarmupTimestampOutsideWindowRefused(t *testing.T) {
	clk := newClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	r := newRegion(t, "eu-west-1", clk.Now, func(c *ReplicatorConfig) { c.ReplayWindow = 2 * time.Minute })
	body, _ := json.Marshal(warmupRequest{From: "us-east-1", Entries: []wireEntry{}})
	now := clk.Now().UnixMilli()
	w := (2 * time.Minute).Milliseconds()
	for _, tc := range []struct {
		ts   int64
		code int
	}{
		{now - w - 1, 401}, {now + w + 1, 401}, {0, 401}, {-1, 401}, {math.MaxInt64, 401}, {math.MinInt64, 401},
		{now - w, 200}, {now + w, 200}, {now - 5000, 200}, {now + 5000, 200}, // a peer 5 s ahead or behind
	} {
		h := http.Header{} // signed here: signed() would take 0 for "now"
		SignHeaders(h, testKey("us-east-1"), Envelope{Method: "POST", Path: WarmupPath, From: "us-east-1", To: "eu-west-1", TimestampMs: tc.ts, Nonce: NewNonce()}, body)
		code, out := postWarmup(t, r.srv.URL, body, h)
		if code != tc.code || (code == 401 && out["code"] != CodeStaleRequest) {
			t.Errorf("timestamp now%+d ms: %d %v, want %d", tc.ts-now, code, out, tc.code)
		}
	}
	if st := r.rep.Stats(); st.RejectedStaleRequest != 6 {
		t.Fatalf("stale requests counted %d, want 6", st.RejectedStaleRequest)
	}
}

// A signature by another key, or one over other fields, is refused.
func TestWarmupForgedSignatureRefused(t *testing.T) {
	r := newRegion(t, "eu-west-1", nil, nil)
	k := Key("m", "forged")
	body, _ := json.Marshal(warmupRequest{From: "us-east-1", Entries: []wireEntry{{Key: k, Value: "poison", AgeMs: 1, TTLMs: 60000}}})
	byImpostor := signed(testKey("impostor"), Envelope{Path: WarmupPath, From: "us-east-1", To: "eu-west-1"}, body)
	zero := signedBy("us-east-1", "eu-west-1", WarmupPath, body)
	zero.Set(HeaderSignature, base64.StdEncoding.EncodeToString(make([]byte, ed25519.SignatureSize)))
	otherPath := signedBy("us-east-1", "eu-west-1", ExportPath, body) // signed for the export endpoint
	newerTs := signedBy("us-east-1", "eu-west-1", WarmupPath, body)
	newerTs.Set(HeaderTimestamp, strconv.FormatInt(time.Now().UnixMilli()+1, 10))
	otherNonce := signedBy("us-east-1", "eu-west-1", WarmupPath, body)
	otherNonce.Set(HeaderNonce, NewNonce())
	for name, h := range map[string]http.Header{
		"another key": byImpostor, "zero signature": zero, "signed for /cache/export": otherPath,
		"timestamp changed": newerTs, "nonce changed": otherNonce,
	} {
		if code, out := postWarmup(t, r.srv.URL, body, h); code != 401 || out["code"] != CodeBadSignature {
			t.Errorf("%s: %d %v, want 401 BAD_SIGNATURE", name, code, out)
		}
	}
	if _, ok, _ := r.cache.Get(ctxT(t), k); ok {
		t.Fatal("a forged warmup was stored")
	}
	if st := r.rep.Stats(); st.RejectedSignature != 5 || r.rep.nonces.len() != 0 {
		t.Fatalf("stats = %+v, nonces kept %d: forged requests must not reach the nonce cache", st, r.rep.nonces.len())
	}
}

// A nonce cache full of live nonces refuses (503 REPLAY_CACHE_FULL,
// counted) rather than forget one; forged requests never fill it; expired
// nonces make room.
func TestNonceCacheFullFailsClosed(t *testing.T) {
	clk := newClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	r := newRegion(t, "eu-west-1", clk.Now, func(c *ReplicatorConfig) { c.NonceCacheSize, c.ReplayWindow = 2, time.Minute })
	req := func(key string) ([]byte, http.Header) {
		b, _ := json.Marshal(warmupRequest{From: "us-east-1", Entries: []wireEntry{{Key: Key("m", key), Value: "v", AgeMs: 1, TTLMs: 60000}}})
		return b, signed(testKey("us-east-1"), Envelope{Path: WarmupPath, From: "us-east-1", To: "eu-west-1", TimestampMs: clk.Now().UnixMilli()}, b)
	}
	for range 5 {
		b, _ := req("forged")
		h := signed(testKey("impostor"), Envelope{Path: WarmupPath, From: "us-east-1", To: "eu-west-1", TimestampMs: clk.Now().UnixMilli()}, b)
		if code, _ := postWarmup(t, r.srv.URL, b, h); code != 401 {
			t.Fatalf("forged: %d", code)
		}
	}
	for _, k := range []string{"a", "b"} {
		b, h := req(k)
		if code, out := postWarmup(t, r.srv.URL, b, h); code != 200 {
			t.Fatalf("request %s: %d %v (forged requests took room?)", k, code, out)
		}
	}
	b3, h3 := req("c")
	hreq, _ := http.NewRequest(http.MethodPost, r.srv.URL+WarmupPath, bytes.NewReader(b3))
	hreq.Header = h3
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 503 || out["code"] != CodeReplayCacheFull || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request with room for 2: %d %v Retry-After %q, want 503 REPLAY_CACHE_FULL", resp.StatusCode, out, resp.Header.Get("Retry-After"))
	}
	if _, ok, _ := r.cache.Get(ctxT(t), Key("m", "c")); ok {
		t.Fatal("a request refused for a full replay cache was stored")
	}
	if st := r.rep.Stats(); st.RejectedReplayCacheFull != 1 || st.Received != 2 {
		t.Fatalf("stats = %+v", st)
	}
	// Once the window has passed the old nonces expire: the refused request
	// is now stale, and a fresh one is accepted.
	clk.Advance(time.Minute + time.Millisecond)
	if code, out := postWarmup(t, r.srv.URL, b3, h3); code != 401 || out["code"] != CodeStaleRequest {
		t.Fatalf("old request after the window: %d %v, want 401 STALE_REQUEST", code, out)
	}
	b4, h4 := req("d")
	if code, out := postWarmup(t, r.srv.URL, b4, h4); code != 200 {
		t.Fatalf("fresh request after expiry: %d %v", code, out)
	}
}

// The nonce cache drops entries by expiry, not insertion order.
func TestNonceCacheExpiresByTimestamp(t *testing.T) {
	c := newNonceCache(3)
	n := func(b byte) [nonceBytes]byte { return [nonceBytes]byte{b} }
	for i, exp := range []int64{300, 100, 200} {
		if v, _ := c.add(n(byte(i)), exp, 0); v != nonceFresh {
			t.Fatalf("add %d: %v", i, v)
		}
	}
	if v, retry := c.add(n(9), 400, 100); v != nonceFull || retry != time.Millisecond {
		t.Fatalf("full at 100 (oldest expires 100, kept through it): %v %v", v, retry)
	}
	if v, _ := c.add(n(1), 500, 100); v != nonceReplayed {
		t.Fatalf("nonce 1 at its expiry ms: %v, want replayed", v)
	}
	if v, _ := c.add(n(9), 400, 101); v != nonceFresh || c.len() != 3 {
		t.Fatalf("after the oldest expired: %v len %d", v, c.len())
	}
	if v, _ := c.add(n(1), 500, 101); v != nonceFull {
		t.Fatalf("re-adding expired nonce 1 into a full cache: %v", v)
	}
	if v, _ := c.add(n(1), 500, 201); v != nonceFresh {
		t.Fatalf("nonce 1 after 200 expired too: %v", v)
	}
}

// answerProxy stands between a puller and the real exporter and alters
// the answer as mode says.
type answerProxy struct {
	upstream string
	mu       sync.Mutex
	mode     string
	recorded map[string]recordedAnswer // by the region it answered
}

type recordedAnswer struct {
	h    http.Header
	body []byte
}

func (p *answerProxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	in, _ := io.ReadAll(req.Body)
	out, _ := http.NewRequest(req.Method, p.upstream+req.URL.Path, bytes.NewReader(in))
	out.Header = req.Header.Clone()
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	h := resp.Header.Clone()
	switch p.mode {
	case "record":
		p.recorded[h.Get(HeaderTo)] = recordedAnswer{h, body}
	case "replay": // an answer to an earlier request of the same region
		a := p.recorded[req.Header.Get(HeaderFrom)]
		h, body = a.h.Clone(), a.body
	case "replay another's": // an answer eu gave ap
		a := p.recorded["ap-southeast-1"]
		h, body = a.h.Clone(), a.body
	case "tamper":
		body = bytes.Replace(body, []byte(`"value":"n"`), []byte(`"value":"X"`), 1)
	case "unsigned":
		h.Del(HeaderSignature)
	case "resigned by another region": // ap's key, claiming to be eu
		var env Envelope
		env.Method, env.Path, env.From, env.To, env.Nonce = AnswerMethod, ExportPath, h.Get(HeaderFrom), h.Get(HeaderTo), h.Get(HeaderNonce)
		env.TimestampMs, _ = strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
		SignHeaders(h, testKey("ap-southeast-1"), env, body)
	case "body from another region": // validly signed by eu, body claiming ap
		var er exportResponse
		_ = json.Unmarshal(body, &er)
		er.From = "ap-southeast-1"
		body, _ = json.Marshal(er)
		env := Envelope{Method: AnswerMethod, Path: ExportPath, From: "eu-west-1", To: h.Get(HeaderTo), Nonce: h.Get(HeaderNonce)}
		SignHeaders(h, testKey("eu-west-1"), env, body)
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// A puller refuses an export answer that was altered, is not signed by
// the peer it asked, or answers another request (an old answer replayed,
// or one given to another region): counted, nothing stored.
func TestExportAnswerTamperedOrReplayedRefused(t *testing.T) {
	warm := newRegion(t, "eu-west-1", nil, nil)
	ctx := ctxT(t)
	for i := range 3 {
		if _, err := warm.cache.Set(ctx, Key("m", fmt.Sprint("new", i)), "n"); err != nil {
			t.Fatal(err)
		}
	}
	p := &answerProxy{upstream: warm.srv.URL, mode: "record", recorded: map[string]recordedAnswer{}}
	proxy := httptest.NewServer(p)
	defer proxy.Close()
	peers := []Peer{{Name: "eu-west-1", URL: proxy.URL}}

	// Honest answers pass through the proxy; the first is kept for replay.
	us := newRegion(t, "us-east-1", nil, nil)
	us.peers.Store(&peers)
	if n, err := us.rep.PullFromPeers(ctx); err != nil || n != 3 {
		t.Fatalf("honest pull = %d, %v", n, err)
	}
	// An answer eu gave ap, kept for us.
	ap := newRegion(t, "ap-southeast-1", nil, nil)
	ap.peers.Store(&peers)
	if n, err := ap.rep.PullFromPeers(ctx); err != nil || n != 3 {
		t.Fatalf("ap's pull = %d, %v", n, err)
	}
	for _, mode := range []string{"replay", "replay another's", "tamper", "unsigned", "resigned by another region", "body from another region"} {
		p.mu.Lock()
		p.mode = mode
		p.mu.Unlock()
		cold := newRegion(t, "us-east-1", nil, nil)
		cold.peers.Store(&peers)
		n, err := cold.rep.PullFromPeers(ctx)
		if err == nil || n != 0 || !strings.Contains(err.Error(), "answer refused") {
			t.Errorf("%s: pull = %d, %v; want the answer refused", mode, n, err)
		}
		if st := cold.rep.Stats(); st.RejectedBadAnswer != 1 || st.Pulled != 0 || st.PullUnansweredPeers != 0 {
			t.Errorf("%s: stats %+v, want one bad answer counted, nothing pulled", mode, st)
		}
		if _, ok, _ := cold.cache.Get(ctx, Key("m", "new0")); ok {
			t.Errorf("%s: an entry of a refused answer was stored", mode)
		}
	}
	// The proxy being honest again, the same puller pulls.
	p.mu.Lock()
	p.mode = ""
	p.mu.Unlock()
	if n, err := us.rep.PullFromPeers(ctx); err != nil || n != 3 {
		t.Fatalf("honest pull after the refusals = %d, %v", n, err)
	}
}

// Property: whatever numbers a peer sends, accept never stores an entry
// dated after the receiver's now, nor one living longer than the cache's
// TTL, and it never panics. Seeded: a failure names its seed and inputs.
func TestAcceptDurationArithmeticProperty(t *testing.T) {
	const cacheTTL, staleness = time.Minute, 30 * time.Second
	edges := []int64{
		0, 1, -1, 2, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1,
		maxWireMs, maxWireMs + 1, maxWireMs - 1, -maxWireMs,
		staleness.Milliseconds(), staleness.Milliseconds() + 1, staleness.Milliseconds() - 1,
		cacheTTL.Milliseconds(), cacheTTL.Milliseconds() + 1, cacheTTL.Milliseconds() - 1,
		int64(math.MaxInt64 / time.Millisecond), int64(math.MaxInt64/time.Millisecond) + 1, // where ms→Duration overflows
		math.MaxInt64 / 1000, math.MaxInt32, math.MaxUint32, 1 << 62,
	}
	clocks := []time.Time{
		time.Now(), time.Unix(0, 0), time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 13))
	pick := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return edges[rng.IntN(len(edges))]
		case 1:
			return rng.Int64() - rng.Int64() // full range, both signs
		case 2:
			return rng.Int64N(2*maxWireMs) - maxWireMs/2
		default:
			return rng.Int64N(2 * cacheTTL.Milliseconds())
		}
	}
	for _, now := range clocks {
		c := New(nil, "r", cacheTTL, func() time.Time { return now })
		rep, err := NewReplicator(ReplicatorConfig{Region: "r", Key: testKey("r"), Cache: c, Staleness: staleness, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		var got []Entry
		rep.store = func(_ context.Context, e Entry) (bool, error) { got = append(got, e); return true, nil }
		for i := range 20000 {
			es := make([]wireEntry, 1+rng.IntN(4))
			for j := range es {
				es[j] = wireEntry{Key: KeyPrefix + "k", Value: "v", AgeMs: pick(), TTLMs: pick()}
			}
			got = got[:0]
			stored, _, err := rep.accept(context.Background(), es)
			if err != nil || stored != len(got) {
				t.Fatalf("seed %d, now %v, case %d %+v: stored %d, err %v, store calls %d", seed, now, i, es, stored, err, len(got))
			}
			want := 0
			for _, w := range es {
				if w.AgeMs >= 0 && w.AgeMs <= staleness.Milliseconds() && w.TTLMs > 0 && w.TTLMs <= maxWireMs {
					want++
				}
			}
			if stored != want {
				t.Fatalf("seed %d, now %v, case %d %+v: stored %d, want %d", seed, now, i, es, stored, want)
			}
			for _, e := range got {
				if e.CreatedAt.After(now) || e.TTL <= 0 || e.TTL > cacheTTL || e.TTL-now.Sub(e.CreatedAt) > cacheTTL {
					t.Fatalf("seed %d, now %v, case %d %+v: stored %+v (future, or beyond the cache TTL %v)", seed, now, i, es, e, cacheTTL)
				}
			}
		}
	}
}

// A validly signed entry from a compromised peer is judged by its value:
// ValidValue refuses it before it is stored, and it is counted as poisoned.
func TestPoisonedEntryRefusedBeforeStored(t *testing.T) {
	r := newRegion(t, "eu-west-1", nil, func(c *ReplicatorConfig) {
		c.ValidValue = func(_, v string) error {
			if strings.Contains(v, "delete_issue") {
				return errors.New("mutating")
			}
			return nil
		}
	})
	ctx := ctxT(t)
	good, bad := Key("m", "weather"), Key("m", "weather-poisoned")
	body, _ := json.Marshal(warmupRequest{From: "us-east-1", Entries: []wireEntry{
		{Key: good, Value: `{"content":"sunny"}`, AgeMs: 10, TTLMs: 60000},
		{Key: bad, Value: `{"content":"sunny","tool_calls":[{"name":"delete_issue"}]}`, AgeMs: 10, TTLMs: 60000},
	}})
	if code, out := postWarmup(t, r.srv.URL, body, signedBy("us-east-1", "eu-west-1", WarmupPath, body)); code != 200 || out["accepted"] != 1.0 {
		t.Fatalf("warmup: %d %v, want the clean entry accepted alone", code, out)
	}
	if r.rdb.Exists(ctx, bad).Val() != 0 || r.rdb.Exists(ctx, good).Val() != 1 {
		t.Fatal("the poisoned entry was stored, or the clean one was not")
	}
	if st := r.rep.Stats(); st.RejectedPoisoned != 1 {
		t.Fatalf("stats = %+v, want 1 poisoned entry counted", st)
	}
}

// A peer that answered, whose entries this region then failed to store in
// time, is not an unanswered peer: the slowness was ours.
func TestPullStoreTimeoutIsNotUnanswered(t *testing.T) {
	if !unanswered(context.DeadlineExceeded) || !unanswered(fmt.Errorf("post: %w", context.DeadlineExceeded)) {
		t.Fatal("a send past its deadline must count as unanswered")
	}
	if unanswered(&storeError{peer: "eu-west-1", err: fmt.Errorf("cache store: %w", context.DeadlineExceeded)}) {
		t.Fatal("a store that timed out after the peer answered counted as the peer's silence")
	}
	if unanswered(errors.New("peer eu-west-1 /cache/export: HTTP 500")) {
		t.Fatal("an error answer counted as silence")
	}
}
