// Package needtool is for tests that run an installed tool (promtool,
// prometheus, prometheus-alertmanager, amtool): without it they skip, except
// where CI is set, since CI installs every tool first (scripts/ci-setup.sh)
// and a missing one there is a setup error, not a pass. It lives under
// runtime so that tests of every layer can use it.
package needtool

import (
	"os"
	"os/exec"
	"testing"
)

// Path finds the first of names on PATH. Without any: Fatal with CI set,
// else Skip; install says how to get it (e.g. "Debian: apt-get install prometheus").
func Path(t testing.TB, install string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if ci := os.Getenv("CI"); ci != "" {
		t.Fatalf("%v not on PATH with CI=%s: %s (scripts/ci-setup.sh installs it)", names, ci, install)
	}
	t.Skipf("%v not on PATH: %s; with CI set this is a failure", names, install)
	return ""
}
