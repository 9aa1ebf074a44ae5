// Command global-lb is the global load balancer standing in for Route 53 +
// CloudFront in front of the region runtimes (see docs/ARCHITECTURE.md).
//
//	global-lb --config lb.yaml [--health-interval 300ms ...]
//
// Once listening it prints "READY lb addr=HOST:PORT" on stdout. SIGINT or
// SIGTERM stops it gracefully. A bad configuration exits 2 naming the field.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/agentops/failover-harness/runtime/httpsafe"
	"github.com/agentops/failover-harness/runtime/lb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type regionList []string

func (r *regionList) String() string     { return strings.Join(*r, ",") }
func (r *regionList) Set(v string) error { *r = append(*r, v); return nil }

const synopsis = "global-lb --config FILE [flags]"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// The scheme agent-runtime shares (runtime/config/flagset): defaults,
	// then --config FILE, then one flag per scalar YAML key.
	flags := lb.Flags()
	fs := flags.FlagSet()
	shutdown := fs.Duration("shutdown-timeout", 5*time.Second, "how long a graceful stop waits for in-flight requests")
	var regions regionList
	fs.Var(&regions, "region", "a region as `name=url[@weight]`; repeatable; replaces the config's regions")
	cfg := lb.Default()
	if err := flags.Load(args, &cfg); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			flags.Usage(stderr, synopsis)
			return 0
		}
		fmt.Fprintf(stderr, "global-lb: %v\n", err)
		return 2
	}
	if len(regions) > 0 {
		cfg.Regions = nil
		for _, s := range regions {
			rc, err := lb.ParseRegion(s)
			if err != nil {
				fmt.Fprintf(stderr, "global-lb: %v\n", err)
				return 2
			}
			cfg.Regions = append(cfg.Regions, rc)
		}
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "global-lb: %v\n", err)
		return 2
	}

	logger := slog.New(slog.NewJSONHandler(stderr, nil)).With("component", "global-lb")
	if cfg.StatusToken == "" {
		// Kept open for the harness's tests; a deployment must not be.
		logger.Warn("status_token is empty: GET /lb/status (region URLs, dial errors) is open to any caller; set --status-token outside tests")
	}
	l, err := lb.New(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "global-lb: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "global-lb: listen: %v\n", err)
		return 1
	}
	srv := httpsafe.Server(l.Handler(), cfg.HTTP, logger, nil, lb.OperatorPath)
	lbCtx, cancelLB := context.WithCancel(ctx)
	defer cancelLB()
	l.Start(lbCtx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "regions", len(cfg.Regions))
	fmt.Fprintf(stdout, "READY lb addr=%s\n", ln.Addr().String())

	code := 0
	select {
	case <-ctx.Done():
		logger.Info("stopping")
	case err := <-errc:
		logger.Error("serve failed", "err", err)
		code = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("graceful shutdown incomplete", "err", err)
	}
	cancelLB()
	l.Wait()
	l.Close()
	logger.Info("stopped", "code", code)
	return code
}
