package topology

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/agentops/failover-harness/runtime/metrics"
)

func TestParseMetricsAndSum(t *testing.T) {
	text := `# HELP agent_messages_total messages
# TYPE agent_messages_total counter
agent_messages_total{region="us-east-1",outcome="ok"} 3
agent_messages_total{region="us-east-1",outcome="error"} 2
agent_messages_total{outcome="ok",region="us-east-1"} 1
agent_cache_hits_total{region="us-east-1"} 4
# a comment
up 1
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	// Keys are canonical: labels sorted by name, whatever order the text had.
	if got := m[`agent_messages_total{outcome="ok",region="us-east-1"}`]; got != 4 {
		t.Fatalf("duplicate series not summed: %v in %v", got, m)
	}
	if got := m[SeriesKey("agent_messages_total", map[string]string{"region": "us-east-1", "outcome": "ok"})]; got != 4 {
		t.Fatalf("SeriesKey lookup: %v", got)
	}
	if got := MetricSum(m, "agent_messages_total", nil); got != 6 {
		t.Fatalf("sum by name: %v", got)
	}
	if got := MetricSum(m, "agent_messages_total", map[string]string{"outcome": "error"}); got != 2 {
		t.Fatalf("sum with label: %v", got)
	}
	if m["up"] != 1 || len(m) != 4 {
		t.Fatalf("unlabelled series: %v", m)
	}
}

// The old parser matched labels by substring of the rendered series:
// region="us-east-1" also matched peer_region="us-east-1", and outcome="ok"
// matched xoutcome="ok".
func TestMetricSumMatchesLabelsExactly(t *testing.T) {
	text := `# TYPE cache_warmup_received_total counter
cache_warmup_received_total{region="us-east-1"} 1
cache_warmup_received_total{region="us-east-10"} 10
cache_warmup_received_total{region="us-east-1",xoutcome="ok"} 100
cache_warmup_received_total{peer_region="us-east-1",region="ap-southeast-1"} 100000
cache_warmup_received_total{outcome="ok",region="us-east-1"} 1000
cache_warmup_received_total{outcome="ok\",region=\"us-east-1",region="eu-west-1"} 10000
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		match map[string]string
		want  float64
	}{
		{nil, 111111},
		{map[string]string{"region": "us-east-1"}, 1101},
		{map[string]string{"region": "us-east-10"}, 10},
		{map[string]string{"region": "us-east"}, 0},
		{map[string]string{"outcome": "ok"}, 1000},
		{map[string]string{"outcome": "ok", "region": "us-east-1"}, 1000},
		{map[string]string{"outcome": `ok",region="us-east-1`}, 10000},
		{map[string]string{"region": "eu-west-1"}, 10000},
		{map[string]string{"outcome": ""}, 100111}, // absent label reads as ""
		{map[string]string{"region": "ap-southeast-1"}, 100000},
		{map[string]string{"peer_region": "us-east-1"}, 100000},
		{map[string]string{"nope": "x"}, 0},
	} {
		if got := MetricSum(m, "cache_warmup_received_total", tc.match); got != tc.want {
			t.Errorf("MetricSum(%v) = %v, want %v (keys %v)", tc.match, got, tc.want, m)
		}
	}
	if got := MetricSum(m, "cache_warmup_received", nil); got != 0 {
		t.Fatalf("name prefix matched: %v", got)
	}
}

func TestParseMetricsHistogramAndSummary(t *testing.T) {
	text := `# HELP http_request_duration_seconds Latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{region="us-east-1",route="msg",le="0.01"} 2
http_request_duration_seconds_bucket{region="us-east-1",route="msg",le="1.0"} 3
http_request_duration_seconds_bucket{region="us-east-1",route="msg",le="+Inf"} 4
http_request_duration_seconds_sum{region="us-east-1",route="msg"} 5.065
http_request_duration_seconds_count{region="us-east-1",route="msg"} 4
http_request_duration_seconds_bucket{region="us-east-1",route="get",le="0.01"} 1
http_request_duration_seconds_bucket{region="us-east-1",route="get",le="1.0"} 1
http_request_duration_seconds_bucket{region="us-east-1",route="get",le="+Inf"} 1
http_request_duration_seconds_sum{region="us-east-1",route="get"} 0.001
http_request_duration_seconds_count{region="us-east-1",route="get"} 1
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{region="us-east-1",quantile="0.5"} 0.05
rpc_seconds{region="us-east-1",quantile="0.99"} 0.5
rpc_seconds_sum{region="us-east-1"} 12
rpc_seconds_count{region="us-east-1"} 100
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]float64{
		`http_request_duration_seconds_bucket{le="0.01",region="us-east-1",route="msg"}`: 2,
		`http_request_duration_seconds_bucket{le="1",region="us-east-1",route="msg"}`:    3, // le as a canonical float
		`http_request_duration_seconds_bucket{le="+Inf",region="us-east-1",route="msg"}`: 4,
		`http_request_duration_seconds_sum{region="us-east-1",route="msg"}`:              5.065,
		`http_request_duration_seconds_count{region="us-east-1",route="msg"}`:            4,
		`rpc_seconds{quantile="0.5",region="us-east-1"}`:                                 0.05,
		`rpc_seconds{quantile="0.99",region="us-east-1"}`:                                0.5,
		`rpc_seconds_sum{region="us-east-1"}`:                                            12,
		`rpc_seconds_count{region="us-east-1"}`:                                          100,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if len(m) != 14 {
		t.Errorf("%d series, want 14: %v", len(m), m)
	}
	sum := func(name string, match map[string]string) float64 { return MetricSum(m, name, match) }
	if got := sum("http_request_duration_seconds_count", nil); got != 5 {
		t.Errorf("count over routes: %v", got)
	}
	if got := sum("http_request_duration_seconds_bucket", map[string]string{"le": "+Inf", "route": "msg"}); got != 4 {
		t.Errorf("+Inf bucket: %v", got)
	}
	if got := sum("http_request_duration_seconds", nil); got != 0 {
		t.Errorf("a histogram's bare name has no samples: %v", got)
	}
	if got := sum("rpc_seconds", map[string]string{"quantile": "0.99"}); got != 0.5 {
		t.Errorf("quantile: %v", got)
	}
}

func TestParseMetricsRejectsMalformedInput(t *testing.T) {
	for _, text := range []string{
		"garbage line\n",
		"x{a=\"1\"} not-a-number\n",
		"x{a=\"1\" 1\n",
		"# TYPE x counter\n# TYPE x gauge\nx 1\n",
	} {
		if m, err := ParseMetrics(strings.NewReader(text)); err == nil {
			t.Errorf("%q parsed: %v", text, m)
		}
	}
	if m, err := ParseMetrics(strings.NewReader("")); err != nil || len(m) != 0 {
		t.Fatalf("empty input: %v %v", m, err)
	}
}

func TestSeriesKeyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		key    string
	}{
		{"up", nil, "up"},
		{"up", map[string]string{"empty": ""}, "up"},
		{"x_total", map[string]string{"b": "2", "a": "1"}, `x_total{a="1",b="2"}`},
		{"x_total", map[string]string{"l": "a\"b\\c\nd,e}f"}, `x_total{l="a\"b\\c\nd,e}f"}`},
		{"dotted.name", nil, `{"dotted.name"}`},
		{"dotted.name", map[string]string{"a": "1", "la.bel": "x"}, `{"dotted.name",a="1","la.bel"="x"}`},
	} {
		key := SeriesKey(tc.name, tc.labels)
		if key != tc.key {
			t.Errorf("SeriesKey(%q, %v) = %s, want %s", tc.name, tc.labels, key, tc.key)
		}
		n, l, ok := splitKey(key)
		want := map[string]string{}
		for k, v := range tc.labels {
			if v != "" {
				want[k] = v
			}
		}
		if !ok || n != tc.name || !maps.Equal(l, want) {
			t.Errorf("splitKey(%s) = %q %v %v", key, n, l, ok)
		}
	}
	for _, bad := range []string{"", "{}", `{a="1"}`, `x{a="1"`, `x{a=1}`, `x{a="1"b="2"}`, `x{a="\q"}`, `x{a="1"}y`} {
		if n, l, ok := splitKey(bad); ok {
			t.Errorf("splitKey(%q) accepted: %q %v", bad, n, l)
		}
	}
}

// What the runtime serves parses, and the harness's sums match the
// runtime's own counters.
func TestParseMetricsFromRuntimeRegistry(t *testing.T) {
	r := metrics.NewRegistry("region", "us-east-1")
	c := r.Counter("agent_messages_total", "Messages handled, by outcome.", "outcome")
	c.Add(3, "ok")
	c.Inc("error")
	h := r.Histogram("http_request_duration_seconds", "Latency.", metrics.DefaultLatencyBuckets, "route")
	h.Observe(0.002, "a")
	h.Observe(20, "b")
	r.CounterFunc("cache_warmup_pulled_total", "Pulled.", nil, func() []metrics.Sample { return []metrics.Sample{{Value: 7}} })
	var sb strings.Builder
	if _, err := r.WriteTo(&sb); err != nil {
		t.Fatal(err)
	}
	m, err := ParseMetrics(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, sb.String())
	}
	region := map[string]string{"region": "us-east-1"}
	for _, tc := range []struct {
		name  string
		match map[string]string
		want  float64
	}{
		{"agent_messages_total", region, 4},
		{"agent_messages_total", map[string]string{"region": "us-east-1", "outcome": "ok"}, c.Value("ok")},
		{"cache_warmup_pulled_total", region, 7},
		{"http_request_duration_seconds_count", region, 2},
		{"http_request_duration_seconds_bucket", map[string]string{"le": "10"}, 1},
		{"http_request_duration_seconds_bucket", map[string]string{"le": "+Inf"}, 2},
		{"agent_messages_total", map[string]string{"region": "us-east"}, 0},
	} {
		if got := MetricSum(m, tc.name, tc.match); got != tc.want {
			t.Errorf("MetricSum(%s, %v) = %v, want %v", tc.name, tc.match, got, tc.want)
		}
	}
}

func TestSpecDefaultsAndValidate(t *testing.T) {
	s := Spec{}.WithDefaults()
	if len(s.Regions) != 3 || s.Regions[0].Weight != 50 || s.LBHealth.FailureThreshold == 0 || s.LBHealth.Interval == 0 {
		t.Fatalf("defaults not applied: %+v", s)
	}
	bad := s
	bad.Regions = append([]RegionSpec(nil), s.Regions...)
	bad.Regions[1].Name = bad.Regions[0].Name
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "spec.regions[1].name") {
		t.Fatalf("duplicate region must name the field: %v", err)
	}
}

func TestLBRegionDecodesEveryField(t *testing.T) {
	var st LBStatus
	body := `{"regions":[{"name":"us-east-1","weight":50,"status":"ejected","ejected_until":"2026-01-02T03:04:05.5Z","in_rotation":false,"requests":7}],"transitions":[]}`
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	r, ok := st.Region("us-east-1")
	if !ok || r.Weight != 50 || r.Status != "ejected" || r.InRotation || r.Requests != 7 || r.EjectedUntil.IsZero() {
		t.Fatalf("decoded %+v", r)
	}
}
