package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/agentops/failover-harness/harness/provider/local"
)

// buildChaos builds this command (without -race) and the runtime binaries,
// and returns the chaos binary, the runtime binaries' folder and the environment
// to run it with. The long
// tests run the real binary: under the race detector an in-process run is
// several times slower and misses the plan's time-compressed RTO bounds.
func buildChaos(t *testing.T, ctx context.Context) (bin, binDir string, env []string) {
	t.Helper()
	binDir, err := local.BuildBinaries(ctx, "") // honours $CHAOS_BIN_DIR
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(t.TempDir(), "chaos")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build chaos: %v\n%s", err, out)
	}
	return bin, binDir, append(os.Environ(), local.EnvBinDir+"="+binDir)
}
