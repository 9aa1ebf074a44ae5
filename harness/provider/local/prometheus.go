package local

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/agentops/failover-harness/harness/prom"
	"github.com/agentops/failover-harness/harness/provider/ports"
)

// The topology's Prometheus (Spec.Prometheus): the installed binary
// scraping every region's runtime directly and the LB's /lb/metrics (with
// its status token) every Spec.ScrapeInterval, with the failover rules
// (harness/prom) scaled to that interval. Its config, rules, TSDB and log
// stay under RunDir/prometheus.

var _ prom.Server = (*Cluster)(nil)

type promServer struct {
	proc *proc
	url  string
}

// PrometheusURL is the topology's Prometheus base URL, "" when the spec did
// not ask for one.
func (c *Cluster) PrometheusURL() string {
	if c.prom == nil {
		return ""
	}
	return c.prom.url
}

// prometheusProc is the Prometheus child, nil when none was started.
func (c *Cluster) prometheusProc() *proc {
	if c.prom == nil {
		return nil
	}
	return c.prom.proc
}

// stopPrometheus stops the Prometheus child (SIGTERM, SIGKILL after grace).
func (c *Cluster) stopPrometheus(grace time.Duration) error {
	if c.prom == nil {
		return nil
	}
	return c.prom.proc.stop(grace)
}

// startPrometheus starts Prometheus when the spec asks for it and waits
// until it answers GET /-/ready. It runs after the LB has started (it
// scrapes the LB's address). A Prometheus that does not become ready is
// killed here by its PID.
func (c *Cluster) startPrometheus(ctx context.Context) error {
	s := c.spec
	if !s.Prometheus {
		return nil
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		return fmt.Errorf("spec.prometheus: %w (Debian: apt-get install prometheus, or scripts/ci-setup.sh)", err)
	}
	dir := filepath.Join(s.RunDir, "prometheus")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	rules, err := prom.Rules(prom.RuleOptionsFor(s.ScrapeInterval))
	if err != nil {
		return fmt.Errorf("prometheus rules: %w", err)
	}
	rulesPath := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rulesPath, rules, 0o600); err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	o := prom.Options{Interval: s.ScrapeInterval, Regions: map[string]string{}, LB: strings.TrimPrefix(c.lbURL, "http://"),
		LBToken: c.statusToken, RulesFile: rulesPath}
	for _, r := range c.regions {
		o.Regions[r.spec.Name] = fmt.Sprintf("127.0.0.1:%d", r.port)
	}
	cfg, err := prom.Config(o)
	if err != nil {
		return fmt.Errorf("prometheus config: %w", err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil { // it holds the LB's status token
		return fmt.Errorf("prometheus: %w", err)
	}
	port, err := ports.Free()
	if err != nil {
		return fmt.Errorf("prometheus port: %w", err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	logPath := filepath.Join(dir, "prometheus.log")
	p, err := spawnPrometheus(bin, []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + listen,
		"--log.level=warn",
	}, logPath)
	if err != nil {
		return err
	}
	url := "http://" + listen
	if err := c.waitPrometheusReady(ctx, p, url, logPath); err != nil {
		_ = p.kill(c.p.StopGrace) // by its PID: nothing is left for Close to find
		return err
	}
	c.prom = &promServer{proc: p, url: url}
	s.Logf("chaos: prometheus ready pid=%d url=%s scrape=%v", p.pid(), url, s.ScrapeInterval)
	return nil
}

// spawnPrometheus starts bin in its own process group, dying with the
// harness (Pdeathsig), stdout and stderr appended to logPath. Prometheus
// announces nothing on stdout: readiness is its /-/ready endpoint.
func spawnPrometheus(bin string, args []string, logPath string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("prometheus: log file: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("prometheus: start %s: %w", bin, err)
	}
	p := &proc{name: "prometheus", cmd: cmd, log: logf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// waitPrometheusReady polls GET /-/ready every PollInterval until 200,
// the process exits, ReadyTimeout passes or ctx ends.
func (c *Cluster) waitPrometheusReady(ctx context.Context, p *proc, url, logPath string) error {
	ctx, cancel := context.WithTimeout(ctx, c.p.ReadyTimeout)
	defer cancel()
	cl := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(c.p.PollInterval)
	defer tick.Stop()
	last := "no answer yet"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/-/ready", nil)
		if err != nil {
			return err
		}
		if resp, err := cl.Do(req); err != nil {
			last = err.Error()
		} else {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		}
		select {
		case <-p.done:
			return fmt.Errorf("prometheus: exited before ready (%v); see %s", p.err, logPath)
		case <-ctx.Done():
			return fmt.Errorf("prometheus: not ready within %v (last: %s); see %s", c.p.ReadyTimeout, last, logPath)
		case <-tick.C:
		}
	}
}
