package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// scrape serves r's handler once and returns the body and content type.
func scrape(t *testing.T, r *Registry) (string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: HTTP %d: %s", rec.Code, rec.Body.String())
	}
	return rec.Body.String(), rec.Header().Get("Content-Type")
}

func parse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	var p expfmt.TextParser
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, text)
	}
	return mfs
}

func TestTextFormat(t *testing.T) {
	r := NewRegistry("region", "us-east-1")
	c := r.Counter("agent_messages_total", "Messages handled.", "outcome")
	c.Inc("ok")
	c.Add(2, "ok")
	c.Inc("error")
	c.Add(-5, "ok") // ignored
	g := r.Gauge("agent_sessions", "Sessions in memory.")
	g.Set(3)
	h := r.Histogram("http_request_duration_seconds", "Latency.", []float64{0.1, 0.01}, "route") // unsorted on purpose
	h.Observe(0.005, "msg")
	h.Observe(0.01, "msg") // on the bound: counted in le="0.01"
	h.Observe(0.05, "msg")
	h.Observe(5, "msg")
	r.CounterFunc("cache_warmup_rejected_total", "Rejected.", []string{"reason"}, func() []Sample {
		return []Sample{{Labels: []string{"bad_signature"}, Value: 2}, {Labels: []string{"stale"}, Value: 1}}
	})
	r.CounterFunc("agent_cache_hits_total", "Hits.", nil, func() []Sample { return []Sample{{Value: 4}} })
	r.GaugeFunc("agent_checkpoint_loops", "Loops.", nil, func() []Sample { return []Sample{{Value: 2}} })
	out, ctype := scrape(t, r)
	// client_golang writes label pairs sorted by name; le goes last.
	for _, want := range []string{
		"# HELP agent_messages_total Messages handled.\n# TYPE agent_messages_total counter\n",
		`agent_messages_total{outcome="ok",region="us-east-1"} 3` + "\n",
		`agent_messages_total{outcome="error",region="us-east-1"} 1` + "\n",
		"# TYPE agent_sessions gauge\n",
		`agent_sessions{region="us-east-1"} 3` + "\n",
		"# TYPE http_request_duration_seconds histogram\n",
		`http_request_duration_seconds_bucket{region="us-east-1",route="msg",le="0.01"} 2` + "\n",
		`http_request_duration_seconds_bucket{region="us-east-1",route="msg",le="0.1"} 3` + "\n",
		`http_request_duration_seconds_bucket{region="us-east-1",route="msg",le="+Inf"} 4` + "\n",
		`http_request_duration_seconds_sum{region="us-east-1",route="msg"} 5.065` + "\n",
		`http_request_duration_seconds_count{region="us-east-1",route="msg"} 4` + "\n",
		"# TYPE cache_warmup_rejected_total counter\n",
		`cache_warmup_rejected_total{reason="bad_signature",region="us-east-1"} 2` + "\n",
		`cache_warmup_rejected_total{reason="stale",region="us-east-1"} 1` + "\n",
		"# TYPE agent_cache_hits_total counter\n",
		`agent_cache_hits_total{region="us-east-1"} 4` + "\n",
		"# TYPE agent_checkpoint_loops gauge\n",
		`agent_checkpoint_loops{region="us-east-1"} 2` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if !strings.HasPrefix(ctype, "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", ctype)
	}
	// Every series of every family carries the const label.
	mfs := parse(t, out)
	if len(mfs) != 6 {
		t.Fatalf("families: got %d, want 6:\n%s", len(mfs), out)
	}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			n := 0
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "region" {
					n++
					if lp.GetValue() != "us-east-1" {
						t.Errorf("%s: region=%q", name, lp.GetValue())
					}
				}
			}
			if n != 1 {
				t.Errorf("%s %v: %d region labels", name, m.GetLabel(), n)
			}
		}
	}
	if c.Value("ok") != 3 || c.Value("error") != 1 || g.Value() != 3 || h.Count("msg") != 4 {
		t.Fatalf("accessors: %v %v %v %v", c.Value("ok"), c.Value("error"), g.Value(), h.Count("msg"))
	}
	// WriteTo renders what the handler serves.
	var sb strings.Builder
	if _, err := r.WriteTo(&sb); err != nil {
		t.Fatal(err)
	}
	if sb.String() != out {
		t.Fatalf("WriteTo differs from the handler:\n%s\n---\n%s", sb.String(), out)
	}
}

func TestEscapingAndReRegistration(t *testing.T) {
	r := NewRegistry()
	a := r.Counter("x_total", "h")
	b := r.Counter("x_total", "h")
	a.Inc()
	if a != b || b.Value() != 1 {
		t.Fatal("re-registration must return the same family")
	}
	calls := 0
	r.CounterFunc("f_total", "h", nil, func() []Sample { calls++; return []Sample{{Value: 1}} })
	r.CounterFunc("f_total", "h", nil, func() []Sample { calls += 100; return nil }) // kept: the first
	c := r.Counter("y_total", "h", "l")
	c.Inc("a\"b\\c\nd")
	var sb strings.Builder
	_, _ = r.WriteTo(&sb)
	if !strings.Contains(sb.String(), `y_total{l="a\"b\\c\nd"} 1`) {
		t.Fatalf("bad escaping:\n%s", sb.String())
	}
	if !strings.Contains(sb.String(), "x_total 1\n") || !strings.Contains(sb.String(), "f_total 1\n") || calls != 1 {
		t.Fatalf("unlabelled series (calls %d):\n%s", calls, sb.String())
	}
	if got := c.Value("a\"b\\c\nd"); got != 1 {
		t.Fatalf("value of escaped series: %v", got)
	}
}

func TestKindMismatchPanics(t *testing.T) {
	for name, f := range map[string]func(r *Registry){
		"gauge over counter":       func(r *Registry) { r.Gauge("m_total", "h") },
		"histogram over counter":   func(r *Registry) { r.Histogram("m_total", "h", DefaultLatencyBuckets) },
		"counter func over vec":    func(r *Registry) { r.CounterFunc("m_total", "h", nil, nil) },
		"gauge func over cnt func": func(r *Registry) { r.GaugeFunc("f", "h", nil, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			r := NewRegistry("region", "r")
			r.Counter("m_total", "h")
			r.CounterFunc("f", "h", nil, func() []Sample { return nil })
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f(r)
		})
	}
}

// Reading a series never written returns 0 and does not make it appear.
func TestValueDoesNotCreateSeries(t *testing.T) {
	r := NewRegistry("region", "r")
	c := r.Counter("c_total", "h", "k")
	g := r.Gauge("g", "h", "k")
	h := r.Histogram("h_seconds", "h", DefaultLatencyBuckets, "k")
	if c.Value("nope") != 0 || g.Value("nope") != 0 || h.Count("nope") != 0 {
		t.Fatal("unwritten series must read 0")
	}
	g.Set(0, "zero")
	if out, _ := scrape(t, r); strings.Contains(out, "nope") || !strings.Contains(out, `g{k="zero",region="r"} 0`) {
		t.Fatalf("reads created series:\n%s", out)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("wrong label count must panic")
			}
		}()
		c.Value()
	}()
}

// A collector func's samples with the wrong label count are dropped, and a
// bad sample does not blank the rest of the scrape.
func TestFuncCollectorBadSamples(t *testing.T) {
	r := NewRegistry("region", "r")
	r.CounterFunc("a_total", "h", []string{"kind"}, func() []Sample {
		return []Sample{{Labels: []string{"x"}, Value: 1}, {Labels: nil, Value: 9}, {Labels: []string{"y", "z"}, Value: 9}}
	})
	r.CounterFunc("dup_total", "h", []string{"kind"}, func() []Sample {
		return []Sample{{Labels: []string{"x"}, Value: 1}, {Labels: []string{"x"}, Value: 2}}
	})
	r.GaugeFunc("bad_utf8", "h", []string{"kind"}, func() []Sample {
		return []Sample{{Labels: []string{"\xff"}, Value: 1}}
	})
	r.Counter("ok_total", "h").Inc()
	out, _ := scrape(t, r)
	if !strings.Contains(out, `a_total{kind="x",region="r"} 1`+"\n") || strings.Contains(out, " 9\n") {
		t.Fatalf("label count filter:\n%s", out)
	}
	if !strings.Contains(out, `ok_total{region="r"} 1`) {
		t.Fatalf("scrape blanked by a bad collector:\n%s", out)
	}
	if strings.Contains(out, "bad_utf8{") {
		t.Fatalf("invalid label value served:\n%s", out)
	}
	if _, err := r.Gatherer().Gather(); err == nil {
		t.Fatal("Gather must report the duplicate and the invalid sample")
	}
}

func TestRegistererAddsConstLabels(t *testing.T) {
	r := NewRegistry("region", "eu-west-1")
	r.Registerer().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "up_seconds", Help: "h"}, func() float64 { return 7 }))
	if out, _ := scrape(t, r); !strings.Contains(out, `up_seconds{region="eu-west-1"} 7`) {
		t.Fatalf("registerer lost the const label:\n%s", out)
	}
}

// Run with -race: writers, collector funcs and scrapes at once.
func TestConcurrent(t *testing.T) {
	r := NewRegistry("region", "r")
	c := r.Counter("c_total", "h", "k")
	g := r.Gauge("g", "h", "k")
	h := r.Histogram("h_seconds", "h", DefaultLatencyBuckets)
	var fed atomic.Int64
	r.CounterFunc("fed_total", "h", nil, func() []Sample { return []Sample{{Value: float64(fed.Load())}} })
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := string(rune('a' + i%2))
			for j := range each {
				c.Inc("a")
				c.Add(1, k)
				g.Add(1, "a")
				h.Observe(0.001)
				fed.Add(1)
				if j%50 == 0 {
					_, _ = r.WriteTo(io.Discard)
					rec := httptest.NewRecorder()
					r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
					_ = c.Value("a")
					_ = h.Count()
					r.Counter("c_total", "h", "k") // concurrent re-registration
				}
			}
		}()
	}
	wg.Wait()
	if g.Value("a") != workers*each || h.Count() != workers*each || fed.Load() != workers*each {
		t.Fatalf("lost updates: %v %v %v", g.Value("a"), h.Count(), fed.Load())
	}
	if c.Value("a") != workers*each+workers/2*each || c.Value("b") != workers/2*each {
		t.Fatalf("per-label updates: a=%v b=%v", c.Value("a"), c.Value("b"))
	}
	out, _ := scrape(t, r)
	for _, want := range []string{
		`c_total{k="a",region="r"} 6000`, // 4000 from Inc("a") + 2000 from Add(1, "a")
		`c_total{k="b",region="r"} 2000`,
		`h_seconds_count{region="r"} 4000`,
		`fed_total{region="r"} 4000`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
