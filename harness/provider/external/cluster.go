package external

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/agentops/failover-harness/harness/alertsink"
	"github.com/agentops/failover-harness/harness/journal"
	"github.com/agentops/failover-harness/harness/target"
	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
)

type cluster struct {
	p    *Provider
	f    *target.File
	spec topology.Spec
	http *http.Client

	adminToken, statusToken string
	keys                    map[string]rtconfig.WarmupKeyPair

	toxi   *toxiproxy.Client
	tproxy *toxiJournal
	links  map[string]string // link -> proxy name
	sink   *alertsink.Sink

	// dry: print every change instead of making it (Dry).
	dry     *lockedWriter
	dryToxi *dryToxi

	mu     sync.Mutex
	paused map[string]bool
	down   map[string]bool

	closeOnce sync.Once
	closeErr  error
}

var (
	_ topology.Cluster      = (*cluster)(nil)
	_ topology.Capabilities = (*cluster)(nil)
	_ topology.Shared       = (*cluster)(nil)
	_ topology.PeerKeys     = (*cluster)(nil)
)

func (c *cluster) open(ctx context.Context) error {
	var err error
	if c.adminToken, err = target.Secret("admin_token_env", c.f.AdminTokenEnv); err != nil {
		return err
	}
	if c.statusToken, err = target.Secret("lb.status_token_env", c.f.LB.StatusTokenEnv); err != nil {
		return err
	}
	c.keys = map[string]rtconfig.WarmupKeyPair{}
	for i, r := range c.f.Regions {
		v, err := target.Secret(fmt.Sprintf("regions[%d].peer_key_env", i), r.PeerKeyEnv)
		if err != nil || v == "" {
			continue
		}
		seed, err := hex.DecodeString(v)
		if err != nil {
			return fmt.Errorf("regions[%d].peer_key_env: %s does not hold a hex key seed", i, r.PeerKeyEnv)
		}
		kp, err := rtconfig.WarmupKeyPairFromSeed(seed)
		if err != nil {
			return fmt.Errorf("regions[%d].peer_key_env: %v", i, err)
		}
		c.keys[r.Name] = kp
	}
	if t := c.f.Toxiproxy; t != nil {
		if c.tproxy, err = startToxiJournal(t.URL, c.p.Journal); err != nil {
			return err
		}
		c.toxi = toxiproxy.NewClient(c.tproxy.URL())
		if c.links, err = c.mapLinks(t); err != nil {
			return err
		}
	}
	if a := c.f.Alerts.Listen; a != "" {
		if c.sink, err = alertsink.Start(a); err != nil {
			return fmt.Errorf("alerts.listen: %w", err)
		}
	}
	return c.waitWhole(ctx)
}

// mapLinks resolves every link the target proxies to a proxy that exists.
func (c *cluster) mapLinks(t *target.Toxiproxy) (map[string]string, error) {
	proxies, err := c.toxi.Proxies()
	if err != nil {
		return nil, fmt.Errorf("toxiproxy.url %s: %w", t.URL, err)
	}
	out := map[string]string{}
	if len(t.Links) == 0 {
		for name := range proxies {
			out[name] = name
		}
		return out, nil
	}
	for link, name := range t.Links {
		if _, ok := proxies[name]; !ok {
			return nil, fmt.Errorf("toxiproxy.links.%s: no proxy %q at %s", link, name, t.URL)
		}
		out[link] = name
	}
	return out, nil
}

// waitWhole polls until the LB has every region in rotation and every
// region's router sees every region active: a row starts from a whole
// deployment, as it does from a fresh local one.
func (c *cluster) waitWhole(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.f.Ready())
	defer cancel()
	names := c.spec.RegionNames()
	every := c.p.PollInterval
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	var last error
	for {
		err := c.whole(ctx, names)
		if err == nil {
			return nil
		}
		// the attempt the deadline cut short says less than the one before
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w after %v: %v", ErrNotWhole, c.f.Ready(), last)
		case <-time.After(every):
		}
	}
}

func (c *cluster) whole(ctx context.Context, names []string) error {
	st, err := c.LBStatus(ctx)
	if err != nil {
		return fmt.Errorf("lb.url: %w", err)
	}
	for _, n := range names {
		if r, ok := st.Region(n); !ok || !r.InRotation {
			return fmt.Errorf("the LB has %s out of rotation", n)
		}
	}
	for _, r := range c.Regions() {
		rs, err := topology.ReadRouter(ctx, c.http, topology.Region{Name: r.Name, URL: r.Direct}, c.adminToken)
		if err != nil {
			return fmt.Errorf("region %s admin: %w", r.Name, err)
		}
		for _, n := range names {
			if s := rs.Status(n); s != "active" {
				return fmt.Errorf("region %s sees %s %q", r.Name, n, s)
			}
		}
	}
	return nil
}

func (c *cluster) Spec() topology.Spec { return c.spec }
func (c *cluster) LBURL() string       { return strings.TrimRight(c.f.LB.URL, "/") }
func (c *cluster) AdminToken() string  { return c.adminToken }
func (c *cluster) Shared() bool        { return true }

// PrometheusURL is the operator's Prometheus (prom.Server), "" when none.
func (c *cluster) PrometheusURL() string { return strings.TrimRight(c.f.Prometheus.URL, "/") }

func (c *cluster) WarmupKeys() map[string]rtconfig.WarmupKeyPair { return c.keys }

func (c *cluster) LBStatus(ctx context.Context) (topology.LBStatus, error) {
	return topology.ReadLBStatus(ctx, c.http, c.LBURL(), c.statusToken)
}

func (c *cluster) get(ctx context.Context, url, token string) ([]byte, error) {
	return topology.Get(ctx, c.http, url, token)
}

func (c *cluster) Regions() []topology.Region {
	w := c.spec.Weights()
	out := make([]topology.Region, 0, len(c.f.Regions))
	for _, r := range c.f.Regions {
		admin := r.AdminURL
		if admin == "" {
			admin = r.URL
		}
		out = append(out, topology.Region{Name: r.Name, URL: strings.TrimRight(r.URL, "/"), Weight: w[r.Name], Direct: strings.TrimRight(admin, "/")})
	}
	return out
}

func (c *cluster) Toxiproxy() *toxiproxy.Client { return c.toxi }

func (c *cluster) Link(name string) (*toxiproxy.Proxy, error) {
	p, ok := c.links[name]
	if !ok || c.toxi == nil {
		return nil, fmt.Errorf("link %q: the target's toxiproxy does not carry it: %w", name, topology.ErrUnsupported)
	}
	return c.toxi.Proxy(p)
}

func (c *cluster) Links() []string {
	out := make([]string, 0, len(c.links))
	for l := range c.links {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func (c *cluster) Alerts() []topology.Alert {
	if c.sink == nil {
		return nil
	}
	return c.sink.Alerts()
}

// Metrics reads the region's metrics URL (default: its URL + /metrics).
func (c *cluster) Metrics(ctx context.Context, region string) (map[string]float64, error) {
	for _, r := range c.f.Regions {
		if r.Name != region {
			continue
		}
		u := r.MetricsURL
		if u == "" {
			u = strings.TrimRight(r.URL, "/") + "/metrics"
		}
		body, err := c.get(ctx, u, "")
		if err != nil {
			return nil, fmt.Errorf("metrics of %s: %w", region, err)
		}
		return topology.ParseMetrics(bytes.NewReader(body))
	}
	return nil, fmt.Errorf("region %q: not in the target", region)
}

// Close lets go of the target: it stops only what the harness started here
// (the journaling toxiproxy front, the alert receiver). The deployment stays.
func (c *cluster) Close(context.Context) error {
	c.closeOnce.Do(func() {
		var errs []error
		if c.tproxy != nil {
			errs = append(errs, c.tproxy.Close())
		}
		if c.dryToxi != nil {
			errs = append(errs, c.dryToxi.srv.Close())
		}
		if c.sink != nil {
			errs = append(errs, c.sink.Close())
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// Can says whether the target's hooks (and alert receiver) allow op.
func (c *cluster) Can(op topology.Op, region string) error {
	h := c.f.HooksOf(region)
	need := func(names ...string) error {
		var miss []string
		for _, n := range names {
			if hookByName(h, n) == nil {
				miss = append(miss, "hooks."+n)
			}
		}
		if len(miss) > 0 {
			return fmt.Errorf("region %s: the target has no %s: %w", region, strings.Join(miss, ", "), topology.ErrUnsupported)
		}
		return nil
	}
	switch op {
	case topology.OpPause:
		return need("pause", "resume")
	case topology.OpKill:
		return need("kill")
	case topology.OpStart:
		return need("start")
	case topology.OpStartCold:
		return need("start_cold")
	case topology.OpHTTPStatus:
		return need("http503_on", "http503_off")
	case topology.OpFailureRate:
		return need("failure_rate", "failure_rate_off")
	}
	return fmt.Errorf("operation %q: %w", op, topology.ErrUnsupported)
}

func hookByName(h target.Hooks, name string) *target.Hook {
	switch name {
	case "pause":
		return h.Pause
	case "resume":
		return h.Resume
	case "kill":
		return h.Kill
	case "start":
		return h.Start
	case "start_cold":
		return h.StartCold
	case "http503_on":
		return h.HTTP503On
	case "http503_off":
		return h.HTTP503Off
	case "failure_rate":
		return h.FailureRate
	case "failure_rate_off":
		return h.FailureRateOff
	}
	return nil
}

// render fills a hook of region; a missing hook wraps ErrUnsupported.
func (c *cluster) render(region, name string, extra map[string]any) (string, time.Duration, error) {
	h := hookByName(c.f.HooksOf(region), name)
	if h == nil {
		return "", 0, fmt.Errorf("region %s: the target has no hooks.%s: %w", region, name, topology.ErrUnsupported)
	}
	cmd, err := h.Render(c.f.Vars(region, extra))
	if err != nil {
		return "", 0, fmt.Errorf("region %s hooks.%s: %w", region, name, err)
	}
	return cmd, h.TimeoutOrDefault(), nil
}

// act journals undo (when given) and runs hook name on region. The undo is
// written before the hook runs: a crash between them leaves an undo that
// is harmless to run (resume a running region, start a started one).
func (c *cluster) act(ctx context.Context, region, name string, extra map[string]any, key, undo string, undoExtra map[string]any) error {
	cmd, timeout, err := c.render(region, name, extra)
	if err != nil {
		return err
	}
	if c.dry != nil {
		c.dry.printf("    hooks.%s %s: %s\n", name, region, cmd)
		if undo != "" {
			ucmd, _, err := c.render(region, undo, undoExtra)
			if err != nil {
				return err
			}
			c.dry.printf("      (journaled first, the undo: hooks.%s: %s)\n", undo, ucmd)
		}
		return nil
	}
	if undo != "" && c.p.Journal != nil {
		ucmd, ut, err := c.render(region, undo, undoExtra)
		if err != nil {
			return err
		}
		if err := c.p.Journal.Before(journal.Action{Key: key, Kind: journal.KindCommand, Command: ucmd, Timeout: ut.Seconds(),
			What: fmt.Sprintf("%s of region %s (undo: hooks.%s: %s)", name, region, undo, ucmd)}); err != nil {
			return err
		}
	}
	c.spec.Logf("external: hooks.%s %s: %s", name, region, cmd)
	if err := target.Run(ctx, cmd, timeout); err != nil {
		return fmt.Errorf("region %s hooks.%s: %w", region, name, err)
	}
	return nil
}

func (c *cluster) healed(key string) error {
	if c.p.Journal == nil {
		return nil
	}
	return c.p.Journal.Healed(key)
}

func (c *cluster) Pause(ctx context.Context, region string) error {
	if err := c.act(ctx, region, "pause", nil, "paused:"+region, "resume", nil); err != nil {
		return err
	}
	c.mu.Lock()
	c.paused[region] = true
	c.mu.Unlock()
	return nil
}

func (c *cluster) Resume(ctx context.Context, region string) error {
	if err := c.act(ctx, region, "resume", nil, "", "", nil); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.paused, region)
	c.mu.Unlock()
	return c.healed("paused:" + region)
}

// Kill crashes the region (resumed first when paused: a frozen process
// cannot be stopped everywhere); the journal's undo starts it with its cache.
func (c *cluster) Kill(ctx context.Context, region string) error {
	c.mu.Lock()
	paused := c.paused[region]
	c.mu.Unlock()
	if paused {
		if err := c.Resume(ctx, region); err != nil {
			return fmt.Errorf("kill %s: %w", region, err)
		}
	}
	if err := c.act(ctx, region, "kill", nil, "down:"+region, "start", nil); err != nil {
		return err
	}
	c.mu.Lock()
	c.down[region] = true
	c.mu.Unlock()
	return nil
}

// Start runs the start (or start_cold) hook and returns once the region
// answers its health check.
func (c *cluster) Start(ctx context.Context, region string, coldCache bool) error {
	name := "start"
	if coldCache {
		name = "start_cold"
	}
	if err := c.act(ctx, region, name, nil, "", "", nil); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.down, region)
	c.mu.Unlock()
	if err := c.healed("down:" + region); err != nil {
		return err
	}
	if c.dry != nil {
		c.dry.printf("    wait until %s answers GET /health\n", region)
		return nil
	}
	var admin string
	for _, r := range c.Regions() {
		if r.Name == region {
			admin = r.Direct
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.f.Ready())
	defer cancel()
	for {
		if _, err := c.get(ctx, admin+"/health", ""); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start %s: no answer from %s/health within %v", region, admin, c.f.Ready())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Gate is the region's HTTP fault switch made of its hooks, or nil when
// the target has none for it.
func (c *cluster) Gate(region string) topology.GateControl {
	if c.Can(topology.OpHTTPStatus, region) != nil && c.Can(topology.OpFailureRate, region) != nil {
		return nil
	}
	return &hookGate{c: c, region: region}
}

// hookGate switches a region's HTTP faults with the target's hooks.
type hookGate struct {
	c      *cluster
	region string
}

func (g *hookGate) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Minute) // each hook has its own, shorter timeout
}

func (g *hookGate) SetStatus(code int) error {
	ctx, cancel := g.ctx()
	defer cancel()
	key := "http503:" + g.region
	if code == 0 {
		if err := g.c.act(ctx, g.region, "http503_off", nil, "", "", nil); err != nil {
			return err
		}
		return g.c.healed(key)
	}
	return g.c.act(ctx, g.region, "http503_on", map[string]any{"Status": code}, key, "http503_off", nil)
}

func (g *hookGate) SetFailureRate(p float64) error {
	ctx, cancel := g.ctx()
	defer cancel()
	key := "failure_rate:" + g.region
	if p == 0 {
		if err := g.c.act(ctx, g.region, "failure_rate_off", nil, "", "", nil); err != nil {
			return err
		}
		return g.c.healed(key)
	}
	return g.c.act(ctx, g.region, "failure_rate", map[string]any{"Rate": p}, key, "failure_rate_off", nil)
}

func (g *hookGate) SetDelay(d time.Duration) error {
	if d == 0 {
		return nil
	}
	return fmt.Errorf("region %s: the target has no delay hook (use a latency toxic): %w", g.region, topology.ErrUnsupported)
}

// Reset switches off every HTTP fault the target has hooks for.
func (g *hookGate) Reset() error {
	var errs []error
	if g.c.Can(topology.OpHTTPStatus, g.region) == nil {
		errs = append(errs, g.SetStatus(0))
	}
	if g.c.Can(topology.OpFailureRate, g.region) == nil {
		errs = append(errs, g.SetFailureRate(0))
	}
	return errors.Join(errs...)
}
