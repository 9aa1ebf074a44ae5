package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/provider"
	"github.com/agentops/failover-harness/harness/provider/docker"
	"github.com/agentops/failover-harness/harness/provider/local"
	"github.com/agentops/failover-harness/harness/provider/ports"
	"github.com/agentops/failover-harness/harness/target"
	"github.com/agentops/failover-harness/harness/topology"
)

func init() {
	register(command{name: "up", summary: "start the topology and keep it running until Ctrl-C", run: runUp})
}

func runUp(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos up", flag.ContinueOnError)
	providerName := fs.String("provider", "local", "topology provider: local | docker")
	images := fs.String("images", "auto", "docker image set: upstream | local (make images) | auto (local when built)")
	seed := fs.Int64("seed", 0, "random seed (0 = derived from the clock, printed)")
	runDir := fs.String("run-dir", "", "directory for configs and logs (default: a new temp dir)")
	binDir := fs.String("bin-dir", "", "prebuilt agent-runtime/global-lb (default $"+local.EnvBinDir+" or build)")
	timeout := fs.Duration("ready-timeout", 60*time.Second, "how long to wait for the topology to be ready")
	writeTarget := fs.String("write-target", "", "docker only: write a target file for `chaos run --provider external --target FILE` from another process (secrets go to FILE.env, mode 0600); both are removed when up stops")
	cfgPath := fs.String("config", "", "with --write-target: start the topology with this failover config, time-compressed as chaos run would (default: the built-in settings)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: chaos up [--provider local|docker] [--seed N] [--run-dir DIR]")
		fmt.Fprintln(fs.Output(), "       chaos up --provider docker --write-target FILE [--config FILE]")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	switch *providerName {
	case "local", "docker":
	default:
		fmt.Fprintf(stderr, "chaos up: --provider: %q is not one of local, docker\n", *providerName)
		return 2
	}
	if *writeTarget != "" && *providerName != "docker" {
		fmt.Fprintln(stderr, "chaos up: --write-target: needs --provider docker (its hooks are docker pause/kill/start)")
		return 2
	}
	if *cfgPath != "" && *writeTarget == "" {
		fmt.Fprintln(stderr, "chaos up: --config: applies with --write-target only")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	spec := topology.DefaultSpec()
	tf := &target.File{}
	alertPort := 0
	if *writeTarget != "" {
		var err error
		if spec, err = targetSpec(ctx, *cfgPath, tf, stderr); err != nil {
			fmt.Fprintf(stderr, "chaos up: %v\n", err)
			return 1
		}
		if alertPort, err = ports.Free(); err != nil {
			fmt.Fprintf(stderr, "chaos up: alert port: %v\n", err)
			return 1
		}
	}
	p, why, err := provider.Choose(ctx, provider.Choice{Name: *providerName, Images: *images, BinDir: *binDir, ReadyTimeout: *timeout, Progress: stderr, AlertPort: alertPort})
	if err != nil {
		fmt.Fprintf(stderr, "chaos up: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "chaos up: %s provider (%s)\n", p.Name(), why)
	if *seed == 0 {
		*seed = engine.NewSeed()
	}

	spec.Seed, spec.RunDir, spec.Log = *seed, *runDir, stderr
	c, err := p.Start(ctx, spec)
	if err != nil {
		fmt.Fprintf(stderr, "chaos up: %v\n", err)
		return 1
	}
	// deferred so a panic below still tears the topology down
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(cctx); err != nil {
			fmt.Fprintf(stderr, "chaos up: teardown: %v\n", err)
		}
	}()

	fmt.Fprintf(stdout, "lb: %s\n", c.LBURL())
	for _, r := range c.Regions() {
		fmt.Fprintf(stdout, "%s: %s\n", r.Name, r.URL)
	}
	if *writeTarget == "" {
		fmt.Fprintf(stdout, "admin-token: %s\n", c.AdminToken())
	}
	if lc, ok := c.(interface{ ToxiproxyURL() string }); ok {
		fmt.Fprintf(stdout, "toxiproxy: %s\n", lc.ToxiproxyURL())
	}
	fmt.Fprintf(stdout, "run-dir: %s\n", c.Spec().RunDir)
	fmt.Fprintf(stdout, "seed: %d\n", c.Spec().Seed)
	if *writeTarget != "" {
		d, ok := c.(docker.Describer)
		if !ok {
			fmt.Fprintln(stderr, "chaos up: --write-target: this provider cannot describe its topology")
			return 1
		}
		closeTarget, err := writeTargetFiles(*writeTarget, tf, d.Deployment(), alertPort)
		if err != nil {
			fmt.Fprintf(stderr, "chaos up: --write-target: %v\n", err)
			return 1
		}
		defer closeTarget()
		fmt.Fprintf(stdout, "target: %s\n", *writeTarget)
		fmt.Fprintf(stdout, "secrets: %s (set -a; . %s; set +a)\n", *writeTarget+".env", *writeTarget+".env")
	}
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	fmt.Fprintln(stderr, "chaos up: running; Ctrl-C to stop")
	<-ctx.Done()
	fmt.Fprintln(stderr, "chaos up: stopping")
	return 0
}
