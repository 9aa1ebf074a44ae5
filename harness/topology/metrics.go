package topology

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ParseMetrics reads the Prometheus text format (0.0.4) with
// expfmt.TextParser into series key -> value, summing duplicate series. The
// key is SeriesKey(name, labels): one per sample line as the text format
// writes it, so a histogram gives name_bucket{…,le="…"}, name_sum and
// name_count keys, and a summary name{…,quantile="…"}, name_sum and
// name_count. Malformed input is an error (the text names the line).
func ParseMetrics(r io.Reader) (map[string]float64, error) {
	var p expfmt.TextParser
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	out := map[string]float64{}
	add := func(name string, labels map[string]string, v float64) {
		out[SeriesKey(name, labels)] += v
	}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			lbl := make(map[string]string, len(m.GetLabel())+1)
			for _, lp := range m.GetLabel() {
				lbl[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add(name, lbl, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, lbl, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, lbl, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					add(name+"_bucket", with(lbl, model.BucketLabel, formatFloat(b.GetUpperBound())), float64(b.GetCumulativeCount()))
				}
				if h.SampleSum != nil {
					add(name+"_sum", lbl, h.GetSampleSum())
				}
				if h.SampleCount != nil {
					add(name+"_count", lbl, float64(h.GetSampleCount()))
				}
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					add(name, with(lbl, model.QuantileLabel, formatFloat(q.GetQuantile())), q.GetValue())
				}
				if s.SampleSum != nil {
					add(name+"_sum", lbl, s.GetSampleSum())
				}
				if s.SampleCount != nil {
					add(name+"_count", lbl, float64(s.GetSampleCount()))
				}
			}
		}
	}
	return out, nil
}

// with returns a copy of labels plus k=v.
func with(labels map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for lk, lv := range labels {
		out[lk] = lv
	}
	out[k] = v
	return out
}

// formatFloat writes le/quantile values as the text format does.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// SeriesKey is the ParseMetrics key of one series: name{k="v",...} with the
// labels sorted by name, empty values left out (Prometheus treats an empty
// label as an absent one) and values escaped as in the text format (\\, \"
// and \n), so two different series never share a key. A name or label name
// outside [a-zA-Z_:][a-zA-Z0-9_:]* is written quoted, as the UTF-8 text
// format does ({"name",...}).
func SeriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k, v := range labels {
		if v != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	legacyName := model.IsValidLegacyMetricName(name)
	if legacyName {
		b.WriteString(name)
		if len(keys) == 0 {
			return b.String()
		}
	}
	b.WriteByte('{')
	if !legacyName {
		b.WriteString(quote(name))
	}
	for i, k := range keys {
		if i > 0 || !legacyName {
			b.WriteByte(',')
		}
		if model.LabelName(k).IsValidLegacy() {
			b.WriteString(k)
		} else {
			b.WriteString(quote(k))
		}
		b.WriteByte('=')
		b.WriteString(quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func quote(s string) string { return `"` + escaper.Replace(s) + `"` }

// splitKey parses a SeriesKey back into name and labels; ok is false when
// key is not one.
func splitKey(key string) (name string, labels map[string]string, ok bool) {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key, nil, key != ""
	}
	name, rest := key[:i], key[i+1:]
	labels = map[string]string{}
	first := true
	for {
		if rest == "" {
			return "", nil, false
		}
		if rest[0] == '}' {
			return name, labels, rest == "}" && name != ""
		}
		if !first {
			if rest[0] != ',' {
				return "", nil, false
			}
			rest = rest[1:]
		}
		var tok string
		if strings.HasPrefix(rest, `"`) {
			if tok, rest, ok = unquote(rest); !ok {
				return "", nil, false
			}
			if first && name == "" && !strings.HasPrefix(rest, "=") {
				name, first = tok, false // {"utf-8 name",...}
				continue
			}
		} else {
			j := strings.IndexByte(rest, '=')
			if j <= 0 {
				return "", nil, false
			}
			tok, rest = rest[:j], rest[j:]
		}
		if !strings.HasPrefix(rest, "=") {
			return "", nil, false
		}
		var v string
		if v, rest, ok = unquote(rest[1:]); !ok {
			return "", nil, false
		}
		labels[tok] = v
		first = false
	}
}

// unquote reads one "…" string with text-format escapes from the start of s.
func unquote(s string) (val, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 == len(s) {
				return "", s, false
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case '\\', '"':
				b.WriteByte(s[i])
			default:
				return "", s, false
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}

// MetricSum adds every series of metric name whose labels carry exactly the
// values in match (e.g. {"outcome":"ok"}), across the other labels. A
// label matched with "" selects series without that label, as in
// Prometheus. Keys that are not SeriesKey keys never match.
func MetricSum(m map[string]float64, name string, match map[string]string) float64 {
	var sum float64
	for key, v := range m {
		n, labels, ok := splitKey(key)
		if !ok || n != name {
			continue
		}
		matched := true
		for k, want := range match {
			if labels[k] != want {
				matched = false
				break
			}
		}
		if matched {
			sum += v
		}
	}
	return sum
}
