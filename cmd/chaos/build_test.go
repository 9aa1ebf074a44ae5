package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
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

// startChaos starts the chaos binary with its output piped; it dies with the
// test process (Pdeathsig) and is killed when the test ends.
func startChaos(t *testing.T, bin string, args ...string) (cmd *exec.Cmd, stdout, stderr io.ReadCloser) {
	t.Helper()
	cmd = exec.Command(bin, args...)
	stdout, _ = cmd.StdoutPipe()
	stderr, _ = cmd.StderrPipe()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, stdout, stderr
}
