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
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/agentops/failover-harness/runtime/lb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// flagName maps a config field path to its flag: health.failure_threshold
// becomes health-failure-threshold.
func flagName(field string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(field)
}

type regionList []string

func (r *regionList) String() string     { return strings.Join(*r, ",") }
func (r *regionList) Set(v string) error { *r = append(*r, v); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("global-lb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML config file (docs/ARCHITECTURE.md); flags override it")
	shutdown := fs.Duration("shutdown-timeout", 5*time.Second, "how long a graceful stop waits for in-flight requests")
	var regions regionList
	fs.Var(&regions, "region", "region as name=url[@weight]; repeatable; replaces the config's regions")
	def := lb.Default()
	overrides := map[string]*string{}
	for _, f := range lb.ScalarFields {
		overrides[f] = fs.String(flagName(f), "", fmt.Sprintf("override %s (default from config, else %s)", f, defaultOf(def, f)))
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "global-lb: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	cfg := lb.Default()
	if *configPath != "" {
		f, err := os.Open(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "global-lb: config: %v\n", err)
			return 2
		}
		cfg, err = lb.ParseConfig(io.LimitReader(f, 1<<20))
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "global-lb: %v\n", err)
			return 2
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, field := range lb.ScalarFields {
		if set[flagName(field)] {
			if err := cfg.Set(field, *overrides[field]); err != nil {
				fmt.Fprintf(stderr, "global-lb: %v\n", err)
				return 2
			}
		}
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
	srv := &http.Server{
		Handler:           l.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
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

func defaultOf(c lb.Config, field string) string {
	switch field {
	case "listen":
		return c.Listen
	case "seed":
		return fmt.Sprint(c.Seed)
	case "clock_offset":
		return c.ClockOffset.String()
	case "health.path":
		return c.Health.Path
	case "health.interval":
		return c.Health.Interval.String()
	case "health.timeout":
		return c.Health.Timeout.String()
	case "health.failure_threshold":
		return fmt.Sprint(c.Health.FailureThreshold)
	case "health.success_threshold":
		return fmt.Sprint(c.Health.SuccessThreshold)
	case "health.enabled":
		return fmt.Sprint(c.Health.Enabled)
	case "outlier.enabled":
		return fmt.Sprint(c.Outlier.Enabled)
	case "outlier.consecutive_failures":
		return fmt.Sprint(c.Outlier.ConsecutiveFailures)
	case "outlier.ejection":
		return c.Outlier.Ejection.String()
	case "retry.enabled":
		return fmt.Sprint(c.Retry.Enabled)
	case "retry.attempts":
		return fmt.Sprint(c.Retry.Attempts)
	case "retry.per_try_timeout":
		return c.Retry.PerTryTimeout.String()
	case "alert.webhook":
		return `"" (disabled)`
	case "alert.name":
		return c.Alert.Name
	}
	return ""
}
