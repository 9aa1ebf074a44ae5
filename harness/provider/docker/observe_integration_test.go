package docker

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/prom"
	"github.com/agentops/failover-harness/harness/topology"
)

// alertsFrom lists the notifications of source with status.
func alertsFrom(cl topology.Cluster, source, status string) []topology.Alert {
	var out []topology.Alert
	for _, a := range cl.Alerts() {
		if a.Source == source && a.Status == status {
			out = append(out, a)
		}
	}
	return out
}

// The observers as containers: Prometheus scrapes the three runtimes and
// the LB (up == 1 for each job); with every gate answering 503 the LB has no
// region in rotation, posts NoHealthyRegion to the Alertmanager, which
// notifies the sink (Source "alertmanager") firing, then resolved once the
// gates heal; nothing notifies the sink directly; Close leaves nothing.
func TestDockerObservers(t *testing.T) {
	p := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), itTestTimeout)
	defer cancel()

	log := &logSink{t: t}
	spec := topology.DefaultSpec()
	spec.Prometheus, spec.Alertmanager, spec.AlertsEnabled = true, true, true
	spec.Log = log
	spec.RunDir = t.TempDir()
	cl, err := p.Start(ctx, spec)
	if err != nil {
		requireNoLeftovers(t, log.runID())
		t.Fatalf("start: %v", err)
	}
	runID := RunID(cl)
	closed := false
	defer func() {
		if !closed {
			_ = cl.Close(context.Background())
		}
	}()

	ps, ok := cl.(prom.Server)
	if !ok || ps.PrometheusURL() == "" {
		t.Fatalf("cluster with Spec.Prometheus: prom.Server %v, URL %q", ok, ps.PrometheusURL())
	}
	base := ps.PrometheusURL()
	jobs := []string{prom.LBJob}
	for _, r := range spec.RegionNames() {
		jobs = append(jobs, prom.RegionJob(r))
	}
	for _, j := range jobs {
		expr := fmt.Sprintf(`up{job=%q} == 1`, j)
		eventually(t, 30*time.Second, expr, func() (bool, string) {
			ok, seen, err := prom.Holds(ctx, base, expr)
			if err != nil {
				return false, err.Error()
			}
			return ok, seen
		})
	}
	// The runtimes' own series arrive with their region label.
	eventually(t, 30*time.Second, "agent runtimes' series", func() (bool, string) {
		ok, seen, err := prom.Holds(ctx, base, `count(count by (region) (up{job=~"region-.*"})) == 3`)
		if err != nil {
			return false, err.Error()
		}
		return ok, seen
	})

	regions := spec.RegionNames()
	eventually(t, 30*time.Second, "every region in LB rotation", func() (bool, string) {
		st, err := cl.LBStatus(ctx)
		if err != nil {
			return false, err.Error()
		}
		return st.AllInRotation(regions...), fmt.Sprintf("%+v", st.Regions)
	})
	if n := len(cl.Alerts()); n != 0 {
		t.Fatalf("alerts before any fault: %+v", cl.Alerts())
	}

	for _, r := range regions {
		if err := cl.Gate(r).SetStatus(http.StatusServiceUnavailable); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "a firing notification from the Alertmanager", func() (bool, string) {
		got := alertsFrom(cl, "alertmanager", "firing")
		return len(got) > 0, fmt.Sprintf("%+v", cl.Alerts())
	})
	if a := alertsFrom(cl, "alertmanager", "firing")[0]; a.Name != "NoHealthyRegion" {
		t.Errorf("firing notification %q, want NoHealthyRegion: %s", a.Name, a.Raw)
	}
	for _, r := range regions {
		if err := cl.Gate(r).Reset(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "a resolved notification from the Alertmanager", func() (bool, string) {
		got := alertsFrom(cl, "alertmanager", "resolved")
		return len(got) > 0, fmt.Sprintf("%+v", cl.Alerts())
	})
	for _, a := range cl.Alerts() {
		t.Logf("on-call got %s %s from %s at %s", a.Status, a.Name, a.Source, a.At.Format("15:04:05.000"))
		if a.Source != "alertmanager" {
			t.Errorf("a sender notified on-call itself, bypassing the Alertmanager: %+v", a)
		}
	}

	closed = true
	if err := cl.Close(context.Background()); err != nil {
		t.Errorf("close: %v", err)
	}
	requireNoLeftovers(t, runID)
	for _, n := range []string{"alertmanager", "prometheus"} {
		if _, err := os.Stat(filepath.Join(spec.RunDir, "docker-"+n+".log")); err != nil {
			t.Errorf("%s's log not saved: %v", n, err)
		}
	}
}

// An observer that cannot start fails Start at once (its exit seen, not
// waited out), naming it, and the run leaves nothing behind: the
// Alertmanager and every other container are removed with it.
func TestDockerObserverFailedStartLeavesNothing(t *testing.T) {
	p := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), itTestTimeout)
	defer cancel()
	// Alertmanager's binary refuses Prometheus's flags and exits.
	p.opts.Images.Prometheus = p.opts.Images.Alertmanager
	log := &logSink{t: t}
	spec := topology.DefaultSpec()
	spec.Prometheus, spec.Alertmanager, spec.AlertsEnabled = true, true, true
	spec.Log = log
	start := time.Now()
	cl, err := p.Start(ctx, spec)
	if err == nil {
		_ = cl.Close(context.Background())
		t.Fatal("start succeeded with a Prometheus that cannot start")
	}
	if took := time.Since(start); !strings.Contains(err.Error(), "container prometheus") || !strings.Contains(err.Error(), "exited") || took > itStartupTimeout/2 {
		t.Errorf("start failed after %v with %v; want the prometheus container's exit, at once", took, err)
	}
	requireNoLeftovers(t, log.runID())
}
