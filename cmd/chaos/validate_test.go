package main

import (
	"bytes"
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
	if code := run([]string{"validate", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage: chaos validate FILE") {
		t.Fatalf("--help: code %d out %q", code, out.String())
	}
	for _, args := range [][]string{{"validate"}, {"validate", "a.yaml", "b.yaml"}, {"validate", "--bogus", "a.yaml"}} {
		errb.Reset()
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: chaos validate") {
			t.Errorf("%v: code %d stderr %q, want 2 with usage", args, code, errb.String())
		}
	}
}
