package traffic

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/history"
)

// fakeRuntime is a tiny stand-in for the LB+runtime: sessions expire after
// expireAfter messages; every Nth message fails with 503 once.
type fakeRuntime struct {
	mu          sync.Mutex
	msgs        map[string][]string
	expireAfter int
	failEvery   int
	n           int
	sawKey      bool
}

func (f *fakeRuntime) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("X-Served-By", "fake-1")
	w.Header().Set("Content-Type", "application/json")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && len(parts) == 2:
		var b struct {
			SessionID string `json:"session_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&b)
		f.msgs[b.SessionID] = nil
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(map[string]any{"session_id": b.SessionID, "version": 0})
	case r.Method == http.MethodPost && len(parts) == 4:
		id := parts[2]
		var b struct {
			MessageID string `json:"message_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&b)
		if r.Header.Get("Idempotency-Key") == b.MessageID && r.Header.Get("X-Client-Region") != "" {
			f.sawKey = true
		}
		f.n++
		if f.failEvery > 0 && f.n%f.failEvery == 0 {
			w.WriteHeader(503)
			_, _ = w.Write([]byte(`{"error":"x","code":"STORE_UNAVAILABLE"}`))
			return
		}
		if len(f.msgs[id]) >= f.expireAfter {
			w.WriteHeader(410)
			_, _ = w.Write([]byte(`{"error":"expired","code":"SESSION_EXPIRED"}`))
			return
		}
		f.msgs[id] = append(f.msgs[id], b.MessageID)
		_ = json.NewEncoder(w).Encode(map[string]any{"session_id": id, "version": len(f.msgs[id]), "durable": true, "cache": "miss"})
	case r.Method == http.MethodGet && len(parts) == 3:
		var ms []map[string]any
		for _, m := range f.msgs[parts[2]] {
			ms = append(ms, map[string]any{"id": m, "role": "user", "timestamp": time.Now()})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"session_id": parts[2], "version": len(ms), "messages": ms})
	default:
		w.WriteHeader(404)
	}
}

func run(t *testing.T, seed int64) ([]history.Op, Result, *fakeRuntime) {
	f := &fakeRuntime{msgs: map[string][]string{}, expireAfter: 5, failEvery: 7}
	srv := httptest.NewServer(f)
	defer srv.Close()
	h := history.New()
	res, err := Run(context.Background(), Config{LBURL: srv.URL, Users: 3, Interval: time.Millisecond,
		Duration: 5 * time.Second, MaxMessages: 12, Seed: seed}, h)
	if err != nil {
		t.Fatal(err)
	}
	return h.Ops(), res, f
}

func TestRunRecordsReauthAndRetries(t *testing.T) {
	ops, res, f := run(t, 42)
	if !f.sawKey {
		t.Fatal("no message carried Idempotency-Key = message_id and X-Client-Region")
	}
	kinds := map[string]int{}
	for _, op := range ops {
		kinds[op.Kind]++
		if op.Start.IsZero() || op.End.Before(op.Start) {
			t.Fatalf("bad times: %+v", op)
		}
	}
	if kinds[history.KindCreate] != 3 || kinds[history.KindReauth] < 3 {
		t.Fatalf("kinds %v: want 3 creates and reauths after expiry", kinds)
	}
	if res.Acked != 36 {
		t.Fatalf("acked %d, want every one of 3x12 messages acked eventually", res.Acked)
	}
	// a failed message is resent with the same id until acked
	failed := map[string]bool{}
	for _, op := range ops {
		if op.Kind == history.KindMessage && !op.OK() {
			failed[op.MessageID] = true
		}
	}
	for _, op := range ops {
		if op.Kind == history.KindMessage && op.OK() {
			delete(failed, op.MessageID)
		}
	}
	if len(failed) != 0 {
		t.Fatalf("failed message ids never resent to success: %v", failed)
	}
}

func TestSameSeedSameIDs(t *testing.T) {
	ids := func(seed int64) map[string]bool {
		ops, _, _ := run(t, seed)
		m := map[string]bool{}
		for _, op := range ops {
			if op.MessageID != "" {
				m[op.MessageID] = true
			}
		}
		return m
	}
	a, b, c := ids(7), ids(7), ids(8)
	if len(a) != len(b) {
		t.Fatalf("same seed: %d vs %d ids", len(a), len(b))
	}
	for id := range a {
		if !b[id] {
			t.Fatalf("same seed: id %s missing in replay", id)
		}
		if c[id] {
			t.Fatalf("different seed produced the same id %s", id)
		}
	}
}
