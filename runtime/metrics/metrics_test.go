package metrics

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestTextFormat(t *testing.T) {
	r := NewRegistry("region", "us-east-1")
	c := r.Counter("agent_messages_total", "Messages handled.", "outcome")
	c.Inc("ok")
	c.Add(2, "ok")
	c.Inc("error")
	c.Add(-5, "ok") // ignored
	g := r.Gauge("agent_sessions", "Sessions in memory.")
	g.Set(3)
	h := r.Histogram("http_request_duration_seconds", "Latency.", []float64{0.01, 0.1}, "route")
	h.Observe(0.005, "msg")
	h.Observe(0.05, "msg")
	h.Observe(5, "msg")
	r.CounterFunc("cache_warmup_rejected_total", "Rejected.", []string{"reason"}, func() []Sample {
		return []Sample{{Labels: []string{"bad_signature"}, Value: 2}, {Labels: []string{"stale"}, Value: 1}}
	})
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{
		"# TYPE agent_messages_total counter",
		`agent_messages_total{region="us-east-1",outcome="ok"} 3`,
		`agent_messages_total{region="us-east-1",outcome="error"} 1`,
		`agent_sessions{region="us-east-1"} 3`,
		`http_request_duration_seconds_bucket{region="us-east-1",route="msg",le="0.01"} 1`,
		`http_request_duration_seconds_bucket{region="us-east-1",route="msg",le="0.1"} 2`,
		`http_request_duration_seconds_bucket{region="us-east-1",route="msg",le="+Inf"} 3`,
		`http_request_duration_seconds_count{region="us-east-1",route="msg"} 3`,
		`cache_warmup_rejected_total{region="us-east-1",reason="bad_signature"} 2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", rec.Header().Get("Content-Type"))
	}
}

func TestEscapingAndReRegistration(t *testing.T) {
	r := NewRegistry()
	a := r.Counter("x_total", "h")
	b := r.Counter("x_total", "h")
	a.Inc()
	if b.Value() != 1 {
		t.Fatal("re-registration must return the same family")
	}
	c := r.Counter("y_total", "h", "l")
	c.Inc("a\"b\\c\nd")
	var sb strings.Builder
	_, _ = r.WriteTo(&sb)
	if !strings.Contains(sb.String(), `y_total{l="a\"b\\c\nd"} 1`) {
		t.Fatalf("bad escaping:\n%s", sb.String())
	}
	if !strings.Contains(sb.String(), "x_total 1\n") {
		t.Fatalf("unlabelled series:\n%s", sb.String())
	}
}

func TestConcurrent(t *testing.T) {
	r := NewRegistry("region", "r")
	c := r.Counter("c_total", "h", "k")
	h := r.Histogram("h_seconds", "h", DefaultLatencyBuckets)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 500; j++ {
				c.Inc("a")
				h.Observe(0.001)
				if j%100 == 0 {
					_, _ = r.WriteTo(&strings.Builder{})
				}
			}
		}()
	}
	wg.Wait()
	if c.Value("a") != 4000 || h.Count() != 4000 {
		t.Fatalf("lost updates: %v %v", c.Value("a"), h.Count())
	}
}
