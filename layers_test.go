// Package layers_test holds the architecture's one rule as a test: every
// import points down, runtime <- harness (and reports) <- scenarios <- cmd.
package layers_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/agentops/failover-harness/"

// layer of a package of this module: higher layers may import lower ones only.
func layer(pkg string) (int, bool) {
	rel, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return 0, false
	}
	for prefix, l := range map[string]int{"runtime/": 0, "harness/": 1, "reports": 1, "scenarios": 2, "cmd/": 3} {
		if strings.HasPrefix(rel, prefix) {
			return l, true
		}
	}
	return -1, true
}

// testFrameworks may appear only in scenarios (the Ginkgo suite) and above.
var testFrameworks = []string{"github.com/onsi/ginkgo", "github.com/onsi/gomega"}

func TestImportsPointDown(t *testing.T) {
	// Deps is transitive (non-test); test imports are checked directly.
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}|{{join .Deps ","}},{{join .TestImports ","}},{{join .XTestImports ","}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(string(bytes.TrimSpace(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, "|")
		own, ok := layer(pkg)
		if !ok {
			continue
		}
		if own < 0 {
			t.Errorf("%s: not in any layer; place it under runtime/, harness/, scenarios/ or cmd/ (docs/ARCHITECTURE.md)", pkg)
			continue
		}
		checked++
		for _, d := range strings.Split(deps, ",") {
			if d == "" || d == pkg {
				continue
			}
			if l, ok := layer(d); ok && l > own {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point down", pkg, own, d, l)
			}
			for _, fw := range testFrameworks {
				if own < 2 && strings.HasPrefix(d, fw) {
					t.Errorf("%s imports %s: only the scenarios suite may use Ginkgo", pkg, d)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked: go list output not understood", checked)
	}
}

// The rule itself must catch an upward import.
func TestLayerOrder(t *testing.T) {
	rt, _ := layer(module + "runtime/agent")
	h, _ := layer(module + "harness/engine")
	s, _ := layer(module + "scenarios/plan")
	c, _ := layer(module + "cmd/chaos")
	if !(rt < h && h < s && s < c) {
		t.Fatalf("layers out of order: runtime %d harness %d scenarios %d cmd %d", rt, h, s, c)
	}
	if _, ok := layer("github.com/onsi/ginkgo/v2"); ok {
		t.Fatal("a third-party package must not count as a layer")
	}
}
