package cache

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agentops/failover-harness/runtime/cache/redistest"
)

type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock        { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newRedis(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.ForTest(t), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestKeyNormalisesPrompt(t *testing.T) {
	a := Key("fake-llm", "  Create an   ISSUE\tplease ")
	if a != Key("fake-llm", "create an issue please") {
		t.Fatal("whitespace/case variants map to different keys")
	}
	if a == Key("other", "create an issue please") || a == Key("fake-llm", "create an issue") {
		t.Fatal("different model or prompt share a key")
	}
	if !strings.HasPrefix(a, KeyPrefix+"fake-llm:") || len(a) != len(KeyPrefix+"fake-llm:")+64 {
		t.Fatalf("key %q, want prefix + model + sha256 hex", a)
	}
}

func TestSetGetAndRemainingTTL(t *testing.T) {
	rdb := newRedis(t)
	clk := newClock(time.Now())
	c := New(rdb, "us-east-1", 10*time.Second, clk.Now)
	ctx := ctxT(t)
	k := Key("m", "hello")
	if _, ok, err := c.Get(ctx, k); ok || err != nil {
		t.Fatalf("Get on empty = %v, %v", ok, err)
	}
	e, err := c.Set(ctx, k, "world")
	if err != nil || e.TTL != 10*time.Second || !e.CreatedAt.Equal(clk.Now()) {
		t.Fatalf("Set = %+v, %v", e, err)
	}
	if v, ok, err := c.Get(ctx, k); v != "world" || !ok || err != nil {
		t.Fatalf("Get = %q %v %v", v, ok, err)
	}
	// An entry that is 4s old with a 10s TTL keeps 6s.
	k2 := Key("m", "aged")
	if err := c.Store(ctx, Entry{Key: k2, Value: "v", CreatedAt: clk.Now().Add(-4 * time.Second), TTL: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	pttl := rdb.PTTL(ctx, k2).Val()
	if pttl > 6*time.Second || pttl < 5*time.Second {
		t.Fatalf("PTTL = %v, want about 6s remaining", pttl)
	}
	// An already expired entry is dropped.
	k3 := Key("m", "dead")
	if err := c.Store(ctx, Entry{Key: k3, Value: "v", CreatedAt: clk.Now().Add(-11 * time.Second), TTL: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, k3).Val(); n != 0 {
		t.Fatal("expired entry was stored")
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRecentNewestFirstWithinAgeAndLimit(t *testing.T) {
	rdb := newRedis(t)
	clk := newClock(time.Now())
	c := New(rdb, "r", time.Minute, clk.Now)
	ctx := ctxT(t)
	for i := range 5 {
		if _, err := c.Set(ctx, Key("m", fmt.Sprint(i)), fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
		clk.Advance(10 * time.Second)
	}
	// Now ages are 50,40,30,20,10 s.
	got, err := c.Recent(ctx, 35*time.Second, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Value != "v4" || got[2].Value != "v2" {
		t.Fatalf("Recent(35s) = %+v, want v4 v3 v2", got)
	}
	if got, _ := c.Recent(ctx, time.Hour, 2); len(got) != 2 || got[0].Value != "v4" {
		t.Fatalf("Recent limit 2 = %+v", got)
	}
}

// region is one side of a replication test: its own Redis, cache, replicator and HTTP server.
type region struct {
	name  string
	rdb   *redis.Client
	cache *Cache
	rep   *Replicator
	srv   *httptest.Server
	peers atomic.Pointer[[]Peer]
}

// testRegions have key pairs every test replicator knows (testPeerKeys);
// any other name is an unknown peer.
var testRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-1"}

// testKey is region name's signing key, derived from its name so tests
// are reproducible.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testPeerKeys() map[string]ed25519.PublicKey {
	m := map[string]ed25519.PublicKey{}
	for _, n := range testRegions {
		m[n] = testKey(n).Public().(ed25519.PublicKey)
	}
	return m
}

func newRegion(t *testing.T, name string, clk func() time.Time, mod func(*ReplicatorConfig)) *region {
	t.Helper()
	r := &region{name: name, rdb: newRedis(t)}
	r.cache = New(r.rdb, name, time.Minute, clk)
	r.peers.Store(&[]Peer{})
	cfg := ReplicatorConfig{
		Region: name, Key: testKey(name), PeerKeys: testPeerKeys(), Staleness: 30 * time.Second, Cache: r.cache, Now: clk,
		Peers: func() []Peer { return *r.peers.Load() }, SendTimeout: 2 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	rep, err := NewReplicator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.rep = rep
	mux := http.NewServeMux()
	mux.Handle(WarmupPath, rep.WarmupHandler())
	mux.Handle(ExportPath, rep.ExportHandler())
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

// signed is a peer request as a sender would make it: env completed with
// POST, path, a fresh nonce and the current time when left empty.
func signed(key ed25519.PrivateKey, env Envelope, body []byte) http.Header {
	h := http.Header{}
	if env.Method == "" {
		env.Method = http.MethodPost
	}
	if env.Nonce == "" {
		env.Nonce = NewNonce()
	}
	if env.TimestampMs == 0 {
		env.TimestampMs = time.Now().UnixMilli()
	}
	SignHeaders(h, key, env, body)
	return h
}

// signedBy is a request from region from to region to, signed by from's key.
func signedBy(from, to, path string, body []byte) http.Header {
	return signed(testKey(from), Envelope{Path: path, From: from, To: to}, body)
}

func postPeer(t *testing.T, url, path string, body []byte, h http.Header) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func postWarmup(t *testing.T, url string, body []byte, h http.Header) (int, map[string]any) {
	t.Helper()
	return postPeer(t, url, WarmupPath, body, h)
}

func TestWarmupRefusesUnsignedForgedAndBadInput(t *testing.T) {
	r := newRegion(t, "eu-west-1", nil, nil)
	body := []byte(`{"from":"us-east-1","entries":[{"key":"` + Key("m", "p") + `","value":"v","age_ms":10,"ttl_ms":60000}]}`)
	good := func(b []byte) http.Header { return signedBy("us-east-1", "eu-west-1", WarmupPath, b) }
	v1 := http.Header{}
	v1.Set("X-Warmup-Signature", "sha256=c6d811ef3aeb02437cd423f1abe13209041864630bdc4e2c04def5c7b0031a23")
	noSig := good(body)
	noSig.Del(HeaderSignature)
	cases := []struct {
		name    string
		h       http.Header
		body    []byte
		code    int
		errCode string
	}{
		{"unsigned", nil, body, 401, "BAD_SIGNATURE"},
		{"v1 HMAC header only", v1, body, 401, "BAD_SIGNATURE"},
		{"peer headers without signature", noSig, body, 401, "BAD_SIGNATURE"},
		{"tampered body", good(body), append([]byte(" "), body...), 401, "BAD_SIGNATURE"},
		{"unknown field", nil, []byte(`{"from":"us-east-1","entries":[],"extra":1}`), 400, "BAD_REQUEST"},
		{"bad key", nil, []byte(`{"from":"us-east-1","entries":[{"key":"session#1","value":"v","age_ms":1,"ttl_ms":1}]}`), 400, "BAD_REQUEST"},
		{"too large", nil, bytes.Repeat([]byte("x"), MaxBodyBytes+1), 413, "BODY_TOO_LARGE"},
	}
	for _, tc := range cases {
		h := tc.h
		if h == nil && tc.code != 401 {
			h = good(tc.body)
		}
		code, out := postWarmup(t, r.srv.URL, tc.body, h)
		if code != tc.code || out["code"] != tc.errCode {
			t.Errorf("%s: %d %v, want %d %s", tc.name, code, out, tc.code, tc.errCode)
		}
	}
	if _, ok, _ := r.cache.Get(ctxT(t), Key("m", "p")); ok {
		t.Fatal("a refused warmup reached the cache")
	}
	st := r.rep.Stats()
	if st.RejectedSignature != 4 || st.RejectedInvalid != 3 || st.Received != 0 {
		t.Fatalf("stats = %+v, want 4 signature + 3 invalid rejections", st)
	}
	if code, _ := postWarmup(t, r.srv.URL, body, good(body)); code != 200 {
		t.Fatalf("correctly signed warmup = %d", code)
	}
}

// SPEC §5 defect 9: staleness comes from age_ms; the receiver's wall clock is irrelevant.
func TestWarmupStalenessFromAgeNotClocks(t *testing.T) {
	// The receiver's clock is years off: a clock comparison would call everything stale.
	skewed := newClock(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	r := newRegion(t, "eu-west-1", skewed.Now, nil)
	fresh, stale, expired := Key("m", "fresh"), Key("m", "stale"), Key("m", "expired")
	body, _ := json.Marshal(warmupRequest{From: "us-east-1", Entries: []wireEntry{
		{Key: fresh, Value: "f", AgeMs: 4000, TTLMs: 10000},
		{Key: stale, Value: "s", AgeMs: 31000, TTLMs: 600000},
		{Key: expired, Value: "e", AgeMs: 5000, TTLMs: 5000},
	}})
	// The request's own timestamp is on the receiver's clock here: the
	// replay window, not the entries' staleness, is where clocks meet.
	h := signed(testKey("us-east-1"), Envelope{Path: WarmupPath, From: "us-east-1", To: "eu-west-1", TimestampMs: skewed.Now().UnixMilli()}, body)
	code, out := postWarmup(t, r.srv.URL, body, h)
	if code != 200 || out["accepted"] != 1.0 || out["stale"] != 2.0 {
		t.Fatalf("warmup = %d %v, want accepted 1 stale 2", code, out)
	}
	ctx := ctxT(t)
	if v, ok, _ := r.cache.Get(ctx, fresh); !ok || v != "f" {
		t.Fatal("fresh entry not stored")
	}
	for _, k := range []string{stale, expired} {
		if _, ok, _ := r.cache.Get(ctx, k); ok {
			t.Fatalf("entry %s stored, want dropped", k)
		}
	}
	if pttl := r.rdb.PTTL(ctx, fresh).Val(); pttl > 6*time.Second || pttl < 5*time.Second {
		t.Fatalf("PTTL = %v, want the remaining 6s (ttl_ms - age_ms)", pttl)
	}
	if st := r.rep.Stats(); st.Received != 1 || st.RejectedStale != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// Three replicators, each with its own key: a broadcast reaches both
// peers, replication works from every region, and a region restarted cold
// pulls from the others.
func TestThreeRegionReplication(t *testing.T) {
	var rs []*region
	for _, n := range testRegions {
		rs = append(rs, newRegion(t, n, nil, nil))
	}
	us, eu, ap := rs[0], rs[1], rs[2]
	all := []Peer{{Name: "us-east-1", URL: us.srv.URL}, {Name: "eu-west-1", URL: eu.srv.URL + "/"}, {Name: "ap-southeast-1", URL: ap.srv.URL}}
	for _, r := range rs {
		r.peers.Store(&all)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	for _, r := range rs {
		r.rep.Start(ctx)
	}
	defer func() {
		cancel()
		for _, r := range rs {
			<-r.rep.Done()
		}
	}()

	for i := range 5 {
		e, err := us.cache.Set(ctx, Key("m", fmt.Sprint("p", i)), fmt.Sprint("answer", i))
		if err != nil {
			t.Fatal(err)
		}
		us.rep.Broadcast(e)
	}
	waitFor(t, 5*time.Second, "eu and ap to receive 5 entries each", func() bool {
		return eu.rep.Stats().Received == 5 && ap.rep.Stats().Received == 5
	})
	for _, r := range []*region{eu, ap} {
		for i := range 5 {
			if v, ok, _ := r.cache.Get(ctx, Key("m", fmt.Sprint("p", i))); !ok || v != fmt.Sprint("answer", i) {
				t.Fatalf("%s entry %d = %q %v", r.name, i, v, ok)
			}
		}
	}
	if st := us.rep.Stats(); st.Sent != 10 || st.SendErrors != 0 {
		t.Fatalf("us stats = %+v, want 5 sent to each of the two other peers (self skipped)", st)
	}
	// Replication works from every region.
	e, _ := eu.cache.Set(ctx, Key("m", "from-eu"), "x")
	eu.rep.Broadcast(e)
	e, _ = ap.cache.Set(ctx, Key("m", "from-ap"), "y")
	ap.rep.Broadcast(e)
	waitFor(t, 5*time.Second, "us to receive the eu and ap entries", func() bool { return us.rep.Stats().Received == 2 })
	waitFor(t, 5*time.Second, "eu to receive the ap entry and ap the eu one", func() bool {
		return eu.rep.Stats().Received == 6 && ap.rep.Stats().Received == 6
	})
	for _, r := range rs {
		st := r.rep.Stats()
		if st.RejectedSignature+st.RejectedUnknownPeer+st.RejectedWrongRecipient+st.RejectedStaleRequest+st.RejectedReplayed+st.RejectedSenderMismatch+st.RejectedBadAnswer != 0 {
			t.Fatalf("%s refused an honest peer: %+v", r.name, st)
		}
	}

	// ap restarts cold (a fresh Redis, the same key): it pulls the others'.
	cold := newRegion(t, "ap-southeast-1", nil, nil)
	cold.peers.Store(&[]Peer{all[0], all[1], {Name: "ap-southeast-1", URL: cold.srv.URL}})
	n, err := cold.rep.PullFromPeers(ctx)
	if err != nil || n != 14 { // us: 5+2 (its own 5 plus eu's and ap's), eu: 5+2
		t.Fatalf("cold pull = %d, %v; want 14 (7 from each of us and eu)", n, err)
	}
	for _, k := range []string{Key("m", "p4"), Key("m", "from-eu"), Key("m", "from-ap")} {
		if _, ok, _ := cold.cache.Get(ctx, k); !ok {
			t.Fatalf("cold region lacks %s after its pull", k)
		}
	}
	if st := cold.rep.Stats(); st.Pulled != 14 || st.RejectedBadAnswer != 0 {
		t.Fatalf("cold stats = %+v", st)
	}

	// A peer that is down costs a counted send error, nothing else.
	eu.srv.Close()
	e, _ = us.cache.Set(ctx, Key("m", "lost"), "y")
	us.rep.Broadcast(e)
	waitFor(t, 5*time.Second, "a send error", func() bool { return us.rep.Stats().SendErrors == 1 })
}

func TestBroadcastDropsWhenQueueFull(t *testing.T) {
	rep, err := NewReplicator(ReplicatorConfig{Region: "r", Key: testKey("r"), Cache: New(nil, "r", time.Minute, nil), QueueSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // sender not started: nothing drains the queue
		rep.Broadcast(Entry{Key: "k"})
	}
	if d := rep.Stats().Dropped; d != 3 {
		t.Fatalf("Dropped = %d, want 3", d)
	}
}

func TestNewReplicatorValidation(t *testing.T) {
	c := New(nil, "r", time.Minute, nil)
	k := testKey("r")
	other := testKey("other").Public().(ed25519.PublicKey)
	for field, cfg := range map[string]ReplicatorConfig{
		"region":     {Key: k, Cache: c},
		"warmup_key": {Region: "r", Cache: c},
		"warmup_key: required, an Ed25519 private key (64 bytes, got 32)": {Region: "r", Key: k[:32], Cache: c},
		"cache:":                 {Region: "r", Key: k},
		"cache.staleness":        {Region: "r", Key: k, Cache: c, Staleness: -1},
		"cache.replay_window":    {Region: "r", Key: k, Cache: c, ReplayWindow: time.Hour + 1},
		"cache.nonce_cache_size": {Region: "r", Key: k, Cache: c, NonceCacheSize: -1},
		"regions[r].warmup_public_key: does not match warmup_key": {Region: "r", Key: k, Cache: c, PeerKeys: map[string]ed25519.PublicKey{"r": other}},
		"regions[p].warmup_public_key: want 32 bytes, got 3":      {Region: "r", Key: k, Cache: c, PeerKeys: map[string]ed25519.PublicKey{"p": {1, 2, 3}}},
	} {
		if _, err := NewReplicator(cfg); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v", field, err)
		}
	}
	rep, err := NewReplicator(ReplicatorConfig{Region: "r", Key: k, Cache: c, PeerKeys: map[string]ed25519.PublicKey{"r": k.Public().(ed25519.PublicKey)}})
	if err != nil || rep.cfg.ReplayWindow != 2*time.Minute || rep.cfg.NonceCacheSize != 65536 {
		t.Fatalf("defaults: %v %+v", err, rep.cfg)
	}
}

func TestColdStartPullFromPeers(t *testing.T) {
	clk := newClock(time.Now())
	warm := newRegion(t, "eu-west-1", clk.Now, nil)
	ctx := ctxT(t)
	old, _ := warm.cache.Set(ctx, Key("m", "old"), "o")
	clk.Advance(40 * time.Second) // "old" is now beyond the 30s staleness bound
	for i := range 3 {
		if _, err := warm.cache.Set(ctx, Key("m", fmt.Sprint("new", i)), "n"); err != nil {
			t.Fatal(err)
		}
	}
	cold := newRegion(t, "us-east-1", nil, nil)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	cold.peers.Store(&[]Peer{{Name: "eu-west-1", URL: warm.srv.URL}, {Name: "ap-southeast-1", URL: down.URL}})

	n, err := cold.rep.PullFromPeers(ctx)
	if err != nil || n != 3 {
		t.Fatalf("PullFromPeers = %d, %v; want 3 with one peer down tolerated", n, err)
	}
	if _, ok, _ := cold.cache.Get(ctx, Key("m", "new1")); !ok {
		t.Fatal("pulled entry missing")
	}
	if _, ok, _ := cold.cache.Get(ctx, old.Key); ok {
		t.Fatal("entry older than the staleness bound was exported")
	}
	if st, wst := cold.rep.Stats(), warm.rep.Stats(); st.Pulled != 3 || wst.Exported != 3 || st.PullUnansweredPeers != 1 {
		t.Fatalf("stats cold=%+v warm=%+v (want the down peer counted unanswered)", st, wst)
	}

	// With every peer unreachable the caller learns it.
	cold.peers.Store(&[]Peer{{Name: "ap-southeast-1", URL: down.URL}})
	if _, err := cold.rep.PullFromPeers(ctx); err == nil {
		t.Fatal("PullFromPeers with all peers down returned no error")
	}
	// An export request from a region the peer has no key of is refused,
	// and so is one signed with another key than the sender's own.
	stranger := newRegion(t, "x", nil, nil)
	stranger.peers.Store(&[]Peer{{Name: "eu-west-1", URL: warm.srv.URL}})
	if _, err := stranger.rep.PullFromPeers(ctx); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "UNKNOWN_PEER") {
		t.Fatalf("pull by an unknown region = %v, want HTTP 401 UNKNOWN_PEER", err)
	}
	bad := newRegion(t, "ap-southeast-1", nil, func(c *ReplicatorConfig) { c.Key, c.PeerKeys = testKey("impostor"), nil })
	bad.peers.Store(&[]Peer{{Name: "eu-west-1", URL: warm.srv.URL}})
	if _, err := bad.rep.PullFromPeers(ctx); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "BAD_SIGNATURE") {
		t.Fatalf("pull signed with a wrong key = %v, want HTTP 401 BAD_SIGNATURE", err)
	}
	if wst := warm.rep.Stats(); wst.RejectedUnknownPeer != 1 || wst.RejectedSignature != 1 {
		t.Fatalf("warm stats = %+v, want one unknown peer and one bad signature", wst)
	}
	// A peer that answered, with an error, is not "unanswered": the
	// harness excuses only peers too slow or unreachable.
	if st := bad.rep.Stats(); st.PullUnansweredPeers != 0 {
		t.Fatalf("a refusing peer counted unanswered: %+v", st)
	}
	// One slower than the send timeout is.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release) // first: Close waits for the handler
	hurried := newRegion(t, "ap-southeast-1", nil, func(c *ReplicatorConfig) { c.SendTimeout = 50 * time.Millisecond })
	hurried.peers.Store(&[]Peer{{Name: "eu-west-1", URL: warm.srv.URL}, {Name: "slow", URL: slow.URL}})
	if _, err := hurried.rep.PullFromPeers(ctx); err != nil {
		t.Fatal(err)
	}
	if st := hurried.rep.Stats(); st.PullUnansweredPeers != 1 || st.Pulled != 3 {
		t.Fatalf("slow peer: %+v, want 1 unanswered and 3 pulled from the other", st)
	}
}

// Issue 13, defect 1: wire numbers are checked before they become
// durations. An age of 2^63-1 ms used to wrap negative and pass as fresh
// (an entry dated in the future, exported even to a max_age_ms of 1); a
// ttl of 10^12 ms gave a 31-year Redis TTL.
func TestWarmupNumbersAreBounded(t *testing.T) {
	r := newRegion(t, "eu-west-1", nil, nil) // cache TTL 1m, staleness 30s
	ctx := ctxT(t)
	send := func(es ...wireEntry) (int, map[string]any) {
		body, _ := json.Marshal(warmupRequest{From: "us-east-1", Entries: es})
		return postWarmup(t, r.srv.URL, body, signedBy("us-east-1", "eu-west-1", WarmupPath, body))
	}
	for _, w := range []wireEntry{
		{Key: Key("m", "wrap"), Value: "v", AgeMs: math.MaxInt64, TTLMs: 60000},
		{Key: Key("m", "wrap2"), Value: "v", AgeMs: math.MaxInt64 / 1000, TTLMs: 60000},
		{Key: Key("m", "ttl"), Value: "v", AgeMs: 1, TTLMs: math.MaxInt64},
		{Key: Key("m", "ttl2"), Value: "v", AgeMs: 1, TTLMs: 1_000_000_000_000}, // 31 years
	} {
		if code, out := send(w); code != 400 || out["code"] != "BAD_REQUEST" {
			t.Errorf("%+v: %d %v, want 400 BAD_REQUEST", w, code, out)
		}
		if _, ok, _ := r.cache.Get(ctx, w.Key); ok {
			t.Errorf("%s stored", w.Key)
		}
	}
	// A long but representable age is stale, not stored.
	if code, out := send(wireEntry{Key: Key("m", "old"), Value: "v", AgeMs: 3600 * 1000, TTLMs: 7200 * 1000}); code != 200 || out["stale"] != 1.0 {
		t.Errorf("an hour-old entry: %d %v, want stale", code, out)
	}
	// A long but representable TTL is capped to this cache's own (1m).
	big := Key("m", "big")
	if code, _ := send(wireEntry{Key: big, Value: "v", AgeMs: 0, TTLMs: 50_000_000_000}); code != 200 {
		t.Fatalf("ttl 5x10^10 ms: %d", code)
	}
	if pttl := r.rdb.PTTL(ctx, big).Val(); pttl <= 0 || pttl > time.Minute {
		t.Fatalf("PTTL %v, want at most the receiver's cache TTL 1m", pttl)
	}
	// Export: max_age_ms is bounded too, and nothing dated in the future
	// leaves (written straight to Redis, as an older receiver might have).
	if _, err := r.cache.store(ctx, Entry{Key: Key("m", "future"), Value: "v", CreatedAt: time.Now().Add(time.Hour), TTL: 2 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		maxAge int64
		code   int
	}{{math.MaxInt64, 400}, {1, 200}} {
		body, _ := json.Marshal(exportRequest{From: "us-east-1", MaxAgeMs: tc.maxAge})
		req, _ := http.NewRequest(http.MethodPost, r.srv.URL+ExportPath, bytes.NewReader(body))
		req.Header = signedBy("us-east-1", "eu-west-1", ExportPath, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out exportResponse
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("export max_age_ms %d: %d, want %d", tc.maxAge, resp.StatusCode, tc.code)
		}
		for _, e := range out.Entries {
			if e.Key == Key("m", "future") {
				t.Errorf("export max_age_ms %d carried the future-dated entry", tc.maxAge)
			}
		}
	}
}
