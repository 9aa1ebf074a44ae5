// Package metrics is a tiny Prometheus text-format (0.0.4) registry:
// labelled counters and gauges, a latency histogram, and collector funcs
// for counters kept by other packages. No external dependency.
package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Sample is one labelled value reported by a collector func.
type Sample struct {
	Labels []string // label values, in the order of the family's label names
	Value  float64
}

// Registry holds metric families; const labels (e.g. region) go on every series.
type Registry struct {
	mu       sync.Mutex
	constLbl string // pre-rendered `k="v",...`
	families []*family
	byName   map[string]*family
}

type family struct {
	name, help, typ string
	labels          []string
	mu              sync.Mutex
	values          map[string]*series // key: joined label values
	collect         func() []Sample
	buckets         []float64
}

type series struct {
	lv     []string
	value  float64
	counts []uint64 // histogram: per-bucket (non-cumulative)
	sum    float64
	count  uint64
}

// NewRegistry returns a registry adding constLabels (name, value pairs) to every series.
func NewRegistry(constLabels ...string) *Registry {
	if len(constLabels)%2 != 0 {
		panic("metrics: constLabels must be name/value pairs")
	}
	var parts []string
	for i := 0; i < len(constLabels); i += 2 {
		parts = append(parts, constLabels[i]+`="`+escape(constLabels[i+1])+`"`)
	}
	return &Registry{constLbl: strings.Join(parts, ","), byName: map[string]*family{}}
}

func (r *Registry) add(f *family) *family {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byName[f.name]; ok {
		// Re-registration returns the existing family so wiring code may be idempotent.
		return old
	}
	f.values = map[string]*series{}
	r.byName[f.name] = f
	r.families = append(r.families, f)
	return f
}

// Counter is a monotonically increasing labelled value.
type Counter struct{ f *family }

// Gauge is a labelled value that can go up and down.
type Gauge struct{ f *family }

// Histogram counts observations into buckets.
type Histogram struct{ f *family }

// Counter registers (or returns) a counter family.
func (r *Registry) Counter(name, help string, labels ...string) *Counter {
	return &Counter{r.add(&family{name: name, help: help, typ: "counter", labels: labels})}
}

// Gauge registers (or returns) a gauge family.
func (r *Registry) Gauge(name, help string, labels ...string) *Gauge {
	return &Gauge{r.add(&family{name: name, help: help, typ: "gauge", labels: labels})}
}

// Histogram registers a histogram with upper bounds buckets (sorted ascending).
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *Histogram {
	b := append([]float64(nil), buckets...)
	sort.Float64s(b)
	return &Histogram{r.add(&family{name: name, help: help, typ: "histogram", labels: labels, buckets: b})}
}

// CounterFunc registers a counter whose samples come from f at scrape time
// (for counters kept by other packages' Stats()).
func (r *Registry) CounterFunc(name, help string, labels []string, f func() []Sample) {
	r.add(&family{name: name, help: help, typ: "counter", labels: labels, collect: f})
}

// GaugeFunc registers a gauge whose samples come from f at scrape time.
func (r *Registry) GaugeFunc(name, help string, labels []string, f func() []Sample) {
	r.add(&family{name: name, help: help, typ: "gauge", labels: labels, collect: f})
}

func (f *family) get(lv []string) *series {
	if len(lv) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %s wants %d label values, got %d", f.name, len(f.labels), len(lv)))
	}
	key := strings.Join(lv, "\xff")
	s, ok := f.values[key]
	if !ok {
		s = &series{lv: append([]string(nil), lv...)}
		if f.typ == "histogram" {
			s.counts = make([]uint64, len(f.buckets))
		}
		f.values[key] = s
	}
	return s
}

// Inc adds 1.
func (c *Counter) Inc(lv ...string) { c.Add(1, lv...) }

// Add adds v (negative v is ignored: counters never go down).
func (c *Counter) Add(v float64, lv ...string) {
	if v < 0 {
		return
	}
	c.f.mu.Lock()
	c.f.get(lv).value += v
	c.f.mu.Unlock()
}

// Value returns the current value for the label values.
func (c *Counter) Value(lv ...string) float64 { return value(c.f, lv) }

// Set sets the gauge.
func (g *Gauge) Set(v float64, lv ...string) {
	g.f.mu.Lock()
	g.f.get(lv).value = v
	g.f.mu.Unlock()
}

// Add adds v to the gauge.
func (g *Gauge) Add(v float64, lv ...string) {
	g.f.mu.Lock()
	g.f.get(lv).value += v
	g.f.mu.Unlock()
}

// Value returns the current value for the label values.
func (g *Gauge) Value(lv ...string) float64 { return value(g.f, lv) }

func value(f *family, lv []string) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.get(lv).value
}

// Observe records v.
func (h *Histogram) Observe(v float64, lv ...string) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	s := h.f.get(lv)
	if i := sort.SearchFloat64s(h.f.buckets, v); i < len(s.counts) {
		s.counts[i]++
	}
	s.sum += v
	s.count++
}

// Count returns how many observations were recorded for the label values.
func (h *Histogram) Count(lv ...string) uint64 {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	return h.f.get(lv).count
}

// WriteTo renders every family in the Prometheus text format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	fams := append([]*family(nil), r.families...)
	r.mu.Unlock()
	var b strings.Builder
	for _, f := range fams {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
		var ss []*series
		if f.collect != nil {
			for _, s := range f.collect() {
				if len(s.Labels) == len(f.labels) {
					ss = append(ss, &series{lv: s.Labels, value: s.Value})
				}
			}
		} else {
			f.mu.Lock()
			for _, s := range f.values {
				cp := *s
				cp.counts = append([]uint64(nil), s.counts...)
				ss = append(ss, &cp)
			}
			f.mu.Unlock()
		}
		sort.Slice(ss, func(i, j int) bool { return strings.Join(ss[i].lv, "\xff") < strings.Join(ss[j].lv, "\xff") })
		for _, s := range ss {
			if f.typ != "histogram" {
				fmt.Fprintf(&b, "%s%s %s\n", f.name, r.labels(f.labels, s.lv, "", ""), num(s.value))
				continue
			}
			var cum uint64
			for i, ub := range f.buckets {
				cum += s.counts[i]
				fmt.Fprintf(&b, "%s_bucket%s %d\n", f.name, r.labels(f.labels, s.lv, "le", num(ub)), cum)
			}
			fmt.Fprintf(&b, "%s_bucket%s %d\n", f.name, r.labels(f.labels, s.lv, "le", "+Inf"), s.count)
			fmt.Fprintf(&b, "%s_sum%s %s\n", f.name, r.labels(f.labels, s.lv, "", ""), num(s.sum))
			fmt.Fprintf(&b, "%s_count%s %d\n", f.name, r.labels(f.labels, s.lv, "", ""), s.count)
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func (r *Registry) labels(names, values []string, extraK, extraV string) string {
	var parts []string
	if r.constLbl != "" {
		parts = append(parts, r.constLbl)
	}
	for i, n := range names {
		parts = append(parts, n+`="`+escape(values[i])+`"`)
	}
	if extraK != "" {
		parts = append(parts, extraK+`="`+extraV+`"`)
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// Handler serves the registry.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = r.WriteTo(w)
	})
}

func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escape(s string) string { return labelEscaper.Replace(s) }

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

// DefaultLatencyBuckets are request latency upper bounds in seconds.
var DefaultLatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
