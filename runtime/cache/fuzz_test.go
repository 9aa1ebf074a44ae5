package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agentops/failover-harness/runtime/cache/redistest"
)

// FuzzWarmupDecode: any body either fails to decode or yields only valid entries that
// survive a re-encode unchanged; it never panics.
func FuzzWarmupDecode(f *testing.F) {
	for _, seed := range []string{
		`{"from":"us-east-1","entries":[{"key":"respcache:m:abc","value":"v","age_ms":10,"ttl_ms":60000}]}`,
		`{"from":"us-east-1","entries":[]}`,
		`{"from":"","entries":null}`,
		`{"from":"x","entries":[{"key":"respcache:","value":"","age_ms":-1,"ttl_ms":0}]}`,
		`{"from":"x","entries":[{"key":"other","value":"v","age_ms":1,"ttl_ms":1}]}`,
		`{"from":"x","entries":[],"extra":true}`,
		`{"from":"x","entries":[{"key":"respcache:k","value":"v","age_ms":1.5,"ttl_ms":1}]}`,
		`{"from":"x","entries":[{"key":"respcache:k","value":"v","age_ms":9223372036854775807,"ttl_ms":1}]}`,
		`{"from":"x","entries":[{"key":"respcache:k","value":"v","age_ms":1,"ttl_ms":1000000000000}]}`,
		`{"from":"x"} {"from":"y"}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeWarmup(body)
		if err != nil {
			return
		}
		if req.From == "" {
			t.Fatal("accepted an empty from")
		}
		for i, e := range req.Entries {
			if !strings.HasPrefix(e.Key, KeyPrefix) || e.AgeMs < 0 || e.AgeMs > maxWireMs || e.TTLMs <= 0 || e.TTLMs > maxWireMs {
				t.Fatalf("accepted invalid entry %d: %+v", i, e)
			}
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		req2, err := decodeWarmup(again)
		if err != nil || !reflect.DeepEqual(req, req2) {
			t.Fatalf("re-decode = %+v, %v; want %+v", req2, err, req)
		}
	})
}

// FuzzWarmupHandler drives the real WarmupHandler with fuzzed headers and
// body, down to accept() and a real Redis. flags: 1 signs the request as
// its X-Peer-From would (with that name's key; only test regions are
// known), 2 stamps it with the receiver's now, 4 sends it twice. It checks
// that nothing panics, that nothing stored is dated in the future or lives
// past the cache TTL, that an unsigned request or a replay stores nothing,
// and that every refusal is counted once.
func FuzzWarmupHandler(f *testing.F) {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.ForTest(f), MaxRetries: -1})
	f.Cleanup(func() { _ = rdb.Close() })
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) // fixed: an input replays the same way
	clock := func() time.Time { return now }
	c := New(rdb, "eu-west-1", time.Minute, clock)

	entry := func(age, ttl string) []byte {
		return []byte(`{"from":"us-east-1","entries":[{"key":"respcache:m:k","value":"v","age_ms":` + age + `,"ttl_ms":` + ttl + `}]}`)
	}
	const nonce = "00112233445566778899aabbccddeeff"
	seeds := []struct {
		body                 []byte
		from, to, ts, n, sig string
		flags                uint8
	}{
		{entry("10", "60000"), "us-east-1", "eu-west-1", "", nonce, "", 1 | 2},                         // valid
		{entry("10", "60000"), "us-east-1", "eu-west-1", "", nonce, "", 1 | 2 | 4},                     // replayed
		{entry("10", "60000"), "us-east-1", "eu-west-1", "", nonce, "AAAA", 2},                         // forged
		{entry("10", "60000"), "us-east-1", "eu-west-1", "", nonce, strings.Repeat("A", 86) + "==", 2}, // zero signature
		{entry("9223372036854775807", "60000"), "us-east-1", "eu-west-1", "", nonce, "", 3},            // huge age
		{entry("1", "9223372036854775807"), "us-east-1", "eu-west-1", "", nonce, "", 3},                // huge ttl
		{entry("-1", "1000000000000"), "us-east-1", "eu-west-1", "", nonce, "", 3},                     // negative age, 31-year ttl
		{entry("0", "315360000000"), "us-east-1", "eu-west-1", "", nonce, "", 3},                       // ttl = maxWireMs
		{entry("1e30", "1"), "us-east-1", "eu-west-1", "", nonce, "", 3},                               // not an int64
		{entry("10", "60000"), "us-east-1", "ap-southeast-1", "", nonce, "", 3},                        // wrong recipient
		{entry("10", "60000"), "ap-southeast-1", "eu-west-1", "", nonce, "", 3},                        // sender mismatch
		{entry("10", "60000"), "zz", "eu-west-1", "", nonce, "", 3},                                    // unknown peer
		{entry("10", "60000"), "us-east-1", "eu-west-1", "0", nonce, "", 1},                            // stale
		{entry("10", "60000"), "us-east-1", "eu-west-1", "9223372036854775807", nonce, "", 1},          // far future
		{entry("10", "60000"), "us-east-1", "eu-west-1", "-9223372036854775808", nonce, "", 1},         // far past
		{entry("10", "60000"), "us-east-1", "eu-west-1", "", "xyz", "", 3},                             // malformed nonce
		{[]byte(`{"from":"us-east-1","entries":[],"x":1}`), "us-east-1", "eu-west-1", "", nonce, "", 3},
		{nil, "", "", "", "", "", 0},
	}
	for _, s := range seeds {
		f.Add(s.body, s.from, s.to, s.ts, s.n, s.sig, s.flags)
	}
	f.Fuzz(func(t *testing.T, body []byte, from, to, ts, nonce, sig string, flags uint8) {
		rep, err := NewReplicator(ReplicatorConfig{
			Region: "eu-west-1", Key: testKey("eu-west-1"), PeerKeys: testPeerKeys(), Cache: c, Now: clock, QueueSize: 1, NonceCacheSize: 8,
		})
		if err != nil {
			t.Fatal(err)
		}
		stores := 0
		rep.store = func(ctx context.Context, e Entry) (bool, error) {
			stores++
			if e.CreatedAt.After(now) || e.TTL <= 0 || e.TTL > time.Minute || !strings.HasPrefix(e.Key, KeyPrefix) {
				t.Fatalf("would store %+v: dated in the future, beyond the cache TTL, or outside the key prefix", e)
			}
			return c.store(ctx, e)
		}
		h := http.Header{}
		for k, v := range map[string]string{HeaderFrom: from, HeaderTo: to, HeaderTimestamp: ts, HeaderNonce: nonce, HeaderSignature: sig} {
			if v != "" {
				h.Set(k, v)
			}
		}
		if flags&2 != 0 {
			h.Set(HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10))
		}
		if flags&1 != 0 {
			ms, _ := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
			SignHeaders(h, testKey(from), Envelope{Method: http.MethodPost, Path: WarmupPath, From: from, To: to, TimestampMs: ms, Nonce: nonce}, body)
		}
		refusals := func() int64 {
			st := rep.Stats()
			return st.RejectedSignature + st.RejectedUnknownPeer + st.RejectedWrongRecipient + st.RejectedStaleRequest +
				st.RejectedReplayed + st.RejectedSenderMismatch + st.RejectedReplayCacheFull + st.RejectedInvalid
		}
		send := func() (int, string) {
			req := httptest.NewRequest(http.MethodPost, WarmupPath, bytes.NewReader(body))
			req.Header = h.Clone()
			w := httptest.NewRecorder()
			before, storesBefore := refusals(), stores
			rep.WarmupHandler().ServeHTTP(w, req)
			var out struct{ Code string }
			_ = json.Unmarshal(w.Body.Bytes(), &out)
			counted := refusals() - before
			switch {
			case w.Code == http.StatusOK && (counted != 0 || out.Code != ""):
				t.Fatalf("200 counted %d refusals: %s", counted, w.Body)
			case w.Code != http.StatusOK && out.Code != "CACHE_UNAVAILABLE" && counted != 1:
				t.Fatalf("%d %s counted %d times, want once", w.Code, out.Code, counted)
			case w.Code != http.StatusOK && stores != storesBefore && out.Code != "CACHE_UNAVAILABLE":
				t.Fatalf("refused %d %s but stored", w.Code, out.Code)
			}
			return w.Code, out.Code
		}
		code, _ := send()
		if flags&1 == 0 && (code == http.StatusOK || stores != 0) {
			t.Fatalf("an unsigned request was accepted: %d, %d stores", code, stores)
		}
		if flags&4 != 0 {
			storesBefore := stores
			again, errCode := send()
			if again == http.StatusOK || stores != storesBefore {
				t.Fatalf("replay answered %d, stored %d", again, stores-storesBefore)
			}
			if code == http.StatusOK && errCode != CodeReplayed {
				t.Fatalf("replay of an accepted request: %d %s, want REPLAYED", again, errCode)
			}
		}
	})
}

// FuzzExportHandler drives the real ExportHandler with a fuzzed body that a
// known peer signed (so it gets past authentication to the decoding and the
// cache read). It checks that nothing panics, that the answer is one of the
// documented codes, and that a 200 answer is signed and carries only
// entries no older than the max_age_ms asked for, none dated in the future.
func FuzzExportHandler(f *testing.F) {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.ForTest(f), MaxRetries: -1})
	f.Cleanup(func() { _ = rdb.Close() })
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	c := New(rdb, "eu-west-1", time.Minute, clock)
	for i, age := range []time.Duration{0, time.Second, 20 * time.Second} {
		if _, err := c.store(context.Background(), Entry{Key: Key("m", strconv.Itoa(i)), Value: `{"content":"v"}`, CreatedAt: now.Add(-age), TTL: time.Minute}); err != nil {
			f.Fatal(err)
		}
	}
	for _, s := range []string{
		`{"from":"us-east-1","max_age_ms":30000}`, `{"from":"us-east-1","max_age_ms":1500}`, `{"from":"us-east-1","max_age_ms":0}`,
		`{"from":"us-east-1","max_age_ms":-1}`, `{"from":"us-east-1","max_age_ms":9223372036854775807}`,
		`{"from":"us-east-1","max_age_ms":1e400}`, `{"from":"ap-southeast-1","max_age_ms":1000}`, `{"from":""}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := NewReplicator(ReplicatorConfig{Region: "eu-west-1", Key: testKey("eu-west-1"), PeerKeys: testPeerKeys(), Cache: c, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		SignHeaders(h, testKey("us-east-1"), Envelope{Method: http.MethodPost, Path: ExportPath, From: "us-east-1", To: "eu-west-1", TimestampMs: now.UnixMilli(), Nonce: NewNonce()}, body)
		req := httptest.NewRequest(http.MethodPost, ExportPath, bytes.NewReader(body))
		req.Header = h
		w := httptest.NewRecorder()
		rep.ExportHandler().ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable:
			return
		default:
			t.Fatalf("answer %d: %s", w.Code, w.Body)
		}
		var asked exportRequest
		if err := decodeStrict(body, &asked); err != nil {
			t.Fatalf("200 to a body the decoder refuses (%v): %q", err, body)
		}
		var out exportResponse
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("200 answer is not JSON: %v", err)
		}
		if w.Header().Get(HeaderSignature) == "" {
			t.Fatal("200 answer unsigned")
		}
		for _, e := range out.Entries {
			if e.AgeMs < 0 || e.AgeMs > asked.MaxAgeMs {
				t.Fatalf("entry %+v outside 0..max_age_ms %d", e, asked.MaxAgeMs)
			}
		}
	})
}
