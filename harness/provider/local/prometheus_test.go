package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/prom"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/runtime/needtool"
)

// needPrometheus skips without the prometheus binary, unless CI is set.
func needPrometheus(t *testing.T) {
	t.Helper()
	needtool.Path(t, "Debian: apt-get install prometheus", "prometheus")
}

// With Spec.Prometheus the topology's Prometheus scrapes every region and
// the LB (through its status token): up is 1 for all four jobs and the LB's
// rotation gauge reads every region. Close leaves no prometheus process.
func TestPrometheusScrapesTopology(t *testing.T) {
	needPrometheus(t)
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spec := testSpec(t)
	spec.Prometheus = true
	var p Provider
	c, err := p.StartCluster(ctx, spec)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	base := c.PrometheusURL()
	pp := c.prometheusProc()
	if base == "" || pp == nil {
		t.Fatal("no Prometheus with Spec.Prometheus set")
	}
	pid := pp.pid()
	if !containsPID(c.PIDs(), pid) {
		t.Errorf("PIDs() %v lacks prometheus pid %d", c.PIDs(), pid)
	}

	exprs := []string{fmt.Sprintf(`up{job=%q} == 1`, prom.LBJob),
		fmt.Sprintf(`max(lb_regions_in_rotation{job=%q}) == %d`, prom.LBJob, len(spec.Regions))}
	for _, r := range spec.RegionNames() {
		exprs = append(exprs, fmt.Sprintf(`up{job=%q,region=%q} == 1`, prom.RegionJob(r), r))
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, e := range exprs {
		for {
			ok, seen, err := prom.Holds(ctx, base, e)
			if ok {
				t.Logf("%s: %s", e, seen)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never held within 20s: %s %v; see %s", e, seen, err, filepath.Join(c.Spec().RunDir, "prometheus"))
			}
			select { // poll at the scrape interval
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			case <-time.After(c.Spec().ScrapeInterval):
			}
		}
	}
	// Nothing pages on a healthy topology.
	if ok, seen, err := prom.Holds(ctx, base, `ALERTS{alertstate="firing"}`); ok || err != nil {
		t.Errorf("alerts firing on a healthy topology: %s %v", seen, err)
	}

	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if alive(pid) {
		t.Fatalf("prometheus pid %d still alive after Close", pid)
	}
	if containsPID(c.PIDs(), pid) {
		t.Fatalf("PIDs() after Close still lists prometheus %d", pid)
	}
}

func containsPID(pids []int, pid int) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

// A Prometheus that never becomes ready, or exits at once, fails the start
// and is not left running: its PID is gone when startPrometheus returns.
func TestPrometheusFailedStartLeavesNoProcess(t *testing.T) {
	for name, script := range map[string]string{
		"never-ready": "#!/bin/sh\necho $$ > \"$PIDFILE\"\nexec sleep 60\n",
		"exits":       "#!/bin/sh\necho $$ > \"$PIDFILE\"\nexit 3\n",
	} {
		t.Run(name, func(t *testing.T) {
			bin := t.TempDir()
			if err := os.WriteFile(filepath.Join(bin, "prometheus"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			pidFile := filepath.Join(t.TempDir(), "pid")
			t.Setenv("PIDFILE", pidFile)
			t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			spec := topology.DefaultSpec()
			spec.Prometheus = true
			c, _, _ := configCluster(t, spec)
			c.lbURL, c.statusToken = "http://127.0.0.1:9", "tok"
			pv := Provider{ReadyTimeout: 500 * time.Millisecond}
			c.p = pv.defaults()
			err := c.startPrometheus(context.Background())
			if err == nil {
				t.Fatal("start succeeded with a prometheus that never answers /-/ready")
			}
			t.Logf("start: %v", err)
			if c.PrometheusURL() != "" || c.prometheusProc() != nil {
				t.Error("a failed start left a Prometheus on the cluster")
			}
			b, rerr := os.ReadFile(pidFile)
			if rerr != nil {
				t.Fatalf("the fake prometheus did not run: %v", rerr)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if pid <= 0 || alive(pid) {
				t.Fatalf("fake prometheus pid %d still alive after the failed start", pid)
			}
		})
	}
}
