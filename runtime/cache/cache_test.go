package cache

import (
	"bytes"
	"context"
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

func TestSign(t *testing.T) {
	sig := Sign([]byte("k"), []byte("body"))
	// HMAC-SHA256("k","body") computed independently (openssl dgst -sha256 -hmac k).
	if want := "sha256=c6d811ef3aeb02437cd423f1abe13209041864630bdc4e2c04def5c7b0031a23"; sig != want {
		t.Fatalf("Sign = %q, want %q", sig, want)
	}
	if !verify([]byte("k"), []byte("body"), sig) || verify([]byte("k2"), []byte("body"), sig) || verify([]byte("k"), []byte("body2"), sig) || verify([]byte("k"), []byte("body"), "") {
		t.Fatal("verify accepts a wrong key/body/empty signature or refuses the right one")
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

func newRegion(t *testing.T, name string, clk func() time.Time, mod func(*ReplicatorConfig)) *region {
	t.Helper()
	r := &region{name: name, rdb: newRedis(t)}
	r.cache = New(r.rdb, name, time.Minute, clk)
	r.peers.Store(&[]Peer{})
	cfg := ReplicatorConfig{
		Region: name, Secret: []byte("s3cret"), Staleness: 30 * time.Second, Cache: r.cache, Now: clk,
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

func postWarmup(t *testing.T, url string, body []byte, sig string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+WarmupPath, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
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

func TestWarmupRefusesUnsignedForgedAndBadInput(t *testing.T) {
	r := newRegion(t, "eu-west-1", nil, nil)
	body := []byte(`{"from":"us-east-1","entries":[{"key":"` + Key("m", "p") + `","value":"v","age_ms":10,"ttl_ms":60000}]}`)
	cases := []struct {
		name, sig string
		body      []byte
		code      int
		errCode   string
	}{
		{"unsigned", "", body, 401, "BAD_SIGNATURE"},
		{"forged", Sign([]byte("wrong"), body), body, 401, "BAD_SIGNATURE"},
		{"tampered", Sign([]byte("s3cret"), body), append([]byte(" "), body...), 401, "BAD_SIGNATURE"},
		{"unknown field", "", []byte(`{"from":"x","entries":[],"extra":1}`), 400, "BAD_REQUEST"},
		{"bad key", "", []byte(`{"from":"x","entries":[{"key":"session#1","value":"v","age_ms":1,"ttl_ms":1}]}`), 400, "BAD_REQUEST"},
		{"too large", "", bytes.Repeat([]byte("x"), MaxBodyBytes+1), 413, "BODY_TOO_LARGE"},
	}
	for _, tc := range cases {
		sig := tc.sig
		if sig == "" && tc.code != 401 {
			sig = Sign([]byte("s3cret"), tc.body)
		}
		code, out := postWarmup(t, r.srv.URL, tc.body, sig)
		if code != tc.code || out["code"] != tc.errCode {
			t.Errorf("%s: %d %v, want %d %s", tc.name, code, out, tc.code, tc.errCode)
		}
	}
	if _, ok, _ := r.cache.Get(ctxT(t), Key("m", "p")); ok {
		t.Fatal("a refused warmup reached the cache")
	}
	st := r.rep.Stats()
	if st.RejectedSignature != 3 || st.RejectedInvalid != 3 || st.Received != 0 {
		t.Fatalf("stats = %+v, want 3 signature + 3 invalid rejections", st)
	}
	if code, _ := postWarmup(t, r.srv.URL, body, Sign([]byte("s3cret"), body)); code != 200 {
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
	code, out := postWarmup(t, r.srv.URL, body, Sign([]byte("s3cret"), body))
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

func TestTwoRegionReplication(t *testing.T) {
	us := newRegion(t, "us-east-1", nil, nil)
	eu := newRegion(t, "eu-west-1", nil, nil)
	us.peers.Store(&[]Peer{{Name: "us-east-1", URL: us.srv.URL}, {Name: "eu-west-1", URL: eu.srv.URL + "/"}})
	eu.peers.Store(&[]Peer{{Name: "us-east-1", URL: us.srv.URL}})
	ctx, cancel := context.WithCancel(ctxT(t))
	us.rep.Start(ctx)
	eu.rep.Start(ctx)
	defer func() { cancel(); <-us.rep.Done(); <-eu.rep.Done() }()

	for i := range 5 {
		e, err := us.cache.Set(ctx, Key("m", fmt.Sprint("p", i)), fmt.Sprint("answer", i))
		if err != nil {
			t.Fatal(err)
		}
		us.rep.Broadcast(e)
	}
	waitFor(t, 5*time.Second, "eu to receive 5 entries", func() bool { return eu.rep.Stats().Received == 5 })
	for i := range 5 {
		if v, ok, _ := eu.cache.Get(ctx, Key("m", fmt.Sprint("p", i))); !ok || v != fmt.Sprint("answer", i) {
			t.Fatalf("eu entry %d = %q %v", i, v, ok)
		}
	}
	if st := us.rep.Stats(); st.Sent != 5 || st.SendErrors != 0 {
		t.Fatalf("us stats = %+v, want 5 sent to the one other peer (self skipped)", st)
	}
	// Replication works both ways.
	e, _ := eu.cache.Set(ctx, Key("m", "from-eu"), "x")
	eu.rep.Broadcast(e)
	waitFor(t, 5*time.Second, "us to receive the eu entry", func() bool { return us.rep.Stats().Received == 1 })

	// A peer that is down costs a counted send error, nothing else.
	eu.srv.Close()
	e, _ = us.cache.Set(ctx, Key("m", "lost"), "y")
	us.rep.Broadcast(e)
	waitFor(t, 5*time.Second, "a send error", func() bool { return us.rep.Stats().SendErrors == 1 })
}

func TestBroadcastDropsWhenQueueFull(t *testing.T) {
	rep, err := NewReplicator(ReplicatorConfig{Region: "r", Secret: []byte("k"), Cache: New(nil, "r", time.Minute, nil), QueueSize: 2})
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
	for field, cfg := range map[string]ReplicatorConfig{
		"region":          {Secret: []byte("k"), Cache: c},
		"warmup_secret":   {Region: "r", Cache: c},
		"cache:":          {Region: "r", Secret: []byte("k")},
		"cache.staleness": {Region: "r", Secret: []byte("k"), Cache: c, Staleness: -1},
	} {
		if _, err := NewReplicator(cfg); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v", field, err)
		}
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
	// An export request signed with another secret is refused.
	bad := newRegion(t, "x", nil, func(c *ReplicatorConfig) { c.Secret = []byte("other") })
	bad.peers.Store(&[]Peer{{Name: "eu-west-1", URL: warm.srv.URL}})
	if _, err := bad.rep.PullFromPeers(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("pull with a wrong secret = %v, want HTTP 401", err)
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
	hurried := newRegion(t, "y", nil, func(c *ReplicatorConfig) { c.SendTimeout = 50 * time.Millisecond })
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
		return postWarmup(t, r.srv.URL, body, Sign([]byte("s3cret"), body))
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
		req.Header.Set(SignatureHeader, Sign([]byte("s3cret"), body))
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
