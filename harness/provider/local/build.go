package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Binary names built from ./runtime/cmd.
const (
	RuntimeBinary = "agent-runtime"
	LBBinary      = "global-lb"
	modulePath    = "github.com/agentops/failover-harness"
)

// EnvBinDir names a directory holding prebuilt binaries to reuse.
const EnvBinDir = "CHAOS_BIN_DIR"

var (
	buildMu sync.Mutex
	built   = map[string]bool{} // dirs already built by this process
)

// BuildBinaries makes sure agent-runtime and global-lb exist in dir and
// returns dir. With dir empty it uses $CHAOS_BIN_DIR when that holds both
// binaries (no build), else .run/bin in this checkout, so two checkouts
// never run each other's binaries. Builds happen once per process per
// directory; go's build cache keeps rebuilds fast.
func BuildBinaries(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if dir == "" {
		if env := os.Getenv(EnvBinDir); env != "" {
			if haveBinaries(env) {
				return env, nil
			}
			dir = env
		} else if err == nil {
			dir = filepath.Join(root, ".run", "bin")
		}
	}
	if err != nil {
		return "", err
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if built[dir] && haveBinaries(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bin dir %s: %w", dir, err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", dir+string(os.PathSeparator),
		"./runtime/cmd/"+RuntimeBinary, "./runtime/cmd/"+LBBinary)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build runtime binaries: %w\n%s", err, out.String())
	}
	built[dir] = true
	return dir, nil
}

func haveBinaries(dir string) bool {
	for _, b := range []string{RuntimeBinary, LBBinary} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// moduleRoot finds this module's source tree: upward from the working
// directory, else from where this file was compiled.
func moduleRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, s := range starts {
		for d := s; ; d = filepath.Dir(d) {
			if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
				strings.Contains(string(b), "module "+modulePath+"\n") {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", fmt.Errorf("cannot find the %s source tree to build the binaries; set %s", modulePath, EnvBinDir)
}
