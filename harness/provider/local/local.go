// Package local runs the multi-region topology as processes on 127.0.0.1:
// one agent-runtime per region with its own Redis, one DynamoDB endpoint
// (embedded unless Spec.DynamoEndpoint is set), the global-lb, toxiproxy
// embedded in-process on every link, an HTTP fault gate in front of every
// region and an alert webhook receiver (behind an Alertmanager with
// Spec.Alertmanager: alertmanager.go).
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/agentops/failover-harness/harness/provider/ports"

	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/agentops/failover-harness/harness/alertsink"
	"github.com/agentops/failover-harness/harness/gate"
	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/store/dynamotest"
)

// Provider starts local topologies. Zero values are usable.
type Provider struct {
	BinDir       string        // prebuilt binaries; empty: BuildBinaries("")
	ReadyTimeout time.Duration // per child READY and for LB all-green; default 20s
	PollInterval time.Duration // LB status polling; default 20ms
	StopGrace    time.Duration // SIGTERM grace before SIGKILL on Close; default 3s
}

// Name is "local".
func (p *Provider) Name() string { return "local" }

func (p *Provider) defaults() Provider {
	q := *p
	if q.ReadyTimeout <= 0 {
		q.ReadyTimeout = 20 * time.Second
	}
	if q.PollInterval <= 0 {
		q.PollInterval = 20 * time.Millisecond
	}
	if q.StopGrace <= 0 {
		q.StopGrace = 3 * time.Second
	}
	return q
}

type regionState struct {
	spec       topology.RegionSpec
	port       int
	configPath string
	logPath    string
	gate       *gate.Gate
	redis      *redisBackend

	mu   sync.Mutex
	proc *proc
	// config is the runtime config as first written; clockOffset, when set
	// (SetClockOffset), replaces its clock_offset from the next Start.
	config      rtconfig.Config
	clockOffset *time.Duration
}

// Cluster is a running local topology.
type Cluster struct {
	p      Provider
	spec   topology.Spec
	binDir string
	token  string
	// statusToken guards the LB's /lb/status (internal URLs, dial errors).
	statusToken string
	// warmupKeys: one fresh Ed25519 key pair per region and run, signing
	// that region's peer cache requests (peer protocol v2).
	warmupKeys map[string]rtconfig.WarmupKeyPair
	regions    []*regionState
	byName     map[string]*regionState

	toxi     *toxiServer
	toxiCli  *toxiclient.Client
	links    []string
	dynamo   *dynamotest.Server
	dynamoEP string
	alerts   *alertsink.Sink
	lb       *proc
	lbURL    string
	http     *http.Client
	prom     *promServer   // Spec.Prometheus (prometheus.go)
	am       *alertManager // Spec.Alertmanager (alertmanager.go)

	closeOnce sync.Once
	closeErr  error
}

var (
	_ topology.Cluster     = (*Cluster)(nil)
	_ topology.ClockSetter = (*Cluster)(nil)
)

// Start brings the topology up and returns once the LB has every region in
// rotation. On any error everything started so far is torn down.
func (p *Provider) Start(ctx context.Context, spec topology.Spec) (_ topology.Cluster, err error) {
	c, err := p.StartCluster(ctx, spec)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// StartCluster is Start returning the concrete type (for PIDs/ports in tests).
func (p *Provider) StartCluster(ctx context.Context, spec topology.Spec) (_ *Cluster, err error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	cfg := p.defaults()
	if spec.RunDir == "" {
		if spec.RunDir, err = os.MkdirTemp("", "chaos-run-*"); err != nil {
			return nil, fmt.Errorf("run dir: %w", err)
		}
	} else if err := os.MkdirAll(spec.RunDir, 0o755); err != nil {
		return nil, fmt.Errorf("spec.run_dir: %w", err)
	}
	started := time.Now()
	spec.Logf("chaos: seed=%d run-dir=%s", spec.Seed, spec.RunDir)

	binDir, err := BuildBinaries(ctx, cfg.BinDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{p: cfg, spec: spec, binDir: binDir, byName: map[string]*regionState{},
		http: &http.Client{Timeout: 5 * time.Second}}
	defer func() {
		if err != nil {
			_ = c.Close(context.Background())
		}
	}()
	// Independent random secrets: knowing the admin token says nothing of
	// the keys peers sign their warmups with, and each region has its own
	// key pair, so no region can speak for another.
	c.token, c.statusToken, c.warmupKeys = randomHex(16), randomHex(16), rtconfig.NewWarmupKeys(spec.RegionNames()...)

	if c.toxi, err = startToxiproxy(); err != nil {
		return nil, fmt.Errorf("toxiproxy: %w", err)
	}
	c.toxiCli = toxiclient.NewClient(c.toxi.url)
	if c.alerts, err = alertsink.Start("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("alert receiver: %w", err)
	}
	if err := c.startAlertmanager(ctx); err != nil {
		return nil, err
	}
	c.dynamoEP = spec.DynamoEndpoint
	if c.dynamoEP == "" {
		if c.dynamo, err = dynamotest.Start("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("embedded dynamodb: %w", err)
		}
		c.dynamoEP = c.dynamo.URL
	}
	du, err := url.Parse(c.dynamoEP)
	if err != nil || du.Host == "" {
		return nil, fmt.Errorf("spec.dynamo_endpoint: bad URL %q", c.dynamoEP)
	}

	for i, rs := range spec.Regions {
		r := &regionState{spec: rs}
		c.regions = append(c.regions, r)
		c.byName[rs.Name] = r
		if r.port, err = ports.Free(); err != nil {
			return nil, err
		}
		if r.redis, err = startRedis(ctx, "redis-"+rs.Name, filepath.Join(spec.RunDir, "redis-"+rs.Name), randomHex(16), cfg.ReadyTimeout, spec.Logf); err != nil {
			return nil, err
		}
		if r.gate, err = gate.Start(rs.Name, fmt.Sprintf("http://127.0.0.1:%d", r.port), "127.0.0.1:0", spec.Seed+int64(i)+1); err != nil {
			return nil, err
		}
	}

	// One proxy per link; toxiproxy picks the listen port and keeps it for
	// the proxy's lifetime (also across disable/enable).
	listen := map[string]string{}
	mk := func(name, upstream string) error {
		px, err := c.toxiCli.CreateProxy(name, "127.0.0.1:0", upstream)
		if err != nil {
			return fmt.Errorf("toxiproxy link %s: %w", name, err)
		}
		listen[name] = px.Listen
		c.links = append(c.links, name)
		return nil
	}
	for _, r := range c.regions {
		n := r.spec.Name
		if err := mk(topology.DynamoLink(n), du.Host); err != nil {
			return nil, err
		}
		if err := mk(topology.RedisLink(n), r.redis.addr); err != nil {
			return nil, err
		}
		if err := mk(topology.LBLink(n), r.gate.Addr()); err != nil {
			return nil, err
		}
		for _, peer := range c.regions {
			if peer != r {
				if err := mk(topology.PeerLink(n, peer.spec.Name), peer.gate.Addr()); err != nil {
					return nil, err
				}
			}
		}
	}
	sort.Strings(c.links)

	for _, r := range c.regions {
		if err := c.writeRuntimeConfig(r, listen, du); err != nil {
			return nil, err
		}
	}
	// The first region creates the table alone; the rest start in parallel.
	if err := c.startRegion(ctx, c.regions[0]); err != nil {
		return nil, err
	}
	errs := make([]error, len(c.regions))
	var wg sync.WaitGroup
	for i, r := range c.regions[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.startRegion(ctx, r)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	if err := c.startLB(ctx, listen); err != nil {
		return nil, err
	}
	if err := c.startPrometheus(ctx); err != nil {
		return nil, err
	}
	if err := c.WaitAllInRotation(ctx, cfg.ReadyTimeout); err != nil {
		return nil, err
	}
	spec.Logf("chaos: topology ready in %v", time.Since(started).Round(time.Millisecond))
	return c, nil
}

func (c *Cluster) writeRuntimeConfig(r *regionState, listen map[string]string, du *url.URL) error {
	rc := c.runtimeConfig(r, listen, du)
	r.configPath = filepath.Join(c.spec.RunDir, "runtime-"+r.spec.Name+".yaml")
	r.logPath = filepath.Join(c.spec.RunDir, "runtime-"+r.spec.Name+".log")
	r.config = rc
	return writeYAML(r.configPath, &rc)
}

// SetClockOffset makes the region's runtime run with its wall clock shifted
// by d from its next Start: its config file is rewritten with clock_offset d
// then (the rest of the config, drift included, unchanged).
func (c *Cluster) SetClockOffset(region string, d time.Duration) error {
	r, err := c.region(region)
	if err != nil {
		return err
	}
	if err := topology.CheckClockOffset(region, d); err != nil {
		return err
	}
	r.mu.Lock()
	r.clockOffset = &d
	r.mu.Unlock()
	return nil
}

func (c *Cluster) writeLBConfig(listen map[string]string) (string, error) {
	path := filepath.Join(c.spec.RunDir, "global-lb.yaml")
	return path, writeYAML(path, c.lbConfig(listen))
}

func (c *Cluster) startRegion(ctx context.Context, r *regionState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil && !r.proc.exited() {
		return fmt.Errorf("region %s: already running (pid %d)", r.spec.Name, r.proc.pid())
	}
	if r.clockOffset != nil { // SetClockOffset: this start runs on the clock it set
		rc := r.config
		rc.ClockOffset = *r.clockOffset
		if err := writeYAML(r.configPath, &rc); err != nil {
			return fmt.Errorf("region %s: %w", r.spec.Name, err)
		}
	}
	p, addr, err := startProc(ctx, "agent-runtime "+r.spec.Name, filepath.Join(c.binDir, RuntimeBinary),
		[]string{"--config", r.configPath}, r.logPath, readyLine, c.p.ReadyTimeout)
	if err != nil {
		return err
	}
	if want := fmt.Sprintf("127.0.0.1:%d", r.port); addr != want {
		p.kill(c.p.StopGrace)
		return fmt.Errorf("region %s: READY addr=%s, want %s", r.spec.Name, addr, want)
	}
	r.proc = p
	c.spec.Logf("chaos: %s ready pid=%d addr=%s", r.spec.Name, p.pid(), addr)
	return nil
}

func (c *Cluster) startLB(ctx context.Context, listen map[string]string) error {
	s := c.spec
	path, err := c.writeLBConfig(listen)
	if err != nil {
		return err
	}
	p, addr, err := startProc(ctx, "global-lb", filepath.Join(c.binDir, LBBinary), []string{"--config", path},
		filepath.Join(s.RunDir, "global-lb.log"), readyLine, c.p.ReadyTimeout)
	if err != nil {
		return err
	}
	c.lb = p
	c.lbURL = "http://" + addr
	s.Logf("chaos: global-lb ready pid=%d addr=%s", p.pid(), addr)
	return nil
}

// WaitAllInRotation polls /lb/status until every region is in rotation.
func (c *Cluster) WaitAllInRotation(ctx context.Context, timeout time.Duration) error {
	return c.WaitLB(ctx, timeout, func(s topology.LBStatus) bool {
		return s.AllInRotation(c.spec.RegionNames()...)
	})
}

// WaitLB polls /lb/status every PollInterval until cond holds or timeout.
func (c *Cluster) WaitLB(ctx context.Context, timeout time.Duration, cond func(topology.LBStatus) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(c.p.PollInterval)
	defer tick.Stop()
	var last topology.LBStatus
	var lastErr error
	for {
		st, err := c.LBStatus(ctx)
		if err == nil && cond(st) {
			return nil
		}
		last, lastErr = st, err
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("lb status: condition not met within %v: %w", timeout, lastErr)
			}
			return fmt.Errorf("lb status: condition not met within %v (last: %+v)", timeout, last.Regions)
		case <-tick.C:
		}
	}
}

// Spec is the effective spec (defaults applied, RunDir set).
func (c *Cluster) Spec() topology.Spec { return c.spec }

// LBURL is the global LB's base URL.
func (c *Cluster) LBURL() string { return c.lbURL }

// AdminToken is the bearer token of every region's admin API.
func (c *Cluster) AdminToken() string { return c.token }

// WarmupKeys are the regions' peer keys of this run (topology.PeerKeys).
func (c *Cluster) WarmupKeys() map[string]rtconfig.WarmupKeyPair { return c.warmupKeys }

// LBStatus reads GET /lb/status, its times moved onto the harness's clock
// (topology.LBStatus.AlignClock).
func (c *Cluster) LBStatus(ctx context.Context) (topology.LBStatus, error) {
	return topology.ReadLBStatus(ctx, c.http, c.lbURL, c.statusToken)
}

// Regions lists the regions in spec order.
func (c *Cluster) Regions() []topology.Region {
	out := make([]topology.Region, 0, len(c.regions))
	for _, r := range c.regions {
		out = append(out, topology.Region{Name: r.spec.Name, URL: r.gate.URL(), Weight: r.spec.Weight,
			Direct: fmt.Sprintf("http://127.0.0.1:%d", r.port)})
	}
	return out
}

// Toxiproxy is a client for the embedded toxiproxy API.
func (c *Cluster) Toxiproxy() *toxiclient.Client { return c.toxiCli }

// ToxiproxyURL is the embedded toxiproxy API's base URL.
func (c *Cluster) ToxiproxyURL() string {
	if c.toxi == nil {
		return ""
	}
	return c.toxi.url
}

// Link fetches the named proxy (fresh state from the API).
func (c *Cluster) Link(name string) (*toxiclient.Proxy, error) {
	return c.toxiCli.Proxy(name)
}

// Links lists every link name, sorted.
func (c *Cluster) Links() []string { return append([]string(nil), c.links...) }

// Gate returns the region's HTTP fault gate, or nil for an unknown region.
func (c *Cluster) Gate(region string) topology.GateControl {
	r, ok := c.byName[region]
	if !ok {
		return nil
	}
	return r.gate
}

func (c *Cluster) region(name string) (*regionState, error) {
	r, ok := c.byName[name]
	if !ok {
		return nil, fmt.Errorf("region %q: unknown", name)
	}
	return r, nil
}

func (c *Cluster) running(name string) (*regionState, *proc, error) {
	r, err := c.region(name)
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil || p.exited() {
		return r, nil, fmt.Errorf("region %s: not running", name)
	}
	return r, p, nil
}

// Pause freezes the region's runtime (SIGSTOP): it stays connected but answers nothing.
func (c *Cluster) Pause(_ context.Context, region string) error {
	_, p, err := c.running(region)
	if err != nil {
		return err
	}
	return p.signal(syscall.SIGSTOP)
}

// Resume undoes Pause (SIGCONT).
func (c *Cluster) Resume(_ context.Context, region string) error {
	_, p, err := c.running(region)
	if err != nil {
		return err
	}
	return p.signal(syscall.SIGCONT)
}

// Kill crashes the region's runtime (SIGKILL) and waits until it is reaped.
func (c *Cluster) Kill(_ context.Context, region string) error {
	_, p, err := c.running(region)
	if err != nil {
		return err
	}
	return p.kill(c.p.StopGrace)
}

// Start restarts a stopped region's runtime on its original port; with
// coldCache its Redis is emptied first.
func (c *Cluster) Start(ctx context.Context, region string, coldCache bool) error {
	r, err := c.region(region)
	if err != nil {
		return err
	}
	if coldCache {
		if err := r.redis.flush(ctx); err != nil {
			return fmt.Errorf("region %s: cold cache: %w", region, err)
		}
	}
	return c.startRegion(ctx, r)
}

// Alerts lists the webhook payloads received so far.
func (c *Cluster) Alerts() []topology.Alert { return c.alerts.Alerts() }

// Metrics scrapes the region's runtime /metrics directly (not through its gate).
func (c *Cluster) Metrics(ctx context.Context, region string) (map[string]float64, error) {
	r, err := c.region(region)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", r.port), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("region %s metrics: %w", region, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("region %s metrics: HTTP %d", region, resp.StatusCode)
	}
	return topology.ParseMetrics(resp.Body)
}

// PIDs lists every live child process id (runtimes, LB, redis servers).
func (c *Cluster) PIDs() []int {
	var out []int
	add := func(p *proc) {
		if p != nil && !p.exited() {
			out = append(out, p.pid())
		}
	}
	for _, r := range c.regions {
		r.mu.Lock()
		add(r.proc)
		r.mu.Unlock()
		if r.redis != nil {
			add(r.redis.proc)
		}
	}
	add(c.lb)
	add(c.prometheusProc())
	if c.am != nil {
		add(c.am.proc)
	}
	return out
}

// Addrs lists every host:port the topology listens on (runtimes, gates,
// links, LB, toxiproxy API, alert receiver, embedded DynamoDB, redis).
func (c *Cluster) Addrs() []string {
	var out []string
	for _, r := range c.regions {
		out = append(out, fmt.Sprintf("127.0.0.1:%d", r.port))
		if r.gate != nil {
			out = append(out, r.gate.Addr())
		}
		if r.redis != nil {
			out = append(out, r.redis.addr)
		}
	}
	if c.toxiCli != nil {
		if ps, err := c.toxiCli.Proxies(); err == nil {
			for _, p := range ps {
				out = append(out, p.Listen)
			}
		}
	}
	for _, u := range []string{c.lbURL, c.ToxiproxyURL(), c.alertsURL(), c.alertmanagerURL(), c.dynamoURL()} {
		if u != "" {
			out = append(out, u[len("http://"):])
		}
	}
	return out
}

func (c *Cluster) alertsURL() string {
	if c.alerts == nil {
		return ""
	}
	return c.alerts.URL()
}

func (c *Cluster) dynamoURL() string {
	if c.dynamo == nil {
		return ""
	}
	return c.dynamo.URL
}

// Close stops every child process (LB first, then runtimes, then redis) and
// every in-process server. Idempotent; logs stay in RunDir.
func (c *Cluster) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		var errs []error
		grace := c.p.StopGrace
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < grace {
			grace = max(time.Until(dl), 100*time.Millisecond)
		}
		errs = append(errs, c.stopPrometheus(grace))
		if c.lb != nil {
			errs = append(errs, c.lb.stop(grace))
		}
		var wg sync.WaitGroup
		rerrs := make([]error, len(c.regions))
		for i, r := range c.regions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.mu.Lock()
				p := r.proc
				r.mu.Unlock()
				if p != nil {
					rerrs[i] = p.stop(grace)
				}
			}()
		}
		wg.Wait()
		errs = append(errs, rerrs...)
		if c.toxi != nil {
			errs = append(errs, c.toxi.close())
		}
		for _, r := range c.regions {
			if r.gate != nil {
				errs = append(errs, r.gate.Close())
			}
			if r.redis != nil {
				errs = append(errs, r.redis.close(grace))
			}
		}
		errs = append(errs, c.stopAlertmanager(grace))
		if c.alerts != nil {
			errs = append(errs, c.alerts.Close())
		}
		if c.dynamo != nil {
			errs = append(errs, c.dynamo.Close())
		}
		c.closeErr = errors.Join(errs...)
		c.spec.Logf("chaos: topology stopped")
	})
	return c.closeErr
}

// randomHex is n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
