package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// base is a valid config in block style, one field per line, so tests can
// mutate one line and know where the issue must point.
const base = `regions:
  - name: us-east-1
    endpoint: http://127.0.0.1:9001
    weight: 50
    priority: 0
    continent: na
  - name: eu-west-1
    endpoint: ""
    weight: 30
    priority: 1
    continent: eu
  - name: ap-southeast-1
    weight: 20
    priority: 2
lb:
  health:
    interval: 10s
    timeout: 3s
    failure_threshold: 3
    success_threshold: 2
  outlier:
    enabled: true
    consecutive_failures: 5
    ejection: 30s
  retry:
    enabled: true
    attempts: 2
    per_try_timeout: 10s
checkpoint:
  policy: on-ack
session:
  ttl: 1h
  max_messages: 50
conflict_strategy: version-wins
cache:
  ttl: 10m
  staleness: 30s
  replicate: true
alert:
  enabled: true
  webhook: http://127.0.0.1:9093/hook
region_health:
  interval: 10s
  timeout: 3s
  healthy_threshold: 2
  unhealthy_threshold: 3
`

// mutate replaces the first occurrence of old (which must exist) and
// returns the new text and the 1-based line where the replacement starts.
func mutate(t *testing.T, old, repl string) (string, int) {
	t.Helper()
	i := strings.Index(base, old)
	if i < 0 {
		t.Fatalf("base has no %q", old)
	}
	return base[:i] + repl + base[i+len(old):], strings.Count(base[:i], "\n") + 1
}

func find(issues []Issue, sev, path string) (Issue, bool) {
	for _, i := range issues {
		if i.Severity == sev && i.Path == path {
			return i, true
		}
	}
	return Issue{}, false
}

func mustParse(t *testing.T, src string) (*Config, []Issue) {
	t.Helper()
	c, issues, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c, issues
}

// providerIgnored drops the warnings on region fields the local and docker
// providers ignore (base and the examples set continents on purpose).
func providerIgnored(issues []Issue) []Issue {
	var out []Issue
	for _, i := range issues {
		if i.Severity == SeverityWarning && strings.HasSuffix(i.Msg, IgnoredByProviders) {
			continue
		}
		out = append(out, i)
	}
	return out
}

func TestBaseIsClean(t *testing.T) {
	c, issues := mustParse(t, base)
	if issues = providerIgnored(issues); len(issues) != 0 {
		t.Fatalf("want no issues, got %v", issues)
	}
	if len(c.Regions) != 3 || c.Regions[1].Name != "eu-west-1" || c.Regions[0].Endpoint != "http://127.0.0.1:9001" {
		t.Fatalf("regions decoded wrong: %+v", c.Regions)
	}
	if c.LB.Health.Interval != 10*time.Second || c.LB.Retry.PerTryTimeout != 10*time.Second || c.Session.TTL != time.Hour {
		t.Fatalf("durations decoded wrong: %+v %+v", c.LB, c.Session)
	}
}

func TestExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "examples")
	t.Run("article", func(t *testing.T) {
		c, issues, err := Load(filepath.Join(dir, "article-production.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if HasErrors(issues) {
			t.Fatalf("article config must be valid, got %v", issues)
		}
		w, ok := find(issues, SeverityWarning, "checkpoint.policy")
		if !ok || !strings.Contains(w.Msg, "lose up to 5s of acknowledged conversation") || w.Line == 0 {
			t.Fatalf("want periodic-checkpoint warning with a line, got %v", issues)
		}
		for _, p := range []string{"lb.health.interval", "alert.webhook", "lb.outlier.enabled", "lb.retry.enabled", "region_health.unhealthy_threshold"} {
			if _, ok := find(issues, SeverityWarning, p); !ok {
				t.Errorf("want warning on %s, got %v", p, issues)
			}
		}
		if got := []int{c.Regions[0].Weight, c.Regions[1].Weight, c.Regions[2].Weight}; got[0] != 50 || got[1] != 30 || got[2] != 20 {
			t.Errorf("weights = %v", got)
		}
		if c.Checkpoint.Policy != PolicyPeriodic || c.ConflictStrategy != StrategyVersionWins || c.LB.Health.Interval != 30*time.Second {
			t.Errorf("article settings decoded wrong: %+v", c)
		}
	})
	t.Run("recommended", func(t *testing.T) {
		c, issues, err := Load(filepath.Join(dir, "recommended.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if issues := providerIgnored(issues); len(issues) != 0 {
			t.Fatalf("recommended config must have no issues but the continents' warning, got %v", issues)
		}
		if c.Checkpoint.Policy != PolicyOnAck || !c.LB.Outlier.Enabled || !c.LB.Retry.Enabled || !c.Alert.Enabled {
			t.Errorf("recommended settings decoded wrong: %+v", c)
		}
	})
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, old, repl, path, msg string
	}{
		{"negative weight", "weight: 30", "weight: -1", "regions[1].weight", "must be >= 0"},
		{"weight above Route 53", "weight: 30", "weight: 256", "regions[1].weight", "must be <= 255"},
		{"threshold too high", "failure_threshold: 3", "failure_threshold: 11", "lb.health.failure_threshold", "must be 1..10 (Route 53)"},
		{"threshold zero", "failure_threshold: 3", "failure_threshold: 0", "lb.health.failure_threshold", "must be 1..10 (Route 53)"},
		{"success threshold", "success_threshold: 2", "success_threshold: 0", "lb.health.success_threshold", "must be 1..10"},
		{"duplicate region", "name: ap-southeast-1", "name: us-east-1", "regions[2].name", `duplicate region name "us-east-1" (also regions[0])`},
		{"empty name", "name: ap-southeast-1", "name: \"\"", "regions[2].name", "required"},
		{"bad endpoint", "endpoint: http://127.0.0.1:9001", "endpoint: not a url", "regions[0].endpoint", "must be an absolute http(s) URL"},
		{"negative priority", "priority: 2", "priority: -2", "regions[2].priority", "must be >= 0"},
		{"bad continent", "continent: eu", "continent: Europe!", "regions[1].continent", "lowercase token"},
		{"unknown policy", "policy: on-ack", "policy: sometimes", "checkpoint.policy", "must be one of on-ack, periodic, on-mutation"},
		{"periodic without interval", "policy: on-ack", "policy: periodic\n  interval: 0s", "checkpoint.interval", "must be a positive duration"},
		{"unknown strategy", "conflict_strategy: version-wins", "conflict_strategy: newest", "conflict_strategy", "must be one of version-wins, last-write-wins, merge"},
		{"timeout >= interval", "timeout: 3s\n    failure", "timeout: 10s\n    failure", "lb.health.timeout", "must be shorter than the interval"},
		{"zero interval", "interval: 10s\n    timeout", "interval: 0s\n    timeout", "lb.health.interval", "must be a positive duration"},
		{"runtime timeout >= interval", "timeout: 3s\n  healthy", "timeout: 11s\n  healthy", "region_health.timeout", "must be shorter than the interval"},
		{"runtime threshold", "unhealthy_threshold: 3", "unhealthy_threshold: 12", "region_health.unhealthy_threshold", "must be 1..10"},
		{"zero ttl", "ttl: 1h", "ttl: 0s", "session.ttl", "must be a positive duration"},
		{"max messages", "max_messages: 50", "max_messages: 0", "session.max_messages", "must be >= 1"},
		{"negative cache ttl", "ttl: 10m", "ttl: -1s", "cache.ttl", "must be a positive duration"},
		{"zero staleness", "staleness: 30s", "staleness: 0s", "cache.staleness", "must be a positive duration"},
		{"outlier failures", "consecutive_failures: 5", "consecutive_failures: 0", "lb.outlier.consecutive_failures", "must be >= 1"},
		{"outlier ejection", "ejection: 30s", "ejection: 0s", "lb.outlier.ejection", "must be a positive duration"},
		{"retry attempts", "attempts: 2", "attempts: 0", "lb.retry.attempts", "must be >= 1"},
		{"per try timeout", "per_try_timeout: 10s", "per_try_timeout: -1s", "lb.retry.per_try_timeout", "must be a positive duration"},
		{"bad webhook", "webhook: http://127.0.0.1:9093/hook", "webhook: ftp://x", "alert.webhook", "must be an absolute http(s) URL"},
		{"not a duration", "interval: 10s\n    timeout", "interval: thirty\n    timeout", "lb.health.interval", `must be a Go duration such as 30s (got "thirty")`},
		{"bare number duration", "ejection: 30s", "ejection: 30", "lb.outlier.ejection", "must be a Go duration"},
		{"not an integer", "weight: 30", "weight: lots", "regions[1].weight", "must be an integer"},
		{"quoted integer", "weight: 30", `weight: "30"`, "regions[1].weight", "must be an integer"},
		{"not a bool", "replicate: true", "replicate: maybe", "cache.replicate", "must be true or false"},
		{"not a mapping", "session:\n  ttl: 1h\n  max_messages: 50", "session: [1, 2]", "session", "must be a mapping"},
		{"not a list", "regions:\n", "regions: 3\nx_regions:\n", "regions", "must be a list"},
		{"unknown top field", "conflict_strategy: version-wins", "conflict_stratgy: version-wins", "conflict_stratgy", "unknown field"},
		{"unknown nested field", "failure_threshold: 3", "failure_treshold: 3", "lb.health.failure_treshold", "unknown field (known fields here: interval, timeout, failure_threshold, success_threshold)"},
		{"unknown region field", "continent: eu", "zone: eu", "regions[1].zone", "unknown field"},
		{"duplicate key", "weight: 30", "weight: 30\n    weight: 40", "regions[1].weight", "duplicate key (first set on line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, line := mutate(t, tc.old, tc.repl)
			// The issue points at the line of the replaced text's last line
			// for multi-line replacements that start with an unchanged key.
			if tc.name == "duplicate key" {
				line++
			}
			_, issues := mustParse(t, src)
			got, ok := find(issues, SeverityError, tc.path)
			if !ok {
				t.Fatalf("no error on %s; issues: %v", tc.path, issues)
			}
			if !strings.Contains(got.Msg, tc.msg) {
				t.Errorf("msg = %q, want it to contain %q", got.Msg, tc.msg)
			}
			if tc.name == "periodic without interval" {
				line++ // interval is on the line after policy
			}
			if got.Line != line {
				t.Errorf("line = %d, want %d (%s)", got.Line, line, got)
			}
			if !HasErrors(issues) {
				t.Error("HasErrors = false")
			}
		})
	}
}

// Errors whose field is absent point at the nearest parent in the file.
func TestErrorsOnStructure(t *testing.T) {
	cases := []struct {
		name, src, path, msg string
		line                 int
	}{
		{"no regions", "regions: []\n", "regions", "no regions", 1},
		{"no regions key", "conflict_strategy: merge\n", "regions", "no regions", 0},
		{"one region", "regions:\n  - {name: a, weight: 1}\n", "regions", "only 1 region", 1},
		{"weights all zero", "session: {ttl: 1h}\nregions:\n  - {name: a}\n  - {name: b, weight: 0}\n", "regions", "weights are all zero", 2},
		{"root not a mapping", "- a\n- b\n", "(root)", "must be a mapping", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, issues := mustParse(t, tc.src)
			got, ok := find(issues, SeverityError, tc.path)
			if !ok || !strings.Contains(got.Msg, tc.msg) || got.Line != tc.line {
				t.Fatalf("want %s line %d %q; issues: %v", tc.path, tc.line, tc.msg, issues)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	cases := []struct {
		name, old, repl, path, msg string
	}{
		{"last write wins", "conflict_strategy: version-wins", "conflict_strategy: last-write-wins", "conflict_strategy", "silently overwrite acknowledged messages"},
		{"on-mutation", "policy: on-ack", "policy: on-mutation", "checkpoint.policy", "unbounded"},
		{"staleness above ttl", "staleness: 30s", "staleness: 20m", "cache.staleness", "longer than cache.ttl"},
		{"ttl below rto", "ttl: 1h", "ttl: 40s", "session.ttl", "shorter than the RTO bound (53s)"},
		{"alerts off", "enabled: true\n  webhook", "enabled: false\n  webhook", "alert.enabled", "nobody is paged"},
		{"no webhook", "webhook: http://127.0.0.1:9093/hook", `webhook: ""`, "alert.webhook", "nobody is paged"},
		{"slow detection", "failure_threshold: 3", "failure_threshold: 7", "lb.health.interval", "detection takes up to 1m13s (1m13s = 10s lb.health.interval (first failing round) + 1m0s 6 × lb.health round"},
		{"non-route53 interval", "interval: 10s\n    timeout", "interval: 15s\n    timeout", "lb.health.interval", "cannot be reproduced on Route 53"},
		{"standby weight", "weight: 20", "weight: 0", "regions[2].weight", "standby"},
		{"retry attempts above regions", "attempts: 2", "attempts: 4", "lb.retry.attempts", "hit a region twice"},
		{"cache not replicated", "replicate: true", "replicate: false", "cache.replicate", "cold cache"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, _ := mutate(t, tc.old, tc.repl)
			_, issues := mustParse(t, src)
			if HasErrors(issues) {
				t.Fatalf("unexpected errors: %v", issues)
			}
			got, ok := find(issues, SeverityWarning, tc.path)
			if !ok || !strings.Contains(got.Msg, tc.msg) {
				t.Fatalf("want warning on %s containing %q; issues: %v", tc.path, tc.msg, issues)
			}
			if got.Line == 0 {
				t.Errorf("warning has no line: %s", got)
			}
		})
	}
}

func TestIssueString(t *testing.T) {
	cases := map[string]Issue{
		"line 12: regions[1].weight: must be >= 0": {Path: "regions[1].weight", Line: 12, Msg: "must be >= 0"},
		"regions: no regions":                      {Path: "regions", Msg: "no regions"},
	}
	for want, i := range cases {
		if got := i.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestIssuesSortedErrorsFirst(t *testing.T) {
	src, _ := mutate(t, "conflict_strategy: version-wins", "conflict_strategy: last-write-wins")
	src = strings.Replace(src, "weight: 50", "weight: -5", 1)
	_, issues := mustParse(t, src)
	if len(issues) < 2 || issues[0].Severity != SeverityError || issues[len(issues)-1].Severity != SeverityWarning {
		t.Fatalf("want errors before warnings: %v", issues)
	}
}

func TestLoadFailures(t *testing.T) {
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: want error")
	}
	p := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(p, []byte("regions: [\n  - a: {"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(p); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("unparsable file: want error naming it, got %v", err)
	}
}

func TestOmittedFieldsTakeDefaults(t *testing.T) {
	c, issues := mustParse(t, "regions:\n  - {name: a, weight: 1}\n  - {name: b, weight: 1}\nlb:\n  health:\n    interval: 30s\n")
	d := Default()
	if c.LB.Health.Interval != 30*time.Second || c.LB.Health.Timeout != d.LB.Health.Timeout || c.Checkpoint.Policy != d.Checkpoint.Policy {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if HasErrors(issues) {
		t.Fatalf("unexpected errors: %v", issues)
	}
}

func TestBounds(t *testing.T) {
	c := Default()
	c.LB.Health = LBHealth{Interval: 30 * time.Second, Timeout: 4 * time.Second, FailureThreshold: 3, SuccessThreshold: 3}
	c.LB.Retry.Enabled = false
	c.Checkpoint = Checkpoint{Policy: PolicyPeriodic, Interval: 5 * time.Second}
	c.RegionHealth = RegionHealth{Interval: 10 * time.Second, Timeout: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 2}
	b := c.Bounds()
	if b.WorstDetection() != 94*time.Second || b.RuntimeDetection.Total() != 22*time.Second ||
		b.RPO.Window != 5*time.Second || b.RPO.Unbounded || b.SessionTTL != time.Hour {
		t.Fatalf("Bounds = %+v", b)
	}
	// Failback: the round in flight at the heal, then success_threshold-1
	// more intervals, then the last probe's answer; the LB's and the
	// runtimes' from their own settings.
	if b.Failback.Total() != 30*time.Second+2*30*time.Second+4*time.Second || b.RuntimeFailback.Total() != 10*time.Second+10*time.Second+2*time.Second {
		t.Fatalf("failback %s, runtime failback %s", b.Failback, b.RuntimeFailback)
	}
	// Retries off: a request still spends up to one per-try timeout.
	if got, want := b.RTOBound(), 94*time.Second+c.LB.Retry.PerTryTimeout; got != want {
		t.Fatalf("RTO without retries = %s, want %s", got, want)
	}

	c.LB.Retry = Retry{Enabled: true, Attempts: 2, PerTryTimeout: 7 * time.Second}
	c.Checkpoint.Policy = PolicyOnAck
	b = c.Bounds()
	if b.RTOBound() != 108*time.Second || b.RPO.Window != 0 || b.RPO.Unbounded {
		t.Fatalf("with retries and on-ack: %+v", b)
	}
	c.Checkpoint.Policy = PolicyOnMutation
	if b = c.Bounds(); !b.RPO.Unbounded || !strings.Contains(b.RPO.Messages, "unbounded between mutations") {
		t.Fatalf("on-mutation: %+v", b)
	}
	// A probe timeout longer than the interval stretches every round.
	c.LB.Health = LBHealth{Interval: 100 * time.Millisecond, Timeout: 150 * time.Millisecond, FailureThreshold: 2}
	if got := c.Bounds().WorstDetection(); got != 400*time.Millisecond {
		t.Fatalf("detection with timeout > interval = %s, want 400ms (100ms + 1 × 150ms + 150ms)", got)
	}

	// Absurd values saturate rather than wrap negative.
	c.LB.Health.Interval = time.Duration(1 << 62)
	c.LB.Health.FailureThreshold = 10
	if b = c.Bounds(); b.WorstDetection() <= 0 || b.RTOBound() <= 0 {
		t.Fatalf("overflow: %+v", b)
	}
}

func TestScaled(t *testing.T) {
	c := Default()
	s := c.Scaled(10)
	if s.LB.Health.Interval != time.Second || s.LB.Health.Timeout != 300*time.Millisecond ||
		s.Session.TTL != 6*time.Minute || s.Cache.Staleness != 3*time.Second ||
		s.LB.Retry.PerTryTimeout != time.Second || s.RegionHealth.Timeout != 300*time.Millisecond ||
		s.LB.Outlier.Ejection != 3*time.Second || s.Checkpoint.Interval != 500*time.Millisecond || s.Cache.TTL != time.Minute {
		t.Fatalf("Scaled(10) = %+v", s)
	}
	if s.LB.Health.FailureThreshold != 3 || s.Regions[0].Weight != 50 {
		t.Fatalf("non-durations changed: %+v", s)
	}
	if c.LB.Health.Interval != 10*time.Second {
		t.Fatal("Scaled modified the original")
	}
	s.Regions[0].Name = "changed"
	if c.Regions[0].Name != "us-east-1" {
		t.Fatal("Scaled shares the regions slice")
	}
	if got, want := s.Bounds().RTOBound(), c.Bounds().RTOBound()/10; got != want {
		t.Fatalf("scaled RTO bound = %s, want %s", got, want)
	}
	for _, k := range []float64{0.5, 0, -3} {
		if got := c.Scaled(k).LB.Health.Interval; got != 10*time.Second {
			t.Errorf("Scaled(%v) interval = %s, want unchanged", k, got)
		}
	}
	if got := c.Scaled(1e12).LB.Health.Timeout; got != 1 {
		t.Errorf("positive duration scaled to %d, want 1ns floor", got)
	}
}

func TestDefaultTimeScale(t *testing.T) {
	article, _, err := Load(filepath.Join("..", "..", "examples", "article-production.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if k := DefaultTimeScale(article); k != 160 {
		t.Errorf("article scale = %v, want 160 (4s timeout / 25ms floor)", k)
	}
	if k := DefaultTimeScale(Default()); k != 120 {
		t.Errorf("recommended scale = %v, want 120 (1h TTL / 30s)", k)
	}
	r := ScaleRule{TargetLBInterval: 100 * time.Millisecond}
	c := Default()
	if k := TimeScaleFor(c, r); k != 100 {
		t.Errorf("interval rule = %v, want 100", k)
	}
	c.LB.Health.Interval = 50 * time.Millisecond
	if k := TimeScaleFor(c, r); k != 1 {
		t.Errorf("already fast config = %v, want 1 (never slowed down)", k)
	}
	// With the default rule every scaled figure lands in its target range.
	for _, cfg := range []*Config{article, Default()} {
		s := cfg.Scaled(DefaultTimeScale(cfg))
		if iv := s.LB.Health.Interval; iv < 50*time.Millisecond || iv > 200*time.Millisecond {
			t.Errorf("scaled LB interval %s out of range", iv)
		}
		if s.Session.TTL > DefaultScaleRule.MaxScaledTTL {
			t.Errorf("scaled TTL %s > %s", s.Session.TTL, DefaultScaleRule.MaxScaledTTL)
		}
		if s.LB.Health.Timeout < DefaultScaleRule.MinScaledTimeout {
			t.Errorf("scaled timeout %s < floor", s.LB.Health.Timeout)
		}
	}
}

func TestDescribe(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		c, issues, err := Load(filepath.Join("..", "..", "examples", "article-production.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		Describe(&buf, c, issues)
		out := buf.String()
		for _, want := range []string{"warnings (", "line 36: checkpoint.policy: periodic checkpoints every 5s",
			"detection:    1m34.1s = 30s lb.health.interval (first failing round) + 1m0s 2 × lb.health round", "RTO:          1m44.1s = ", "RPO:          5s",
			"session TTL:  1h0m0s", "160x", "OK: "} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("invalid", func(t *testing.T) {
		src, _ := mutate(t, "weight: 30", "weight: -1")
		src = strings.Replace(src, "conflict_strategy: version-wins", "conflict_strategy: last-write-wins", 1)
		c, issues := mustParse(t, src)
		var buf bytes.Buffer
		Describe(&buf, c, issues)
		out := buf.String()
		// 3 warnings: last-write-wins, and base's endpoint and continents (ignored by the providers).
		e, w := strings.Index(out, "errors (1)"), strings.Index(out, "warnings (3)")
		if e < 0 || w < 0 || e > w {
			t.Fatalf("want errors then warnings:\n%s", out)
		}
		if !strings.Contains(out, "line 9: regions[1].weight: must be >= 0") || !strings.Contains(out, "INVALID") || strings.Contains(out, "RTO:") {
			t.Fatalf("unexpected output:\n%s", out)
		}
	})
	t.Run("nil config", func(t *testing.T) {
		var buf bytes.Buffer
		Describe(&buf, nil, []Issue{{Path: "x", Msg: "bad", Severity: SeverityError}})
		if !strings.Contains(buf.String(), "x: bad") {
			t.Fatalf("got %q", buf.String())
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	for _, name := range []string{"article-production.yaml", "recommended.yaml"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "examples", name)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{"", "~", "regions: []", "- a", "a: &a\n  b: *a\n", "regions: &r [{name: a}]\nlb: *r\n",
		"lb: {health: {interval: 9223372036854775807ns, failure_threshold: 10}}", "regions:\n  - {name: a, weight: 9999999999999999999999}",
		"session: {ttl: -1h}", "{? [a]: 1}", "regions: [[1]]", "checkpoint: {policy: !!binary aGk=}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, issues, err := Parse(data)
		if err != nil {
			return
		}
		if c == nil {
			t.Fatal("nil config without error")
		}
		for _, i := range issues {
			if i.Path == "" || i.Msg == "" || (i.Severity != SeverityError && i.Severity != SeverityWarning) || i.Line < 0 {
				t.Fatalf("malformed issue %#v", i)
			}
		}
		_ = c.Bounds()
		_ = c.Scaled(DefaultTimeScale(c)).Bounds()
		Describe(&bytes.Buffer{}, c, issues)
	})
}
