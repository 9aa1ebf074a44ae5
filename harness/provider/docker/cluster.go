package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/provider/ports"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	mnetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"golang.org/x/sync/errgroup"

	"github.com/agentops/failover-harness/harness/alertsink"
	"github.com/agentops/failover-harness/harness/gate"
	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
)

// cluster is a running docker topology.
type cluster struct {
	opts  Options
	spec  topology.Spec
	runID string
	sec   secrets

	cli     *client.Client
	net     *testcontainers.DockerNetwork
	gateway string // the network's gateway IP: the host as containers see it

	sink      *alertsink.Sink // nil when Options.AlertPort sends alerts elsewhere
	alertBase string          // the webhook base URL the containers send to
	gates     map[string]*gate.Gate
	links     []link

	mu         sync.Mutex // guards containers
	containers map[string]*testcontainers.DockerContainer
	refused    map[string]bool // links refusePeerLinks disabled, by name

	rtHostPort map[string]int // region → runtime port published on 127.0.0.1
	// clockOffsets: regions whose next Start runs on another clock
	// (SetClockOffset), guarded by mu.
	clockOffsets map[string]time.Duration
	toxi         *toxiproxy.Client
	toxiURL      string
	lbURL        string
	http         *http.Client
	// amURL and promURL are the Alertmanager's and Prometheus's ports
	// published on 127.0.0.1 ("" when the spec runs none: observe.go).
	amURL   string
	promURL string

	closeOnce sync.Once
	closeErr  error
}

var (
	_ topology.Cluster     = (*cluster)(nil)
	_ topology.ClockSetter = (*cluster)(nil)
)

// tcLogger forwards testcontainers' chatter to the spec's log.
type tcLogger struct{ spec topology.Spec }

func (l tcLogger) Printf(format string, v ...any) { l.spec.Logf("docker: "+format, v...) }

var _ tclog.Logger = tcLogger{}

func (c *cluster) start(ctx context.Context) error {
	var err error
	c.containers = map[string]*testcontainers.DockerContainer{}
	c.refused = map[string]bool{}
	c.gates = map[string]*gate.Gate{}
	c.rtHostPort = map[string]int{}
	c.http = &http.Client{Timeout: 10 * time.Second}
	c.cli, err = client.New(client.FromEnv)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	labels := c.labels()
	c.spec.Logf("docker: run %s: creating network", c.runID)
	c.net, err = network.New(ctx, network.WithLabels(labels))
	if err != nil {
		return fmt.Errorf("create network: %w", err)
	}
	ni, err := c.cli.NetworkInspect(ctx, c.net.ID, client.NetworkInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect network: %w", err)
	}
	if len(ni.Network.IPAM.Config) == 0 || !ni.Network.IPAM.Config[0].Gateway.IsValid() {
		return fmt.Errorf("network %s: no IPAM gateway to reach the host through", c.net.Name)
	}
	c.gateway = ni.Network.IPAM.Config[0].Gateway.String()

	// Host-side pieces first: their addresses go into the containers' configs.
	c.alertBase = fmt.Sprintf("http://%s:%d", c.gateway, c.opts.AlertPort)
	if c.opts.AlertPort == 0 {
		if c.sink, err = alertsink.Start(c.gateway + ":0"); err != nil {
			return err
		}
		c.alertBase = c.sink.URL()
	}
	gateAddr := map[string]string{}
	for i, r := range c.spec.Regions {
		port, err := ports.Free()
		if err != nil {
			return fmt.Errorf("regions[%s]: pick runtime port: %w", r.Name, err)
		}
		c.rtHostPort[r.Name] = port
		g, err := gate.Start(r.Name, fmt.Sprintf("http://127.0.0.1:%d", port), c.gateway+":0", c.spec.Seed+int64(i))
		if err != nil {
			return err
		}
		c.gates[r.Name] = g
		gateAddr[r.Name] = g.Addr()
	}
	c.links = planLinks(c.spec, gateAddr)

	// Dependencies and toxiproxy have no ordering between them.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if c.opts.Images.Upstream { // DynamoDB Local, in memory, one shared database
			_, err := c.run(gctx, "dynamodb", c.opts.Images.Dynamo, aliasDynamo, dynamoPort, 0, nil,
				wait.ForListeningPort(fmt.Sprintf("%d/tcp", dynamoPort)), "-jar", "DynamoDBLocal.jar", "-inMemory", "-sharedDb", "-port", fmt.Sprint(dynamoPort))
			return err
		}
		_, err := c.run(gctx, "dynamodb", c.opts.Images.Dynamo, aliasDynamo, dynamoPort, 0, nil,
			wait.ForLog("READY dynamodb"), "--listen", fmt.Sprintf("0.0.0.0:%d", dynamoPort))
		return err
	})
	for _, r := range c.spec.Regions {
		g.Go(func() error {
			// No persistence (a restart is a cold cache), and a password:
			// nothing but the region's runtime reads or writes its cache.
			bin := "/usr/bin/redis-server"
			if c.opts.Images.Upstream {
				bin = "redis-server"
			}
			args := []string{bin, "--bind", "0.0.0.0", "--port", strconv.Itoa(redisPort), "--save", "", "--appendonly", "no", "--dir", "/data", "--requirepass", c.sec.RedisPassword}
			_, err := c.run(gctx, "redis-"+r.Name, c.opts.Images.Redis, aliasRedis(r.Name), redisPort, 0, nil,
				wait.ForLog("Ready to accept connections"), args...)
			return err
		})
	}
	g.Go(func() error {
		_, err := c.run(gctx, "toxiproxy", c.opts.Images.Toxiproxy, aliasToxiproxy, toxiproxyPort, 0, nil,
			wait.ForLog("Starting Toxiproxy HTTP server"))
		return err
	})
	// Before the senders: their first alert must find it listening.
	g.Go(func() error { return c.startAlertmanager(gctx) })
	if err := g.Wait(); err != nil {
		return err
	}
	if err := c.createLinks(ctx); err != nil {
		return err
	}

	g, gctx = errgroup.WithContext(ctx)
	for _, r := range c.spec.Regions {
		g.Go(func() error {
			cfg, err := runtimeYAML(c.spec, r.Name, c.links, c.sec, c.regionAlerts(r.Name))
			if err != nil {
				return err
			}
			_, err = c.run(gctx, "runtime-"+r.Name, c.opts.Images.Runtime, aliasRuntime(r.Name), runtimePort,
				c.rtHostPort[r.Name], cfg, wait.ForLog("READY region="), "--config", "/config.yaml")
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}

	cfg, err := lbYAML(c.spec, c.links, c.sec, c.lbAlerts())
	if err != nil {
		return err
	}
	lb, err := c.run(ctx, "global-lb", c.opts.Images.LB, aliasLB, lbPort, 0, cfg,
		wait.ForLog("READY lb"), "--config", "/config.yaml")
	if err != nil {
		return err
	}
	hp, err := lb.MappedPort(ctx, fmt.Sprintf("%d/tcp", lbPort))
	if err != nil {
		return fmt.Errorf("global-lb: mapped port: %w", err)
	}
	c.lbURL = fmt.Sprintf("http://127.0.0.1:%d", hp.Num())
	// After the LB, as the local provider does: it scrapes every runtime and the LB.
	if err := c.startPrometheus(ctx); err != nil {
		return err
	}
	c.spec.Logf("docker: run %s: up, LB %s", c.runID, c.lbURL)
	return nil
}

// lbAlerts is where the LB's alerts go: the Alertmanager when the run has
// one (and it alone notifies the sink), else the sink's /lb webhook.
func (c *cluster) lbAlerts() alertDest {
	switch {
	case !c.spec.AlertsEnabled:
		return alertDest{}
	case c.alertmanagerOn():
		return alertDest{Alertmanager: amInternalURL, Resend: c.spec.AlertResend}
	}
	return alertDest{Webhook: c.alertBase + "/lb"}
}

// regionAlerts is lbAlerts for a region's failover manager (RegionAlerts).
func (c *cluster) regionAlerts(region string) alertDest {
	switch {
	case !c.spec.AlertsEnabled || !c.spec.RegionAlerts:
		return alertDest{}
	case c.alertmanagerOn():
		return alertDest{Alertmanager: amInternalURL, Resend: c.spec.AlertResend}
	}
	return alertDest{Webhook: c.alertBase + "/region/" + region}
}

func (c *cluster) labels() map[string]string {
	return map[string]string{LabelProject: "1", LabelRun: c.runID}
}

// run starts one container on the run network, publishing port on
// 127.0.0.1 (hostPort 0: any free port), with cfg (if any) at /config.yaml,
// and waits for ready within StartupTimeout.
func (c *cluster) run(ctx context.Context, name, image, alias string, port, hostPort int, cfg []byte, ready wait.Strategy, args ...string) (*testcontainers.DockerContainer, error) {
	var files []testcontainers.ContainerFile
	if cfg != nil {
		files = append(files, testcontainers.ContainerFile{
			Reader: bytes.NewReader(cfg), ContainerFilePath: "/config.yaml", FileMode: 0o644,
		})
	}
	return c.runFiles(ctx, name, image, alias, port, hostPort, files, ready, args...)
}

// runFiles is run with files copied in before the container starts.
func (c *cluster) runFiles(ctx context.Context, name, image, alias string, port, hostPort int, files []testcontainers.ContainerFile, ready wait.Strategy, args ...string) (*testcontainers.DockerContainer, error) {
	p := fmt.Sprintf("%d/tcp", port)
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithName(c.runID + "-" + name),
		testcontainers.WithLabels(c.labels()),
		network.WithNetwork([]string{alias}, c.net),
		testcontainers.WithExposedPorts(p),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = mnetwork.PortMap{mnetwork.MustParsePort(p): {{
				HostIP:   netip.MustParseAddr("127.0.0.1"),
				HostPort: strconv.Itoa(hostPort),
			}}}
		}),
		testcontainers.WithWaitStrategyAndDeadline(c.opts.StartupTimeout, ready),
		testcontainers.WithLogger(tcLogger{c.spec}),
	}
	if len(args) > 0 {
		opts = append(opts, testcontainers.WithCmd(args...))
	}
	if len(files) > 0 {
		opts = append(opts, testcontainers.WithFiles(files...))
	}
	ctr, err := testcontainers.Run(ctx, image, opts...)
	if ctr != nil {
		c.mu.Lock()
		c.containers[name] = ctr
		c.mu.Unlock()
	}
	if err != nil {
		return nil, fmt.Errorf("container %s (%s): %w", name, image, err)
	}
	return ctr, nil
}

func (c *cluster) container(name string) (*testcontainers.DockerContainer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctr, ok := c.containers[name]
	if !ok {
		return nil, fmt.Errorf("docker provider: no container %q", name)
	}
	return ctr, nil
}

func (c *cluster) runtimeContainer(region string) (*testcontainers.DockerContainer, error) {
	if _, ok := c.gates[region]; !ok {
		return nil, fmt.Errorf("region %q: not in this topology", region)
	}
	return c.container("runtime-" + region)
}

// createLinks creates every toxiproxy proxy once the API answers.
func (c *cluster) createLinks(ctx context.Context) error {
	ctr, err := c.container("toxiproxy")
	if err != nil {
		return err
	}
	hp, err := ctr.MappedPort(ctx, fmt.Sprintf("%d/tcp", toxiproxyPort))
	if err != nil {
		return fmt.Errorf("toxiproxy: mapped port: %w", err)
	}
	c.toxiURL = fmt.Sprintf("http://127.0.0.1:%d", hp.Num())
	c.toxi = toxiproxy.NewClient(c.toxiURL)
	// The log line comes just before the API listens: poll it, bounded.
	if err := c.poll(ctx, "toxiproxy API", func() error { _, err := c.toxi.Proxies(); return err }); err != nil {
		return err
	}
	for _, l := range c.links {
		if _, err := c.toxi.CreateProxy(l.Name, l.Listen, l.Upstream); err != nil {
			return fmt.Errorf("toxiproxy: create link %s: %w", l.Name, err)
		}
	}
	return nil
}

// linksInto lists the links whose upstream is region's runtime (its peers'
// links; the LB's go through the host gates).
func (c *cluster) linksInto(region string) []link {
	var out []link
	for _, l := range c.links {
		if l.Upstream == fmt.Sprintf("%s:%d", aliasRuntime(region), runtimePort) {
			out = append(out, l)
		}
	}
	return out
}

// refusePeerLinks makes the peers' links into a killed region refuse
// connections, as a crashed process's host does (and as the local
// provider's loopback port does). Left alone, toxiproxy would dial the
// stopped container for every connection, in its accept loop, without a
// timeout: one dial to a container that is gone stalls every connection
// queued after it, so after the restart peers' probes would time out for
// as long as that dial takes (seen: routers 400-650 ms late after rows 6
// and 7) although the runtime answers. Links a fault already disabled are
// left to that fault.
func (c *cluster) refusePeerLinks(region string) error {
	for _, l := range c.linksInto(region) {
		p, err := c.toxi.Proxy(l.Name)
		if err != nil {
			return fmt.Errorf("toxiproxy: link %s: %w", l.Name, err)
		}
		if !p.Enabled {
			continue
		}
		if err := p.Disable(); err != nil {
			return fmt.Errorf("toxiproxy: refuse link %s: %w", l.Name, err)
		}
		c.mu.Lock()
		c.refused[l.Name] = true
		c.mu.Unlock()
	}
	return nil
}

// restorePeerLinks enables again the links refusePeerLinks disabled.
func (c *cluster) restorePeerLinks(region string) error {
	for _, l := range c.linksInto(region) {
		c.mu.Lock()
		refused := c.refused[l.Name]
		delete(c.refused, l.Name)
		c.mu.Unlock()
		if !refused {
			continue
		}
		p, err := c.toxi.Proxy(l.Name)
		if err != nil {
			return fmt.Errorf("toxiproxy: link %s: %w", l.Name, err)
		}
		if err := p.Enable(); err != nil {
			return fmt.Errorf("toxiproxy: enable link %s: %w", l.Name, err)
		}
	}
	return nil
}

// poll retries check every PollInterval until it succeeds, ctx ends or
// StartupTimeout passes.
func (c *cluster) poll(ctx context.Context, what string, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.StartupTimeout)
	defer cancel()
	t := time.NewTicker(c.opts.PollInterval)
	defer t.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last error: %v)", what, ctx.Err(), err)
		case <-t.C:
		}
	}
}

func (c *cluster) Spec() topology.Spec { return c.spec }
func (c *cluster) LBURL() string       { return c.lbURL }
func (c *cluster) AdminToken() string  { return c.sec.AdminToken }

// WarmupKeys are the regions' peer keys of this run (topology.PeerKeys).
func (c *cluster) WarmupKeys() map[string]rtconfig.WarmupKeyPair { return c.sec.WarmupKeys }

// RunID is the value of the run label on everything this cluster created.
func (c *cluster) RunID() string { return c.runID }

// LBStatus reads GET /lb/status, its times moved onto the harness's clock
// (topology.LBStatus.AlignClock): the LB's container clock is never
// compared with the host's.
func (c *cluster) LBStatus(ctx context.Context) (topology.LBStatus, error) {
	return topology.ReadLBStatus(ctx, c.http, c.lbURL, c.sec.StatusToken)
}

func (c *cluster) get(ctx context.Context, url, token string) ([]byte, error) {
	return topology.Get(ctx, c.http, url, token)
}

func (c *cluster) Regions() []topology.Region {
	out := make([]topology.Region, 0, len(c.spec.Regions))
	for _, r := range c.spec.Regions {
		out = append(out, topology.Region{Name: r.Name, URL: c.gates[r.Name].URL(), Weight: r.Weight})
	}
	return out
}

func (c *cluster) Toxiproxy() *toxiproxy.Client { return c.toxi }

func (c *cluster) Link(name string) (*toxiproxy.Proxy, error) {
	for _, l := range c.links {
		if l.Name == name {
			return c.toxi.Proxy(name)
		}
	}
	return nil, fmt.Errorf("link %q: not in this topology", name)
}

func (c *cluster) Links() []string {
	out := make([]string, 0, len(c.links))
	for _, l := range c.links {
		out = append(out, l.Name)
	}
	sort.Strings(out)
	return out
}

// Gate returns the region's fault gate, or nil for an unknown region.
func (c *cluster) Gate(region string) topology.GateControl {
	g, ok := c.gates[region]
	if !ok {
		return nil
	}
	return g
}

// Pause freezes the runtime container (docker pause: the cgroup freezer, the
// container equivalent of SIGSTOP): connections stay open, nothing answers.
func (c *cluster) Pause(ctx context.Context, region string) error {
	ctr, err := c.runtimeContainer(region)
	if err != nil {
		return err
	}
	if _, err := c.cli.ContainerPause(ctx, ctr.GetContainerID(), client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pause %s: %w", region, err)
	}
	return nil
}

func (c *cluster) Resume(ctx context.Context, region string) error {
	ctr, err := c.runtimeContainer(region)
	if err != nil {
		return err
	}
	if _, err := c.cli.ContainerUnpause(ctx, ctr.GetContainerID(), client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("resume %s: %w", region, err)
	}
	return nil
}

// Kill stops the runtime container: SIGTERM, then SIGKILL after StopGrace
// (default 0, i.e. a crash).
func (c *cluster) Kill(ctx context.Context, region string) error {
	ctr, err := c.runtimeContainer(region)
	if err != nil {
		return err
	}
	// A frozen container cannot handle the stop signal: thaw it first, as the
	// local provider sends SIGCONT before SIGTERM.
	if st, err := ctr.State(ctx); err == nil && st.Paused {
		if _, err := c.cli.ContainerUnpause(ctx, ctr.GetContainerID(), client.ContainerUnpauseOptions{}); err != nil {
			return fmt.Errorf("kill %s: unpause: %w", region, err)
		}
	}
	// Refused first: toxiproxy cannot change a link whose accept loop is
	// already stuck dialing the stopped container.
	if err := c.refusePeerLinks(region); err != nil {
		return fmt.Errorf("kill %s: %w", region, err)
	}
	grace := c.opts.StopGrace
	if err := ctr.Stop(ctx, &grace); err != nil {
		return fmt.Errorf("kill %s: %w", region, err)
	}
	return nil
}

// SetClockOffset makes the region's runtime run with its wall clock shifted
// by d from its next Start: Start writes its /config.yaml again, the spec's
// config with clock_offset d.
func (c *cluster) SetClockOffset(region string, d time.Duration) error {
	if _, ok := c.rtHostPort[region]; !ok {
		return fmt.Errorf("region %q: not in topology", region)
	}
	if err := topology.CheckClockOffset(region, d); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clockOffsets == nil {
		c.clockOffsets = map[string]time.Duration{}
	}
	c.clockOffsets[region] = d
	return nil
}

// applyClockOffset copies the region's config with the offset SetClockOffset
// gave into its stopped container, when it gave one.
func (c *cluster) applyClockOffset(ctx context.Context, region string, ctr *testcontainers.DockerContainer) error {
	c.mu.Lock()
	d, ok := c.clockOffsets[region]
	c.mu.Unlock()
	if !ok {
		return nil
	}
	b, err := runtimeYAMLClock(c.spec, region, c.links, c.sec, c.regionAlerts(region), d)
	if err != nil {
		return err
	}
	if err := ctr.CopyToContainer(ctx, b, "/config.yaml", 0o644); err != nil {
		return fmt.Errorf("region %s: write config with clock_offset %v: %w", region, d, err)
	}
	return nil
}

// Start starts a killed runtime again on the same published port. With
// coldCache its Redis is flushed first, so it comes back with an empty cache
// (and must warm up from its peers). It returns once the runtime answers HTTP.
func (c *cluster) Start(ctx context.Context, region string, coldCache bool) (err error) {
	ctr, err := c.runtimeContainer(region)
	if err != nil {
		return err
	}
	if coldCache {
		rc, err := c.container("redis-" + region)
		if err != nil {
			return err
		}
		code, out, err := rc.Exec(ctx, []string{"/usr/bin/redis-cli", "-a", c.sec.RedisPassword, "--no-auth-warning", "FLUSHALL"})
		if err != nil || code != 0 {
			msg := ""
			if out != nil {
				b, _ := io.ReadAll(out)
				msg = string(b)
			}
			return fmt.Errorf("flush redis of %s: exit %d: %v %s", region, code, err, msg)
		}
	}
	if err := c.applyClockOffset(ctx, region, ctr); err != nil {
		return err
	}
	// Started through the engine directly: testcontainers' Start would re-run
	// the log wait, which the previous run's READY line already satisfies.
	if _, err := c.cli.ContainerStart(ctx, ctr.GetContainerID(), client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", region, err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/health", c.rtHostPort[region])
	hc := &http.Client{Timeout: time.Second}
	defer func() {
		// Restored once it answers (or on any error path: the links must not
		// stay refused); the restart counts as done after this.
		if rerr := c.restorePeerLinks(region); rerr != nil && err == nil {
			err = rerr
		}
	}()
	return c.poll(ctx, "runtime "+region, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

func (c *cluster) Alerts() []topology.Alert {
	if c.sink == nil {
		return nil
	}
	return c.sink.Alerts()
}

// Metrics reads the region's /metrics straight from its published port
// (bypassing the gate, so injected HTTP faults do not hide them).
func (c *cluster) Metrics(ctx context.Context, region string) (map[string]float64, error) {
	port, ok := c.rtHostPort[region]
	if !ok {
		return nil, fmt.Errorf("region %q: not in this topology", region)
	}
	body, err := c.get(ctx, fmt.Sprintf("http://127.0.0.1:%d/metrics", port), "")
	if err != nil {
		return nil, fmt.Errorf("metrics of %s: %w", region, err)
	}
	return topology.ParseMetrics(bytes.NewReader(body))
}

// Close removes every container, volume and the network of the run, then
// stops the host-side gates and alert sink. It runs on its own deadline
// (CleanupTimeout) even when ctx is already cancelled, so an interrupted run
// still cleans up. Safe to call more than once.
func (c *cluster) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.CleanupTimeout)
		defer cancel()
		var errs []error
		if c.cli == nil {
			cli, err := client.New(client.FromEnv)
			if err != nil {
				c.closeErr = fmt.Errorf("docker client: %w", err)
				return
			}
			c.cli = cli
		}
		c.saveLogs(cctx)
		if err := removeRun(cctx, c.cli, c.runID); err != nil {
			errs = append(errs, err)
		}
		// Prove it: anything still labelled is an error the caller must see.
		if left, err := leftovers(cctx, c.cli, c.runID); err != nil {
			errs = append(errs, err)
		} else if len(left) > 0 {
			errs = append(errs, fmt.Errorf("left behind: %v", left))
		}
		for _, g := range c.gates {
			if err := g.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if c.sink != nil {
			if err := c.sink.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		_ = c.cli.Close()
		if len(errs) > 0 {
			c.closeErr = fmt.Errorf("docker provider close (run %s): %w", c.runID, errors.Join(errs...))
		}
	})
	return c.closeErr
}

// saveLogs writes each container's output to RunDir/docker-<name>.log, for
// post-mortems; best effort.
func (c *cluster) saveLogs(ctx context.Context) {
	if c.spec.RunDir == "" {
		return
	}
	c.mu.Lock()
	names := make(map[string]string, len(c.containers))
	for n, ctr := range c.containers {
		names[n] = ctr.GetContainerID()
	}
	c.mu.Unlock()
	for n, id := range names {
		res, err := c.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
		if err != nil {
			continue
		}
		f, err := os.Create(filepath.Join(c.spec.RunDir, "docker-"+n+".log"))
		if err == nil {
			_, _ = stdcopy.StdCopy(f, f, res)
			_ = f.Close()
		}
		_ = res.Close()
	}
}
