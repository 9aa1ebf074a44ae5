package config

import (
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/runtime/lb"
)

// Spec carries every setting onto the runtime's types unchanged.
func TestSpecMapsOntoTheRuntimeTypes(t *testing.T) {
	c, issues := mustParse(t, base)
	if issues = providerIgnored(issues); len(issues) != 0 {
		t.Fatal(issues)
	}
	c.Checkpoint = Checkpoint{Policy: PolicyPeriodic, Interval: 2 * time.Second}
	s := c.Spec()
	wantHealth := lb.HealthConfig{Path: "/health", Enabled: true, Interval: 10 * time.Second, Timeout: 3 * time.Second, FailureThreshold: 3, SuccessThreshold: 2}
	if s.LBHealth != wantHealth || s.Outlier != c.LB.Outlier || s.Retry != c.LB.Retry {
		t.Errorf("lb settings: %+v %+v %+v", s.LBHealth, s.Outlier, s.Retry)
	}
	if s.CheckpointPolicy != PolicyPeriodic || s.CheckpointInterval != 2*time.Second || s.SessionTTL != time.Hour ||
		s.ConflictStrategy != StrategyVersionWins || s.CacheTTL != 10*time.Minute || s.WarmupStaleness != 30*time.Second ||
		!s.Replicate || !s.WarmOnStart || !s.AlertsEnabled {
		t.Errorf("runtime settings: %+v", s)
	}
	if got := []topology.RegionSpec{{Name: "us-east-1", Weight: 50}, {Name: "eu-west-1", Weight: 30, Priority: 1}, {Name: "ap-southeast-1", Weight: 20, Priority: 2}}; len(s.Regions) != 3 || s.Regions[0] != got[0] || s.Regions[1] != got[1] || s.Regions[2] != got[2] {
		t.Errorf("regions: %+v", s.Regions)
	}
	rc := s.RegionConfig("eu-west-1")
	if rc.Health != c.RegionHealth || rc.Checkpoint != c.Checkpoint || rc.Session.TTL != c.Session.TTL || rc.Cache.Staleness != c.Cache.Staleness {
		t.Errorf("region config: %+v", rc)
	}
	if lc := s.LBConfig(); lc.Health != wantHealth || lc.Outlier != c.LB.Outlier || lc.Retry != c.LB.Retry || len(lc.Regions) != 3 || lc.Regions[1].Weight != 30 {
		t.Errorf("lb config: %+v", lc)
	}
}

// What the binaries would refuse is an error of the file, naming its field
// and line, even where the file's own rules are looser.
func TestRuntimeRefusalsNameTheSREField(t *testing.T) {
	cases := []struct{ old, repl, path, msg string }{
		{"attempts: 2", "attempts: 11", "lb.retry.attempts", "global-lb refuses it: must be between 1 and 10"},
		{"retry:\n    enabled: true\n    attempts: 2", "retry:\n    enabled: false\n    attempts: -1", "lb.retry.attempts", "global-lb refuses it"},
		{"outlier:\n    enabled: true\n    consecutive_failures: 5\n    ejection: 30s", "outlier:\n    enabled: false\n    consecutive_failures: 5\n    ejection: -1s", "lb.outlier.ejection", "global-lb refuses it: must be > 0"},
	}
	for _, tc := range cases {
		src, _ := mutate(t, tc.old, tc.repl)
		c, issues := mustParse(t, src)
		got, ok := find(issues, SeverityError, tc.path)
		if !ok || !strings.Contains(got.Msg, tc.msg) || got.Line == 0 || got.Line != c.Line(tc.path) {
			t.Errorf("%q: want an error on %s containing %q with its line; issues %v", tc.repl, tc.path, tc.msg, issues)
		}
	}
	// The file's own errors are not echoed by the binaries' checks.
	src, _ := mutate(t, "policy: on-ack", "policy: sometimes")
	_, issues := mustParse(t, src)
	for _, i := range issues {
		if strings.Contains(i.Msg, "refuses it") {
			t.Errorf("echoed: %s", i)
		}
	}
}

func TestSREPathOfARuntimeField(t *testing.T) {
	for in, want := range map[string]string{
		"agent-runtime health.timeout":    "region_health.timeout",
		"agent-runtime regions[1].weight": "regions[1].weight",
		"agent-runtime session.ttl":       "session.ttl",
		"agent-runtime listen":            "",
		"global-lb health.interval":       "lb.health.interval",
		"global-lb retry.attempts":        "lb.retry.attempts",
		"global-lb alert.name":            "",
	} {
		bin, field, _ := strings.Cut(in, " ")
		if got := sreField(bin, field); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
