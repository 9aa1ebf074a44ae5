package local

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/agentops/failover-harness/harness/alertmgr"
	"github.com/agentops/failover-harness/harness/provider/ports"
)

// amReceiverPath is where the run's Alertmanager notifies the alert sink:
// what on-call receives has Source "alertmanager".
const amReceiverPath = "/alertmanager"

// alertManager is the run's Alertmanager (Spec.Alertmanager): one
// unclustered process between the alerts' senders and the alert sink,
// grouping by alertname with the spec's intervals.
type alertManager struct {
	url  string
	proc *proc
}

// startAlertmanager starts the Alertmanager when the spec routes alerts
// through one (Spec.Alertmanager with AlertsEnabled); otherwise it does
// nothing. It needs the alert sink (its receiver). Its config, state and
// log are in RunDir. The process is killed if it does not become ready;
// once started, Close stops it.
func (c *Cluster) startAlertmanager(ctx context.Context) error {
	s := c.spec
	if !s.Alertmanager || !s.AlertsEnabled {
		return nil
	}
	bin, err := alertmgr.Binary()
	if err != nil {
		return fmt.Errorf("spec.alertmanager: %w", err)
	}
	cfg, err := alertmgr.Config(alertmgr.Options{
		Receiver:  c.alerts.URL() + amReceiverPath,
		GroupWait: s.AlertGroupWait, GroupInterval: s.AlertGroupInterval, RepeatInterval: s.AlertRepeatInterval,
	})
	if err != nil {
		return fmt.Errorf("spec.alertmanager: %w", err)
	}
	dir := filepath.Join(s.RunDir, "alertmanager")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	cfgPath := filepath.Join(s.RunDir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	// Alertmanager prints no READY line: its port is chosen first and its
	// readiness endpoint polled; a lost race for the port is a start error.
	port, err := ports.Free()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + addr
	probe := &http.Client{Timeout: time.Second}
	ready := func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/-/ready", nil)
		if err != nil {
			return false
		}
		resp, err := probe.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	// startProcPolled kills the process by its PID when it does not become
	// ready: nothing is left for Close to find.
	p, err := startProcPolled(ctx, "alertmanager", bin, alertmgr.Args(cfgPath, dir, addr),
		filepath.Join(s.RunDir, "alertmanager.log"), ready, c.p.PollInterval, c.p.ReadyTimeout)
	if err != nil {
		return err
	}
	c.am = &alertManager{url: base, proc: p}
	s.Logf("chaos: alertmanager ready pid=%d addr=%s (group_wait %v, group_interval %v, resend %v)", p.pid(), addr, s.AlertGroupWait, s.AlertGroupInterval, s.AlertResend)
	return nil
}

// alertmanagerURL is the Alertmanager's base URL, or "" without one.
func (c *Cluster) alertmanagerURL() string {
	if c.am == nil {
		return ""
	}
	return c.am.url
}

// stopAlertmanager stops it (by its PID: SIGTERM, then SIGKILL after grace).
func (c *Cluster) stopAlertmanager(grace time.Duration) error {
	if c.am == nil {
		return nil
	}
	return c.am.proc.stop(grace)
}
