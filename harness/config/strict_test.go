package config

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func mustParseStrict(t *testing.T, src string) (*Config, []Issue) {
	t.Helper()
	c, issues, err := ParseWith([]byte(src), Options{Strict: true})
	if err != nil {
		t.Fatalf("ParseWith: %v", err)
	}
	return c, issues
}

// base keeps success_threshold 2 < failure_threshold 3; a Route 53 shaped
// base has one threshold both ways.
func route53Base(t *testing.T) string {
	src, _ := mutate(t, "success_threshold: 2", "success_threshold: 3")
	return src
}

func TestStrictRoute53Limits(t *testing.T) {
	if _, issues := mustParseStrict(t, route53Base(t)); HasErrors(issues) {
		t.Fatalf("Route 53 shaped base must pass --strict's limits, got %v", issues)
	}
	for _, tc := range []struct {
		name, old, repl, path, msg string
	}{
		{"interval 5s", "interval: 10s\n    timeout: 3s\n    failure", "interval: 5s\n    timeout: 3s\n    failure", "lb.health.interval", "Route 53 allows 10s or 30s (got 5s)"},
		{"interval 20s", "interval: 10s\n    timeout: 3s\n    failure", "interval: 20s\n    timeout: 3s\n    failure", "lb.health.interval", "Route 53 allows 10s or 30s (got 20s)"},
		{"failure threshold 11", "failure_threshold: 3", "failure_threshold: 11", "lb.health.failure_threshold", "must be 1..10 (Route 53) (got 11)"},
		{"failure threshold 0", "failure_threshold: 3", "failure_threshold: 0", "lb.health.failure_threshold", "must be 1..10 (Route 53) (got 0)"},
		{"success differs", "success_threshold: 3", "success_threshold: 1", "lb.health.success_threshold", "Route 53 has no separate success threshold: it uses lb.health.failure_threshold (3) both ways, so this must be 3 (got 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := route53Base(t)
			i := strings.Index(src, tc.old)
			if i < 0 {
				t.Fatalf("no %q", tc.old)
			}
			line := strings.Count(src[:i], "\n") + 1
			src = src[:i] + tc.repl + src[i+len(tc.old):]
			_, issues := mustParseStrict(t, src)
			got, ok := find(issues, SeverityError, tc.path)
			if !ok || !strings.Contains(got.Msg, tc.msg) {
				t.Fatalf("want error on %s containing %q, got %v", tc.path, tc.msg, issues)
			}
			if got.Line < line || got.Line > line+3 {
				t.Errorf("error on line %d, want near %d", got.Line, line)
			}
			if strings.HasPrefix(tc.name, "interval") {
				if w, ok := find(issues, SeverityWarning, "lb.health.interval"); ok && strings.Contains(w.Msg, "cannot be reproduced") {
					t.Errorf("the non-strict interval warning is echoed next to the error: %v", issues)
				}
			}
		})
	}
}

// Without --strict the same file is judged as before: the interval is a
// warning and a separate success threshold is fine.
func TestStrictOffUnchanged(t *testing.T) {
	src, _ := mutate(t, "interval: 10s\n    timeout: 3s\n    failure", "interval: 5s\n    timeout: 3s\n    failure")
	_, issues := mustParse(t, src)
	if HasErrors(issues) {
		t.Fatalf("non-strict: want no errors, got %v", issues)
	}
	if w, ok := find(issues, SeverityWarning, "lb.health.interval"); !ok || !strings.Contains(w.Msg, "cannot be reproduced on Route 53") {
		t.Fatalf("non-strict: want the interval warning, got %v", issues)
	}
	if !Passes(issues, Options{}) || Passes(issues, Options{Strict: true}) {
		t.Fatal("Passes: warnings must pass without --strict and fail with it")
	}
	if Passes([]Issue{{Path: "x", Msg: "bad", Severity: SeverityError}}, Options{}) || !Passes(nil, Options{Strict: true}) {
		t.Fatal("Passes: errors fail, no issues pass")
	}
}

// A file that leaves success_threshold out gets the default (2), which
// --strict refuses next to failure_threshold 3, saying it is the default.
func TestStrictDefaultSuccessThreshold(t *testing.T) {
	src, _ := mutate(t, "    success_threshold: 2\n", "")
	_, issues := mustParseStrict(t, src)
	got, ok := find(issues, SeverityError, "lb.health.success_threshold")
	if !ok || !strings.Contains(got.Msg, "(got 2, the default)") || got.Line == 0 {
		t.Fatalf("want a strict error naming the default with the lb.health line, got %v", issues)
	}
}

func TestProviderIgnoredFieldsWarn(t *testing.T) {
	_, issues := mustParse(t, base)
	e, ok := find(issues, SeverityWarning, "regions[0].endpoint")
	if !ok || !strings.Contains(e.Msg, "set on 1 region(s) (us-east-1=http://127.0.0.1:9001)") || !strings.Contains(e.Msg, "endpoint "+IgnoredByProviders) || e.Line != 3 {
		t.Errorf("endpoint warning: %+v in %v", e, issues)
	}
	c, ok := find(issues, SeverityWarning, "regions[0].continent")
	if !ok || !strings.Contains(c.Msg, "set on 2 region(s) (us-east-1=na, eu-west-1=eu)") || !strings.Contains(c.Msg, "external deployment") || c.Line != 6 {
		t.Errorf("continent warning: %+v in %v", c, issues)
	}
	if len(issues) != 2 {
		t.Errorf("want exactly the two warnings, got %v", issues)
	}
	// Unset (or empty) fields warn about nothing.
	src := strings.NewReplacer("    endpoint: http://127.0.0.1:9001\n", "", "    continent: na\n", "", "    continent: eu\n", "").Replace(base)
	if _, issues := mustParse(t, src); len(issues) != 0 {
		t.Errorf("without endpoints and continents: want no issues, got %v", issues)
	}
	// An invalid continent stays an error, not just the warning.
	bad := strings.Replace(base, "continent: eu", "continent: EU", 1)
	if _, issues := mustParse(t, bad); !HasErrors(issues) {
		t.Errorf("continent EU: want an error, got %v", issues)
	}
}

func TestDescribeStrict(t *testing.T) {
	c, issues := mustParseStrict(t, route53Base(t))
	var buf bytes.Buffer
	DescribeWith(&buf, c, issues, Options{Strict: true})
	if out := buf.String(); !strings.Contains(out, "FAILED under --strict: 2 warning(s); --strict makes every warning fail the file (exit 1)") || !strings.Contains(out, "detection:") {
		t.Fatalf("strict with warnings:\n%s", out)
	}
	buf.Reset()
	DescribeWith(&buf, c, issues, Options{})
	if out := buf.String(); !strings.Contains(out, "\nOK: 2 warning(s)\n") {
		t.Fatalf("non-strict describe changed:\n%s", out)
	}
	src, _ := mutate(t, "success_threshold: 2", "success_threshold: 1")
	c, issues = mustParseStrict(t, src)
	buf.Reset()
	DescribeWith(&buf, c, issues, Options{Strict: true})
	if out := buf.String(); !strings.Contains(out, "lb.health.success_threshold: Route 53 has no separate success threshold") || !strings.Contains(out, "INVALID: 1 error(s)") || !strings.Contains(out, "--strict") {
		t.Fatalf("strict with an error:\n%s", out)
	}
}

func TestNewReport(t *testing.T) {
	c, issues, err := Load(filepath.Join("..", "..", "examples", "article-production.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReport("a.yaml", c, issues, Options{})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["file"] != "a.yaml" || got["valid"] != true || len(got["errors"].([]any)) != 0 || len(got["warnings"].([]any)) != 7 {
		t.Fatalf("report: %s", b)
	}
	bd := got["bounds"].(map[string]any)
	for k, want := range map[string]float64{"detection_seconds": 94.1, "rto_seconds": 104.14, "failback_seconds": 94.1, "rpo_seconds": 5, "session_ttl_seconds": 3600, "time_scale": 160} {
		if bd[k] != want {
			t.Errorf("%s = %v, want %v", k, bd[k], want)
		}
	}
	// The JSON and the text carry one number.
	var buf bytes.Buffer
	Describe(&buf, c, issues)
	if !strings.Contains(buf.String(), "detection:    "+r.Bounds.Detection+"\n") || !strings.Contains(buf.String(), "RTO:          "+r.Bounds.RTO+"\n") {
		t.Errorf("text and JSON differ: %q / %q\n%s", r.Bounds.Detection, r.Bounds.RTO, buf.String())
	}
	if s := NewReport("a.yaml", c, issues, Options{Strict: true}); s.Valid || !s.Strict {
		t.Errorf("strict report of a file with warnings: valid %v strict %v", s.Valid, s.Strict)
	}
	bad := NewReport("b.yaml", c, []Issue{{Path: "lb.health.interval", Msg: "Route 53 allows 10s or 30s (got 5s)", Line: 3, Severity: SeverityError}}, Options{Strict: true})
	if bad.Valid || bad.Bounds != nil || len(bad.Errors) != 1 || bad.Errors[0] != (ReportIssue{Field: "lb.health.interval", Message: "Route 53 allows 10s or 30s (got 5s)", Line: 3}) {
		t.Errorf("invalid report: %+v", bad)
	}
	if nilc := NewReport("c.yaml", nil, nil, Options{}); nilc.Valid || nilc.Bounds != nil || nilc.Errors == nil || nilc.Warnings == nil {
		t.Errorf("unparsed report: %+v", nilc)
	}
}
