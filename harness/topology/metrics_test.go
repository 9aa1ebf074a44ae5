package topology

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseMetricsAndSum(t *testing.T) {
	text := `# HELP agent_messages_total messages
# TYPE agent_messages_total counter
agent_messages_total{region="us-east-1",outcome="ok"} 3
agent_messages_total{region="us-east-1",outcome="error"} 2
agent_messages_total{region="us-east-1",outcome="ok"} 1
agent_cache_hits_total{region="us-east-1"} 4
up 1
garbage line
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := m[`agent_messages_total{region="us-east-1",outcome="ok"}`]; got != 4 {
		t.Fatalf("duplicate series not summed: %v", got)
	}
	if got := MetricSum(m, "agent_messages_total", nil); got != 6 {
		t.Fatalf("sum by name: %v", got)
	}
	if got := MetricSum(m, "agent_messages_total", map[string]string{"outcome": "error"}); got != 2 {
		t.Fatalf("sum with label: %v", got)
	}
	if m["up"] != 1 {
		t.Fatalf("unlabelled series: %v", m)
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
