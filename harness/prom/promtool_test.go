package prom

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/needtool"
)

// promtoolPath finds promtool; without it the test is skipped, unless CI is
// set, where a missing promtool is a setup error (as runtime/server's).
func promtoolPath(t *testing.T) string {
	t.Helper()
	return needtool.Path(t, "Debian: apt-get install prometheus", "promtool")
}

// promtool runs promtool with args in dir and returns its combined output
// and error, logging both so a reviewer can quote them.
func promtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	bin := promtoolPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("$ promtool %v  (exit: %v)\n%s", args, exitOf(err), out)
	return string(out), err
}

func exitOf(err error) any {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return err
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// unitDir is a directory holding rules.yml generated from o next to a copy
// of testdata/rules_test.yml.
func unitDir(t *testing.T, o RuleOptions) string {
	t.Helper()
	dir := t.TempDir()
	rules, err := Rules(o)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "rules.yml"), rules)
	tests, err := os.ReadFile(filepath.Join("testdata", "rules_test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "rules_test.yml"), tests)
	return dir
}
