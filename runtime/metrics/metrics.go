// Package metrics is a thin wrapper over github.com/prometheus/client_golang:
// one prometheus.Registry per process whose const labels (e.g. region) go on
// every series, labelled counters and gauges (CounterVec, GaugeVec), a
// latency histogram (HistogramVec), and collector funcs for counters kept
// by other packages (a custom prometheus.Collector of const metrics).
//
// The wrapper keeps the runtime's call sites small (label values are
// passed positionally, re-registration returns the existing family) and
// adds the read accessors tests use (Counter.Value, Gauge.Value,
// Histogram.Count).
package metrics

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Sample is one labelled value reported by a collector func.
type Sample struct {
	Labels []string // label values, in the order of the family's label names
	Value  float64
}

// Registry holds metric families; const labels (e.g. region) go on every series.
type Registry struct {
	reg     *prometheus.Registry
	wrapped prometheus.Registerer // reg, adding the const labels
	handler http.Handler

	mu     sync.Mutex
	byName map[string]any // *Counter, *Gauge, *Histogram or *funcCollector
}

// NewRegistry returns a registry adding constLabels (name, value pairs) to every series.
func NewRegistry(constLabels ...string) *Registry {
	if len(constLabels)%2 != 0 {
		panic("metrics: constLabels must be name/value pairs")
	}
	cl := prometheus.Labels{}
	for i := 0; i < len(constLabels); i += 2 {
		cl[constLabels[i]] = constLabels[i+1]
	}
	reg := prometheus.NewRegistry()
	return &Registry{
		reg:     reg,
		wrapped: prometheus.WrapRegistererWith(cl, reg),
		// ContinueOnError: one bad series (e.g. a collector func reporting
		// the same label values twice) must not blank the whole scrape.
		handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}),
		byName:  map[string]any{},
	}
}

// Registerer registers further collectors (e.g. process-level ones); the
// registry's const labels are added to everything registered through it.
func (r *Registry) Registerer() prometheus.Registerer { return r.wrapped }

// Gatherer is the underlying registry, for tests and custom handlers.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// add registers c under name, or returns the family already registered
// under that name (so wiring code may be idempotent). A name re-used for a
// different kind of metric panics.
func add[T any](r *Registry, name string, mk func() (T, prometheus.Collector)) T {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byName[name]; ok {
		t, same := old.(T)
		if !same {
			panic(fmt.Sprintf("metrics: %s already registered as %T", name, old))
		}
		return t
	}
	t, c := mk()
	r.wrapped.MustRegister(c)
	r.byName[name] = t
	return t
}

// Counter is a monotonically increasing labelled value.
type Counter struct {
	vec    *prometheus.CounterVec
	labels []string
}

// Gauge is a labelled value that can go up and down.
type Gauge struct {
	vec    *prometheus.GaugeVec
	labels []string
}

// Histogram counts observations into buckets.
type Histogram struct {
	vec    *prometheus.HistogramVec
	labels []string
}

// Counter registers (or returns) a counter family.
func (r *Registry) Counter(name, help string, labels ...string) *Counter {
	return add(r, name, func() (*Counter, prometheus.Collector) {
		c := &Counter{prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels), slices.Clone(labels)}
		return c, c.vec
	})
}

// Gauge registers (or returns) a gauge family.
func (r *Registry) Gauge(name, help string, labels ...string) *Gauge {
	return add(r, name, func() (*Gauge, prometheus.Collector) {
		g := &Gauge{prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels), slices.Clone(labels)}
		return g, g.vec
	})
}

// Histogram registers (or returns) a histogram with upper bounds buckets
// (sorted here; +Inf is implied).
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *Histogram {
	b := slices.Clone(buckets)
	slices.Sort(b)
	b = slices.Compact(b)
	return add(r, name, func() (*Histogram, prometheus.Collector) {
		h := &Histogram{prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: b}, labels), slices.Clone(labels)}
		return h, h.vec
	})
}

// CounterFunc registers a counter whose samples come from f at scrape time
// (for counters kept by other packages' Stats()). Samples whose label count
// does not match labels are dropped. Re-registering a name keeps the first f.
func (r *Registry) CounterFunc(name, help string, labels []string, f func() []Sample) {
	r.collectorFunc(name, help, prometheus.CounterValue, labels, f)
}

// GaugeFunc registers a gauge whose samples come from f at scrape time.
func (r *Registry) GaugeFunc(name, help string, labels []string, f func() []Sample) {
	r.collectorFunc(name, help, prometheus.GaugeValue, labels, f)
}

func (r *Registry) collectorFunc(name, help string, typ prometheus.ValueType, labels []string, f func() []Sample) {
	fc := add(r, name, func() (*funcCollector, prometheus.Collector) {
		fc := &funcCollector{desc: prometheus.NewDesc(name, help, labels, nil), typ: typ, n: len(labels), f: f}
		return fc, fc
	})
	if fc.typ != typ {
		panic(fmt.Sprintf("metrics: %s already registered as a %v func", name, fc.typ))
	}
}

// funcCollector reports f's samples as const metrics of one family.
type funcCollector struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	n    int
	f    func() []Sample
}

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.f() {
		if len(s.Labels) != c.n {
			continue
		}
		m, err := prometheus.NewConstMetric(c.desc, c.typ, s.Value, s.Labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(c.desc, err)
		}
		ch <- m
	}
}

// Inc adds 1.
func (c *Counter) Inc(lv ...string) { c.vec.WithLabelValues(lv...).Inc() }

// Add adds v (negative v is ignored: counters never go down).
func (c *Counter) Add(v float64, lv ...string) {
	if v < 0 {
		return
	}
	c.vec.WithLabelValues(lv...).Add(v)
}

// Value returns the current value for the label values (0 for a series
// never written; reading does not create it).
func (c *Counter) Value(lv ...string) float64 {
	return find(c.vec, c.labels, lv).GetCounter().GetValue()
}

// Set sets the gauge.
func (g *Gauge) Set(v float64, lv ...string) { g.vec.WithLabelValues(lv...).Set(v) }

// Add adds v to the gauge.
func (g *Gauge) Add(v float64, lv ...string) { g.vec.WithLabelValues(lv...).Add(v) }

// Value returns the current value for the label values.
func (g *Gauge) Value(lv ...string) float64 {
	return find(g.vec, g.labels, lv).GetGauge().GetValue()
}

// Observe records v.
func (h *Histogram) Observe(v float64, lv ...string) { h.vec.WithLabelValues(lv...).Observe(v) }

// Count returns how many observations were recorded for the label values.
func (h *Histogram) Count(lv ...string) uint64 {
	return find(h.vec, h.labels, lv).GetHistogram().GetSampleCount()
}

// find returns the written series of c whose labels names carry the values
// lv, or nil (whose getters read 0).
func find(c prometheus.Collector, names, lv []string) *dto.Metric {
	if len(lv) != len(names) {
		panic(fmt.Sprintf("metrics: want %d label values %v, got %d", len(names), names, len(lv)))
	}
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var found *dto.Metric
	for m := range ch {
		if found != nil {
			continue // drain
		}
		var d dto.Metric
		if m.Write(&d) != nil {
			continue
		}
		if hasLabels(&d, names, lv) {
			found = &d
		}
	}
	return found
}

func hasLabels(d *dto.Metric, names, lv []string) bool {
	for i, n := range names {
		ok := lv[i] == "" // an absent label reads as empty
		for _, lp := range d.GetLabel() {
			if lp.GetName() == n {
				ok = lp.GetValue() == lv[i]
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// WriteTo renders every family in the Prometheus text format (0.0.4), as
// the handler does. A gather error (e.g. a collector func reporting one
// series twice) is returned after writing everything that was gathered.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	mfs, gerr := r.reg.Gather()
	var n int64
	for _, mf := range mfs {
		k, err := expfmt.MetricFamilyToText(w, mf)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, gerr
}

// Handler serves the registry (promhttp.HandlerFor).
func (r *Registry) Handler() http.Handler { return r.handler }

// DefaultLatencyBuckets are request latency upper bounds in seconds.
var DefaultLatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
