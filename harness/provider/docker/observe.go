package docker

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/agentops/failover-harness/harness/alertmgr"
	"github.com/agentops/failover-harness/harness/prom"
)

// The topology's observers, each a container on the run network like every
// other (labelled with the run, removed by Close and by a failed Start, its
// output saved to RunDir/docker-<name>.log):
//
//   - Alertmanager (Spec.Alertmanager with AlertsEnabled): the LB, and the
//     regions with RegionAlerts, POST its API v2 at http://alertmanager:9093
//     (re-sending every Spec.AlertResend while firing) and nothing else; it
//     groups by alertname and notifies the harness's alert sink on the
//     network's gateway at /alertmanager, so what on-call receives has
//     Source "alertmanager".
//   - Prometheus (Spec.Prometheus): scrapes every region's runtime by its
//     alias (directly, not through its gate or toxiproxy) and the LB's
//     /lb/metrics with its status token, every Spec.ScrapeInterval, with the
//     failover rules (harness/prom) scaled to that interval. Its port is
//     published on 127.0.0.1: PrometheusURL.
//
// Both images' entrypoint is the binary (agentops/*:local and prom/*
// alike): the provider passes flags only, with state under /alertmanager
// and /prometheus (writable by the upstream images' nobody user too).

// Container-side ports, aliases and paths of the observers.
const (
	amPort            = 9093
	promPort          = 9090
	aliasAlertmanager = "alertmanager"
	aliasPrometheus   = "prometheus"

	amConfigFile   = "/etc/alertmanager/alertmanager.yml"
	amStorage      = "/alertmanager"
	promConfigFile = "/etc/prometheus/prometheus.yml"
	promRulesFile  = "/etc/prometheus/rules.yml"
	promStorage    = "/prometheus"

	// amReceiverPath is where the Alertmanager notifies the alert sink.
	amReceiverPath = "/alertmanager"
)

// amInternalURL is the Alertmanager as the runtimes and the LB reach it.
var amInternalURL = fmt.Sprintf("http://%s:%d", aliasAlertmanager, amPort)

var _ prom.Server = (*cluster)(nil)

// alertmanagerOn says whether the run routes its alerts through an
// Alertmanager.
func (c *cluster) alertmanagerOn() bool { return c.spec.Alertmanager && c.spec.AlertsEnabled }

// readyProbe waits until GET /-/ready answers 200 on port as published on
// 127.0.0.1 (never testcontainers' HTTP wait: it dials the engine's host
// address, which is not where this provider publishes ports when the
// harness itself runs in a container), failing at once when the container
// exits.
type readyProbe struct {
	port  int
	every time.Duration
}

var _ wait.Strategy = readyProbe{}

func (r readyProbe) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	hc := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	last := "no answer yet"
	for {
		st, err := target.State(ctx)
		switch {
		case err != nil:
			last = err.Error()
		case st.Status == container.StateExited:
			return fmt.Errorf("container exited with code %d", st.ExitCode)
		default:
			if err := r.ready(ctx, hc, target); err != nil {
				last = err.Error()
			} else {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET /-/ready on port %d: %w (last: %s)", r.port, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func (r readyProbe) ready(ctx context.Context, hc *http.Client, target wait.StrategyTarget) error {
	hp, err := target.MappedPort(ctx, fmt.Sprintf("%d/tcp", r.port))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/-/ready", hp.Num()), nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /-/ready: %s", resp.Status)
	}
	return nil
}

// startAlertmanager starts the Alertmanager container when the spec routes
// alerts through one; otherwise it does nothing. Its receiver is the alert
// sink (c.alertBase: this process's sink, or Options.AlertPort's listener).
func (c *cluster) startAlertmanager(ctx context.Context) error {
	if !c.alertmanagerOn() {
		return nil
	}
	if err := c.needImage(ctx, c.opts.Images.Alertmanager, "spec.alertmanager"); err != nil {
		return err
	}
	s := c.spec
	cfg, err := alertmgr.Config(alertmgr.Options{
		Receiver:  c.alertBase + amReceiverPath,
		GroupWait: s.AlertGroupWait, GroupInterval: s.AlertGroupInterval, RepeatInterval: s.AlertRepeatInterval,
	})
	if err != nil {
		return fmt.Errorf("spec.alertmanager: %w", err)
	}
	files := []testcontainers.ContainerFile{{Reader: bytes.NewReader(cfg), ContainerFilePath: amConfigFile, FileMode: 0o644}}
	ctr, err := c.runFiles(ctx, "alertmanager", c.opts.Images.Alertmanager, aliasAlertmanager, amPort, 0, files,
		readyProbe{port: amPort, every: c.opts.PollInterval}, alertmgr.Args(amConfigFile, amStorage, fmt.Sprintf("0.0.0.0:%d", amPort))...)
	if err != nil {
		return err
	}
	hp, err := ctr.MappedPort(ctx, fmt.Sprintf("%d/tcp", amPort))
	if err != nil {
		return fmt.Errorf("alertmanager: mapped port: %w", err)
	}
	c.amURL = fmt.Sprintf("http://127.0.0.1:%d", hp.Num())
	s.Logf("docker: run %s: alertmanager ready at %s (group_wait %v, group_interval %v, resend %v)", c.runID, c.amURL, s.AlertGroupWait, s.AlertGroupInterval, s.AlertResend)
	return nil
}

// prometheusOptions is what the run's prometheus.yml says: the containers
// by alias, from inside the network.
func (c *cluster) prometheusOptions() prom.Options {
	o := prom.Options{
		Interval:  c.spec.ScrapeInterval,
		Regions:   map[string]string{},
		LB:        fmt.Sprintf("%s:%d", aliasLB, lbPort),
		LBToken:   c.sec.StatusToken,
		RulesFile: promRulesFile,
	}
	for _, r := range c.spec.Regions {
		o.Regions[r.Name] = fmt.Sprintf("%s:%d", aliasRuntime(r.Name), runtimePort)
	}
	return o
}

// startPrometheus starts the Prometheus container when the spec asks for
// one, and waits until it answers GET /-/ready.
func (c *cluster) startPrometheus(ctx context.Context) error {
	s := c.spec
	if !s.Prometheus {
		return nil
	}
	if err := c.needImage(ctx, c.opts.Images.Prometheus, "spec.prometheus"); err != nil {
		return err
	}
	rules, err := prom.Rules(prom.RuleOptionsFor(s.ScrapeInterval))
	if err != nil {
		return fmt.Errorf("prometheus rules: %w", err)
	}
	cfg, err := prom.Config(c.prometheusOptions())
	if err != nil {
		return fmt.Errorf("prometheus config: %w", err)
	}
	// 0o644: the upstream image runs as nobody. The file holds the LB's
	// status token, readable only inside this run's container.
	files := []testcontainers.ContainerFile{
		{Reader: bytes.NewReader(cfg), ContainerFilePath: promConfigFile, FileMode: 0o644},
		{Reader: bytes.NewReader(rules), ContainerFilePath: promRulesFile, FileMode: 0o644},
	}
	ctr, err := c.runFiles(ctx, "prometheus", c.opts.Images.Prometheus, aliasPrometheus, promPort, 0, files,
		readyProbe{port: promPort, every: c.opts.PollInterval},
		"--config.file="+promConfigFile,
		"--storage.tsdb.path="+promStorage,
		fmt.Sprintf("--web.listen-address=0.0.0.0:%d", promPort),
		"--log.level=warn",
	)
	if err != nil {
		return err
	}
	hp, err := ctr.MappedPort(ctx, fmt.Sprintf("%d/tcp", promPort))
	if err != nil {
		return fmt.Errorf("prometheus: mapped port: %w", err)
	}
	c.promURL = fmt.Sprintf("http://127.0.0.1:%d", hp.Num())
	s.Logf("docker: run %s: prometheus ready at %s (scrape %v)", c.runID, c.promURL, s.ScrapeInterval)
	return nil
}

// PrometheusURL is the run's Prometheus (published on 127.0.0.1), "" when
// the spec did not ask for one.
func (c *cluster) PrometheusURL() string { return c.promURL }

// AlertmanagerURL is the run's Alertmanager (published on 127.0.0.1), ""
// when alerts do not go through one.
func (c *cluster) AlertmanagerURL() string { return c.amURL }

// needImage fails a start that asks for an observer whose image is absent,
// naming the spec field and how to build it.
func (c *cluster) needImage(ctx context.Context, img, field string) error {
	if _, err := c.cli.ImageInspect(ctx, img); err != nil {
		return fmt.Errorf("%s: image %s is missing: run 'make images' (it is built from the host's Debian package) or leave %s off", field, img, field)
	}
	return nil
}
