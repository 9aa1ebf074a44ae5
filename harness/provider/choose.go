// Package provider chooses a topology provider by name: the one place that
// knows every provider (local processes, docker containers, an external
// deployment named by a target file).
package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/journal"
	"github.com/agentops/failover-harness/harness/provider/docker"
	"github.com/agentops/failover-harness/harness/provider/external"
	"github.com/agentops/failover-harness/harness/provider/local"
	"github.com/agentops/failover-harness/harness/target"
	"github.com/agentops/failover-harness/harness/topology"
)

// Names are the providers Choose knows, for usage texts.
const Names = "local, docker, external, auto"

// Choice is what the user asked for.
type Choice struct {
	Name   string // local | docker | auto ("" = auto)
	Images string // docker image set: upstream | local | auto
	// BinDir holds prebuilt agent-runtime/global-lb for local; empty:
	// $CHAOS_BIN_DIR, else they are built (announced on Progress).
	BinDir string
	// ReadyTimeout bounds each process or container becoming ready (0: the provider's default).
	ReadyTimeout time.Duration
	Progress     io.Writer
	// AlertPort sends a docker topology's alerts to this gateway port, for
	// another process to receive (docker.Options.AlertPort).
	AlertPort int

	// Target, Base and Journal are external's: the target file, the spec
	// its config describes, and the heal journal (nil: none).
	Target  *target.File
	Base    topology.Spec
	Journal *journal.Journal
}

// Check says whether name is a provider Choose knows ("" is auto).
func Check(name string) error {
	switch name {
	case "", "auto", "local", "docker", "external":
		return nil
	}
	return fmt.Errorf("%q is not one of %s", name, Names)
}

// Choose resolves c to a provider and says why it was picked. Auto prefers
// docker when an engine answers and every image is present, and says why it
// did not.
func Choose(ctx context.Context, c Choice) (topology.Provider, string, error) {
	newDocker := func() (*docker.Provider, string, error) {
		return docker.NewFor(ctx, c.Images, docker.Options{StartupTimeout: c.ReadyTimeout, AlertPort: c.AlertPort})
	}
	switch c.Name {
	case "", "auto":
		d, why, err := newDocker()
		if err != nil {
			return nil, "", err
		}
		if err := d.Available(ctx); err != nil {
			p, err2 := newLocal(ctx, c)
			return p, "auto: docker not usable (" + firstLine(err.Error()) + "); using local", err2
		}
		return d, "auto: docker engine reachable, " + why, nil
	case "external":
		if c.Target == nil {
			return nil, "", errors.New("provider external: a target file is required (--target FILE)")
		}
		return &external.Provider{File: c.Target, Base: c.Base, Journal: c.Journal}, "requested, target " + c.Target.LB.URL, nil
	case "local":
		p, err := newLocal(ctx, c)
		return p, "requested", err
	case "docker":
		d, why, err := newDocker()
		if err != nil {
			return nil, "", err
		}
		if err := d.Available(ctx); err != nil {
			return nil, "", fmt.Errorf("provider docker: %w", err)
		}
		return d, "requested, " + why, nil
	default:
		return nil, "", fmt.Errorf("provider: %w", Check(c.Name))
	}
}

func newLocal(ctx context.Context, c Choice) (topology.Provider, error) {
	dir := c.BinDir
	if dir == "" {
		dir = os.Getenv(local.EnvBinDir)
	}
	if dir == "" {
		if c.Progress != nil {
			fmt.Fprintln(c.Progress, "chaos: building runtime binaries")
		}
		d, err := local.BuildBinaries(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("build binaries: %w", err)
		}
		dir = d
	}
	return &local.Provider{BinDir: dir, ReadyTimeout: c.ReadyTimeout}, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
