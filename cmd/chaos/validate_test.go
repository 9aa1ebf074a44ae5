package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoFile resolves a path from the module root (tests run in the package dir).
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return p
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateArticleConfigWarnsAndPrintsBounds(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"validate", repoFile(t, "examples/article-production.yaml")}, &out, &errb)
	if code != 0 {
		t.Fatalf("code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"checkpoint.policy: periodic checkpoints every 5s can lose",
		"bounds (worst case, real time;",
		"detection:    1m34.1s = 30s lb.health.interval (first failing round) + 1m0s 2 × lb.health round (max of interval, timeout) + 4s lb.health.timeout (last probe) + 100ms scheduling slack",
		"RPO:          5s of acknowledged conversation",
		"session TTL:  1h0m0s",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestValidateRecommendedConfigIsValid(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"validate", repoFile(t, "examples/recommended.yaml")}, &out, &out); code != 0 {
		t.Fatalf("code %d, want 0:\n%s", code, out.String())
	}
}

const validRegions = `regions:
  - name: a
    weight: 50
  - name: b
    weight: 30
  - name: c
    weight: 20
`

func TestValidateNegativeWeightNamesFieldAndLine(t *testing.T) {
	bad := strings.Replace(validRegions, "weight: 30", "weight: -1", 1)
	var out, errb bytes.Buffer
	code := run([]string{"validate", writeTemp(t, "bad.yaml", bad)}, &out, &errb)
	if code != 1 {
		t.Fatalf("code %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	// weight: -1 is on line 5 of the file.
	if !strings.Contains(out.String(), "line 5: regions[1].weight:") {
		t.Fatalf("output does not name regions[1].weight on line 5:\n%s", out.String())
	}
	if strings.Contains(out.String(), "bounds (worst case") {
		t.Fatalf("bounds printed for an invalid config:\n%s", out.String())
	}
}

func TestValidateUnknownFieldFails(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"validate", writeTemp(t, "unknown.yaml", validRegions+"failover_magic: true\n")}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "failover_magic: unknown field") {
		t.Fatalf("code %d, want 1 naming the unknown field:\n%s%s", code, out.String(), errb.String())
	}
}

func TestValidateUnreadableOrNotYAML(t *testing.T) {
	for name, path := range map[string]string{
		"missing":  filepath.Join(t.TempDir(), "nope.yaml"),
		"not yaml": writeTemp(t, "x.yaml", "regions: [a, b\n"),
	} {
		var out, errb bytes.Buffer
		if code := run([]string{"validate", path}, &out, &errb); code != 1 || !strings.Contains(errb.String(), path) {
			t.Errorf("%s: code %d stderr %q, want 1 naming the file", name, code, errb.String())
		}
	}
}

func TestValidateUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage: chaos validate [--strict] [--format text|json] FILE...") ||
		!strings.Contains(out.String(), "--strict") || !strings.Contains(out.String(), "--format") || errb.Len() != 0 {
		t.Fatalf("--help: code %d out %q", code, out.String())
	}
	for _, args := range [][]string{{"validate"}, {"validate", "--bogus", "a.yaml"}} {
		errb.Reset()
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: chaos validate") {
			t.Errorf("%v: code %d stderr %q, want 2 with usage", args, code, errb.String())
		}
	}
}

// Usage errors exit 2 and name the flag (or the argument) at fault, before
// any file is read.
func TestValidateUsageErrorsNameTheFlag(t *testing.T) {
	good := repoFile(t, "examples/recommended.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "yaml", good}, `--format: must be text or json (got "yaml")`},
		{[]string{good, "--format="}, `--format: must be text or json (got "")`},
		{[]string{"--format"}, "flag needs an argument: -format"},
		{[]string{"--strict=maybe", good}, "-strict"},
		{[]string{"-", good, "-"}, "-: stdin can be read only once (given 2 times)"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"validate"}, tc.args...), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) || !strings.Contains(errb.String(), "usage: chaos validate") || out.Len() != 0 {
			t.Errorf("%v: code %d stdout %q stderr %q, want 2 naming %q", tc.args, code, out.String(), errb.String(), tc.want)
		}
	}
}

// route53 is a valid file within Route 53's limits and without warnings.
const route53 = `regions:
  - {name: a, weight: 50}
  - {name: b, weight: 30}
  - {name: c, weight: 20}
lb:
  health: {interval: 10s, timeout: 3s, failure_threshold: 3, success_threshold: 3}
alert: {enabled: true, webhook: http://127.0.0.1:9093/hook}
`

func TestValidateStrictRoute53Limits(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "--strict", writeTemp(t, "ok.yaml", route53)}, &out, &errb); code != 0 || !strings.Contains(out.String(), "OK: 0 warning(s)") {
		t.Fatalf("Route 53 shaped file under --strict: code %d\n%s%s", code, out.String(), errb.String())
	}
	for _, tc := range []struct{ old, repl, want string }{
		{"interval: 10s", "interval: 5s", "line 6: lb.health.interval: Route 53 allows 10s or 30s (got 5s)"},
		{"failure_threshold: 3", "failure_threshold: 11", "line 6: lb.health.failure_threshold: must be 1..10 (Route 53) (got 11)"},
		{"success_threshold: 3", "success_threshold: 2", "line 6: lb.health.success_threshold: Route 53 has no separate success threshold: it uses lb.health.failure_threshold (3) both ways, so this must be 3 (got 2)"},
		{", success_threshold: 3", "", "lb.health.success_threshold: Route 53 has no separate success threshold: it uses lb.health.failure_threshold (3) both ways, so this must be 3 (got 2, the default)"},
	} {
		src := strings.Replace(route53, tc.old, tc.repl, 1)
		out.Reset()
		errb.Reset()
		code := run([]string{"validate", "--strict", writeTemp(t, "r53.yaml", src)}, &out, &errb)
		if code != 1 || !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), "INVALID: 1 error(s)") {
			t.Errorf("%s -> %s: code %d, want 1 with %q:\n%s%s", tc.old, tc.repl, code, tc.want, out.String(), errb.String())
		}
		// Without --strict only the out-of-range threshold is an error.
		out.Reset()
		want := 0
		if strings.Contains(tc.repl, "11") {
			want = 1
		}
		if code := run([]string{"validate", writeTemp(t, "r53.yaml", src)}, &out, &errb); code != want {
			t.Errorf("%s -> %s without --strict: code %d, want %d:\n%s", tc.old, tc.repl, code, want, out.String())
		}
	}
}

// Under --strict a warning fails the file, and the output says so.
func TestValidateStrictWarningsFail(t *testing.T) {
	path := repoFile(t, "examples/article-production.yaml")
	var out, errb bytes.Buffer
	if code := run([]string{"validate", path}, &out, &errb); code != 0 || strings.Contains(out.String(), "--strict") {
		t.Fatalf("without --strict: code %d, want 0\n%s", code, out.String())
	}
	out.Reset()
	code := run([]string{"validate", "--strict", path}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "FAILED under --strict: 7 warning(s); --strict makes every warning fail the file (exit 1)") ||
		!strings.Contains(out.String(), "detection:    1m34.1s") {
		t.Fatalf("--strict: code %d, want 1 saying the warnings fail:\n%s%s", code, out.String(), errb.String())
	}
}

func decodeReports(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var rs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not one JSON object per line: %v\n%s", err, b)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestValidateJSON(t *testing.T) {
	article := repoFile(t, "examples/article-production.yaml")
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "--format", "json", article}, &out, &errb); code != 0 || errb.Len() != 0 {
		t.Fatalf("code %d, want 0\n%s%s", code, out.String(), errb.String())
	}
	rs := decodeReports(t, out.Bytes())
	if len(rs) != 1 {
		t.Fatalf("want one object, got %d", len(rs))
	}
	r := rs[0]
	if r["file"] != article || r["valid"] != true || r["strict"] != false || len(r["errors"].([]any)) != 0 {
		t.Fatalf("report: %v", r)
	}
	var found bool
	for _, w := range r["warnings"].([]any) {
		w := w.(map[string]any)
		if w["field"] == "checkpoint.policy" && strings.Contains(w["message"].(string), "periodic checkpoints every 5s can lose") && w["line"] == 36.0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no checkpoint.policy warning with its field, message and line: %v", r["warnings"])
	}
	b := r["bounds"].(map[string]any)
	for k, want := range map[string]any{"detection_seconds": 94.1, "rto_seconds": 104.14, "rto_config_seconds": 104.0, "failback_seconds": 94.1,
		"rpo_seconds": 5.0, "rpo_unbounded": false, "session_ttl_seconds": 3600.0, "peer_detection_seconds": 35.1, "peer_failback_seconds": 35.1, "time_scale": 160.0} {
		if b[k] != want {
			t.Errorf("bounds.%s = %v, want %v", k, b[k], want)
		}
	}
	if !strings.HasPrefix(b["detection"].(string), "1m34.1s = 30s lb.health.interval") {
		t.Errorf("bounds.detection = %q", b["detection"])
	}

	// The exit code is the text's: --strict fails the warnings, errors null the bounds.
	out.Reset()
	bad := writeTemp(t, "bad.yaml", strings.Replace(route53, "interval: 10s", "interval: 5s", 1))
	if code := run([]string{"validate", "--strict", "--format=json", bad}, &out, &errb); code != 1 {
		t.Fatalf("strict json: code %d, want 1\n%s", code, out.String())
	}
	r = decodeReports(t, out.Bytes())[0]
	errs := r["errors"].([]any)
	if r["valid"] != false || r["strict"] != true || r["bounds"] != nil || len(errs) != 1 {
		t.Fatalf("strict json report: %v", r)
	}
	if e := errs[0].(map[string]any); e["field"] != "lb.health.interval" || e["message"] != "Route 53 allows 10s or 30s (got 5s)" || e["line"] != 6.0 {
		t.Errorf("strict json error: %v", e)
	}
}

func TestValidateMultipleFiles(t *testing.T) {
	good := writeTemp(t, "good.yaml", route53)
	bad := writeTemp(t, "bad.yaml", strings.Replace(validRegions, "weight: 30", "weight: -1", 1))
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	var out, errb bytes.Buffer
	if code := run([]string{"validate", good, repoFile(t, "examples/article-production.yaml")}, &out, &errb); code != 0 {
		t.Fatalf("two valid files: code %d\n%s%s", code, out.String(), errb.String())
	}
	if s := out.String(); !strings.Contains(s, "== "+good+" ==") || strings.Count(s, "bounds (worst case") != 2 || !strings.Contains(s, "2 file(s): 2 passed, 0 failed") {
		t.Fatalf("two valid files:\n%s", s)
	}
	out.Reset()
	code := run([]string{"validate", good, bad, missing}, &out, &errb)
	s := out.String()
	if code != 1 || !strings.Contains(s, "== "+bad+" ==") || !strings.Contains(s, "regions[1].weight: must be >= 0") || !strings.Contains(s, "UNREADABLE: ") ||
		!strings.Contains(s, "3 file(s): 1 passed, 2 failed") || !strings.Contains(errb.String(), missing) {
		t.Fatalf("one valid, one invalid, one missing: code %d, want 1\n%s\nstderr:\n%s", code, s, errb.String())
	}
	// Every file is reported, in order, in JSON too.
	out.Reset()
	errb.Reset()
	if code := run([]string{"validate", "--format", "json", good, bad, missing}, &out, &errb); code != 1 {
		t.Fatalf("json: code %d, want 1", code)
	}
	rs := decodeReports(t, out.Bytes())
	if len(rs) != 3 || rs[0]["file"] != good || rs[0]["valid"] != true || rs[1]["valid"] != false || rs[2]["valid"] != false {
		t.Fatalf("json reports: %v", rs)
	}
	if e := rs[2]["errors"].([]any)[0].(map[string]any); e["field"] != "(file)" || !strings.Contains(e["message"].(string), missing) {
		t.Errorf("missing file's error: %v", e)
	}
}

func TestValidateStdin(t *testing.T) {
	defer func(r io.Reader) { validateStdin = r }(validateStdin)
	validateStdin = strings.NewReader(route53)
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "--strict", "-"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "OK: 0 warning(s)") {
		t.Fatalf("stdin: code %d\n%s%s", code, out.String(), errb.String())
	}
	// With files, reported as "-"; a bad stdin fails the run.
	validateStdin = strings.NewReader(strings.Replace(validRegions, "weight: 30", "weight: -1", 1))
	out.Reset()
	if code := run([]string{"validate", "--format", "json", writeTemp(t, "good.yaml", route53), "-"}, &out, &errb); code != 1 {
		t.Fatalf("bad stdin: code %d, want 1\n%s", code, out.String())
	}
	rs := decodeReports(t, out.Bytes())
	if len(rs) != 2 || rs[1]["file"] != "-" || rs[1]["valid"] != false || rs[0]["valid"] != true {
		t.Fatalf("reports: %v", rs)
	}
	validateStdin = strings.NewReader("regions: [a, b\n")
	errb.Reset()
	if code := run([]string{"validate", "-"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "config: stdin:") {
		t.Fatalf("stdin not YAML: code %d stderr %q", code, errb.String())
	}
}

// endpoint and continent are checked, then ignored by the local and docker
// providers: validate says so, as a warning (which --strict fails).
func TestValidateEndpointContinentWarning(t *testing.T) {
	src := strings.Replace(route53, "{name: b, weight: 30}", "{name: b, weight: 30, endpoint: https://b.example.com, continent: eu}", 1)
	path := writeTemp(t, "ext.yaml", src)
	var out, errb bytes.Buffer
	if code := run([]string{"validate", path}, &out, &errb); code != 0 {
		t.Fatalf("code %d, want 0 (warnings)\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"line 3: regions[1].endpoint: set on 1 region(s) (b=https://b.example.com): endpoint applies only to an external deployment; the local and docker providers ignore it",
		"line 3: regions[1].continent: set on 1 region(s) (b=eu): continent applies only to an external deployment; the local and docker providers ignore it",
		"OK: 2 warning(s)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"validate", "--strict", path}, &out, &errb); code != 1 || !strings.Contains(out.String(), "FAILED under --strict: 2 warning(s)") {
		t.Errorf("--strict: code %d, want 1\n%s", code, out.String())
	}
	// A bad endpoint is still an error naming the field.
	out.Reset()
	bad := strings.Replace(src, "https://b.example.com", "b.example.com", 1)
	if code := run([]string{"validate", writeTemp(t, "bad.yaml", bad)}, &out, &errb); code != 1 || !strings.Contains(out.String(), "regions[1].endpoint: must be an absolute http(s) URL") {
		t.Errorf("bad endpoint: code %d\n%s", code, out.String())
	}
}
