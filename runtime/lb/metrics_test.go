package lb

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/needtool"
)

// GET /lb/metrics: the LB's rotation as Prometheus metrics, behind the
// status token like /lb/status, following the regions' health, and valid
// for `promtool check metrics` (when promtool is installed).
func TestLBMetrics(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 50, "eu-west-1": 50}, func(c *Config) { c.StatusToken = "s3cret" })
	if resp, _ := fx.do(t, http.MethodGet, "/lb/metrics", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: %d, want 401", resp.StatusCode)
	}
	if fx.totalHits() != 0 {
		t.Fatal("/lb/metrics reached a region")
	}
	if r := httptestRequest("/lb/metrics"); !OperatorPath(r) {
		t.Error("/lb/metrics is not an operator path (counted by the in-flight cap)")
	}
	auth := map[string]string{"Authorization": "Bearer s3cret"}
	scrape := func() string {
		t.Helper()
		resp, body := fx.do(t, http.MethodGet, "/lb/metrics", "", auth)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("/lb/metrics: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		return body
	}
	fx.servedBy(t, "/v1/sessions/s1")
	fx.checkRounds(1)
	body := scrape()
	for _, want := range []string{
		`lb_region_in_rotation{region="us-east-1"} 1`,
		`lb_region_in_rotation{region="eu-west-1"} 1`,
		`lb_region_healthy{region="eu-west-1"} 1`,
		`lb_regions_in_rotation 2`,
		`lb_health_rounds_total 0`, // CheckNow is not a loop round
		`# TYPE lb_region_requests_total counter`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("missing %q in\n%s", want, body)
		}
	}
	if !strings.Contains(body, `lb_region_requests_total{region="us-east-1"} 1`) && !strings.Contains(body, `lb_region_requests_total{region="eu-west-1"} 1`) {
		t.Errorf("the proxied request is not counted:\n%s", body)
	}

	for _, f := range fx.regions {
		f.healthCode.Store(503)
	}
	fx.checkRounds(2) // failure_threshold 2
	body = scrape()
	// a client now gets the status page: a 5xx answer users saw
	if resp, _ := fx.do(t, http.MethodPost, "/v1/sessions", `{"user_id":"u"}`, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("with no region in rotation: %d, want 503", resp.StatusCode)
	}
	body = scrape()
	for _, want := range []string{`lb_regions_in_rotation 0`, `lb_region_in_rotation{region="us-east-1"} 0`, `lb_region_healthy{region="eu-west-1"} 0`,
		`lb_responses_total{class="2xx"} 1`, `lb_responses_total{class="5xx"} 1`} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("all regions degraded: missing %q in\n%s", want, body)
		}
	}

	promtool := needtool.Path(t, "Debian: apt-get install prometheus", "promtool")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n--- /lb/metrics:\n%s", err, out, body)
	}
	t.Logf("promtool check metrics: exit 0, output %q", out)
}

func httptestRequest(path string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://lb"+path, nil)
	return r
}
