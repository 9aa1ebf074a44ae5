// Command agent-runtime runs one region of the multi-region agent runtime:
// the agent API, health, admin and peer endpoints over HTTP, backed by the
// global DynamoDB store and this region's Redis cache.
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
	"syscall"
	"time"

	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/redis/go-redis/v9"

	"github.com/agentops/failover-harness/runtime/agent"
	"github.com/agentops/failover-harness/runtime/alert"
	"github.com/agentops/failover-harness/runtime/cache"
	"github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/failover"
	"github.com/agentops/failover-harness/runtime/httpsafe"
	"github.com/agentops/failover-harness/runtime/model"
	"github.com/agentops/failover-harness/runtime/region"
	"github.com/agentops/failover-harness/runtime/server"
	"github.com/agentops/failover-harness/runtime/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run returns the process exit code: 0 ok, 1 runtime failure, 2 bad config.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := config.Load("", args)
	if errors.Is(err, flag.ErrHelp) {
		config.Usage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "agent-runtime:", err)
		return 2
	}
	base := slog.New(slog.NewJSONHandler(stderr, nil))
	log := base.With("region", cfg.Region)
	if err := serve(ctx, cfg, base, stdout); err != nil {
		log.Error("agent-runtime stopped", "err", err)
		return 1
	}
	return 0
}

// serve runs the region; base is handed to the components, which add the
// region to their own log lines.
func serve(ctx context.Context, cfg config.Config, base *slog.Logger, stdout io.Writer) error {
	log := base.With("region", cfg.Region)
	// The one wall clock of this region (clock_offset simulates skew); every
	// component that reads wall time gets it.
	now := cfg.Clock()
	strategy, err := store.ParseStrategy(cfg.ConflictStrategy)
	if err != nil {
		return err
	}
	policy, err := agent.ParsePolicy(cfg.Checkpoint.Policy)
	if err != nil {
		return err
	}
	dyn, err := store.NewDynamo(ctx, store.DynamoConfig{
		Endpoint: cfg.DynamoDB.Endpoint, Table: cfg.DynamoDB.Table, AWSRegion: cfg.DynamoDB.AWSRegion,
		TTL: cfg.Session.TTL, MaxMessages: cfg.Session.MaxMessages, Strategy: strategy, Now: now,
		StoreClock: cfg.Session.ExpiryClock == config.ExpiryClockStore,
		// A partitioned store must fail a request well inside a client's patience.
		OpTimeout: cfg.Health.Timeout,
	})
	if err != nil {
		return err
	}
	if cfg.DynamoDB.CreateTable {
		if err := dyn.CreateTable(ctx); err != nil {
			return fmt.Errorf("dynamodb.create_table: %w", err)
		}
	} else if err := dyn.Ping(ctx); err != nil {
		// A missing table is a configuration error: say so now rather than
		// answer every request 503. An unreachable store is not: a region may
		// start while its link to the store is down, and /health reports it.
		if _, ok := errors.AsType[*dtypes.ResourceNotFoundException](err); ok {
			return fmt.Errorf("dynamodb.table: table %q does not exist at %s (create it, or set dynamodb.create_table / --dynamodb-create-table)", cfg.DynamoDB.Table, cfg.DynamoDB.Endpoint)
		}
		log.Warn("global store not reachable at start", "err", err)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().String()

	regions := make([]region.Region, 0, len(cfg.Regions))
	for _, r := range cfg.Regions {
		regions = append(regions, region.Region{Name: r.Name, Endpoint: r.Endpoint, Weight: r.Weight, Priority: r.Priority})
	}
	if len(regions) == 0 { // single-region mode: the router knows only itself
		regions = append(regions, region.Region{Name: cfg.Region, Endpoint: "http://" + addr, Weight: 1})
	}
	peerClient := &http.Client{Timeout: cfg.Health.Timeout}
	router, err := region.NewRouter(region.Config{
		Regions: regions, Self: cfg.Region, Timeout: cfg.Health.Timeout,
		HealthyThreshold: cfg.Health.HealthyThreshold, UnhealthyThreshold: cfg.Health.UnhealthyThreshold,
		Client: peerClient, Now: now,
	})
	if err != nil {
		return err
	}

	var (
		rdb  *redis.Client
		c    *cache.Cache
		repl *cache.Replicator
	)
	if cfg.Redis.Addr != "" {
		// Short timeouts: a dead Redis must cost a cache miss, not a stalled request.
		to := cfg.Health.Timeout / 4
		rdb = redis.NewClient(&redis.Options{
			Addr: cfg.Redis.Addr, Password: cfg.Redis.Password, DialTimeout: to, ReadTimeout: to, WriteTimeout: to, PoolTimeout: to, MaxRetries: 0,
		})
		defer rdb.Close()
		c = cache.New(rdb, cfg.Region, cfg.Cache.TTL, now)
		if cfg.WarmupKey != "" {
			repl, err = newReplicator(cfg, c, peerClient, router, now)
			if err != nil {
				return err
			}
		}
	}

	svc, err := agent.New(agent.Config{
		Region: cfg.Region, Store: dyn, Cache: c, Replicator: broadcastIf(cfg.Cache.Replicate, repl),
		Model: model.FakeLLM{Latency: cfg.Model.Latency}, Policy: policy, Interval: cfg.Checkpoint.Interval,
		TTL: cfg.Session.TTL, MaxMessages: cfg.Session.MaxMessages, Now: now, ExpiryNow: dyn.Now, Logger: base,
		WriteBehind: peerDownFailpoint(&cfg, router), WriteBehindDelay: cfg.Failpoints.WriteDelay,
	})
	if err != nil {
		return err
	}
	sender := alert.NewSenderWith(cfg.Alert.Webhook, peerClient, "agent-runtime/"+cfg.Region,
		alert.Options{Alertmanager: cfg.Alert.Alertmanager, Resend: cfg.Alert.Resend})
	fm, err := failover.New(failover.Config{
		Router: router, Self: cfg.Region, Interval: cfg.Health.Interval, Auto: cfg.Failover.Auto,
		Alert: sender, Flusher: svc, Now: now, Logger: log, // the manager does not add the region itself
	})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Region: cfg.Region, Agent: svc, Store: dyn, StoreStats: dyn.Stats, Cache: c, Replicator: repl,
		Router: router, Failover: fm, Alert: sender, AdminToken: cfg.AdminToken,
		HealthTimeout: cfg.Health.Timeout, Logger: base, Now: now, MaxMessageBytes: cfg.Session.MaxMessageBytes,
	})
	if err != nil {
		return err
	}

	// A restarted region asks its peers for their recent entries before it
	// serves anything, so it never takes traffic cold: the pull is bounded
	// by one health timeout (peers are asked in parallel), and a region whose
	// peers cannot answer serves cold rather than not at all.
	if repl != nil && cfg.Cache.WarmOnStart {
		wctx, cancel := context.WithTimeout(ctx, cfg.Health.Timeout)
		n, err := repl.PullFromPeers(wctx)
		cancel()
		if err != nil {
			log.Warn("cache warm-on-start incomplete: serving cold", "pulled", n, "err", err)
		} else {
			log.Info("cache warmed from peers", "pulled", n)
		}
	}

	httpSrv := httpsafe.Server(srv.Handler(), cfg.HTTP, log, nil, nil)
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()

	bg, cancelBG := context.WithCancel(ctx)
	defer cancelBG()
	if repl != nil {
		repl.Start(bg)
	}
	fm.Start(bg)
	log.Info("listening", "addr", addr, "policy", string(policy), "strategy", string(strategy), "clock_offset", cfg.ClockOffset.String())
	fmt.Fprintf(stdout, "READY region=%s addr=%s\n", cfg.Region, addr)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "cause", context.Cause(ctx))
	case runErr = <-serveErr:
	}
	cancelBG()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	// Awaited final checkpoints of dirty sessions, each with a fresh version.
	if err := svc.Close(sctx); err != nil {
		log.Error("final checkpoints failed", "err", err)
		runErr = errors.Join(runErr, err)
	}
	fm.Wait()
	log.Info("stopped")
	if errors.Is(runErr, http.ErrServerClosed) {
		return nil
	}
	return runErr
}

// broadcastIf returns repl only when replication is on (cache.replicate).
func broadcastIf(on bool, repl *cache.Replicator) *cache.Replicator {
	if on {
		return repl
	}
	return nil
}

// newReplicator replicates to every other configured region, reached at
// the endpoint this region uses for it. Requests are signed with this
// region's warmup_key and verified with each sender's regions[].warmup_public_key.
func newReplicator(cfg config.Config, c *cache.Cache, client *http.Client, router *region.Router, now func() time.Time) (*cache.Replicator, error) {
	key, err := cfg.WarmupSigningKey()
	if err != nil {
		return nil, err
	}
	pubs, err := cfg.WarmupPublicKeys()
	if err != nil {
		return nil, err
	}
	return cache.NewReplicator(cache.ReplicatorConfig{
		Region: cfg.Region, Key: key, PeerKeys: pubs, Staleness: cfg.Cache.Staleness, Cache: c,
		ReplayWindow: cfg.Cache.ReplayWindow, NonceCacheSize: cfg.Cache.NonceCacheSize,
		Client: client, SendTimeout: cfg.Health.Timeout, Now: now, ValidValue: agent.ValidCachedValue,
		Peers: func() []cache.Peer {
			var peers []cache.Peer
			for _, r := range router.Regions() {
				// A peer our router sees as down would only cost send timeouts.
				if r.Name != cfg.Region && r.Status != region.StatusDown {
					peers = append(peers, cache.Peer{Name: r.Name, URL: r.Endpoint})
				}
			}
			return peers
		},
	})
}

// peerDownFailpoint is the planted bug's trigger (failpoints.
// ack_before_write_while_peer_down): any peer not active in this region's
// router while each of its last three store writes took longer than
// failpoints.slow_store.
// nil when the failpoint is off, as in production.
func peerDownFailpoint(cfg *config.Config, router *region.Router) func(time.Duration) bool {
	if !cfg.Failpoints.AckBeforeWriteWhilePeerDown {
		return nil
	}
	slow := cfg.Failpoints.SlowStore
	if slow <= 0 {
		slow = 150 * time.Millisecond
	}
	return func(lastWrite time.Duration) bool {
		if lastWrite <= slow {
			return false
		}
		for _, rg := range router.Regions() {
			if rg.Name != cfg.Region && rg.Status != region.StatusActive {
				return true
			}
		}
		return false
	}
}
