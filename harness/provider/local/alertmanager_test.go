package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/alertmgr"
	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/lb"
	"github.com/agentops/failover-harness/runtime/needtool"
)

// needAlertmanager skips without the Alertmanager binary, unless CI is set,
// where a missing one is a setup error.
func needAlertmanager(t *testing.T) {
	t.Helper()
	needtool.Path(t, "Debian: apt-get install prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
}

func alertmanagerSpec() topology.Spec {
	spec := topology.DefaultSpec()
	spec.Regions = topology.DefaultRegions()
	spec.AlertsEnabled, spec.Alertmanager, spec.RegionAlerts = true, true, true
	spec.AlertResend = 700 * time.Millisecond
	return spec
}

// With an Alertmanager the LB and the regions post to its API, re-sending
// as the spec says, and none of them notifies on-call itself; the configs
// are still what the binaries load.
func TestAlertmanagerWiresSendersToIt(t *testing.T) {
	c, listen, du := configCluster(t, alertmanagerSpec())
	c.am = &alertManager{url: "http://127.0.0.1:19093"}
	lc := c.lbConfig(listen)
	if lc.Alert.Alertmanager != c.am.url || lc.Alert.Resend != 700*time.Millisecond || lc.Alert.Webhook != "" {
		t.Fatalf("LB alert config %+v: want the Alertmanager, resend 700ms, no webhook", lc.Alert)
	}
	path, err := c.writeLBConfig(listen)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lb.LoadConfig(path); err != nil {
		t.Fatalf("global-lb would reject %s: %v", path, err)
	}
	for _, r := range c.regions {
		if err := c.writeRuntimeConfig(r, listen, du); err != nil {
			t.Fatal(err)
		}
		got, err := rtconfig.Load(r.configPath, nil)
		if err != nil {
			t.Fatalf("agent-runtime would reject %s: %v", r.configPath, err)
		}
		if got.Alert.Alertmanager != c.am.url || got.Alert.Resend != 700*time.Millisecond || got.Alert.Webhook != "" {
			t.Fatalf("%s alert config %+v: want the Alertmanager, resend 700ms, no webhook", r.spec.Name, got.Alert)
		}
	}
}

// Without the binary the start fails, naming the spec field and how to
// install it.
func TestAlertmanagerMissingBinary(t *testing.T) {
	c, _, _ := configCluster(t, alertmanagerSpec())
	c.p = (&Provider{}).defaults()
	t.Setenv("PATH", t.TempDir())
	err := c.startAlertmanager(context.Background())
	if !errors.Is(err, alertmgr.ErrNotInstalled) || !strings.Contains(err.Error(), "spec.alertmanager") {
		t.Fatalf("start without the binary: %v; want alertmgr.ErrNotInstalled naming spec.alertmanager", err)
	}
	if c.am != nil {
		t.Fatal("an Alertmanager is recorded although none started")
	}
}

// The real Alertmanager: ready, notifies the sink at /alertmanager (Source
// "alertmanager") after group_wait with every alert of the group, sends
// the resolution, and is gone (by its PID) once stopped.
func TestAlertmanagerNotifiesOnCall(t *testing.T) {
	needAlertmanager(t)
	spec := alertmanagerSpec()
	spec.AlertGroupWait, spec.AlertGroupInterval = 300*time.Millisecond, 500*time.Millisecond
	c, _, _ := configCluster(t, spec)
	c.p = (&Provider{}).defaults()
	ctx := context.Background()
	if err := c.startAlertmanager(ctx); err != nil {
		t.Fatal(err)
	}
	pid := c.am.proc.pid()
	t.Cleanup(func() { _ = c.stopAlertmanager(time.Second) })
	// startsAt is now, as a sender that just saw the condition sets it (an
	// alert that began over group_wait ago is notified at once).
	startsAt := time.Now().UTC().Format(time.RFC3339Nano)
	post := func(endsAt time.Time, sources ...string) {
		var b bytes.Buffer
		b.WriteString("[")
		for i, s := range sources {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"labels":{"alertname":"NoHealthyRegion","source":%q},"startsAt":%q,"endsAt":%q}`, s,
				startsAt, endsAt.UTC().Format(time.RFC3339Nano))
		}
		b.WriteString("]")
		resp, err := http.Post(c.am.url+"/api/v2/alerts", "application/json", &b)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/v2/alerts: HTTP %d", resp.StatusCode)
		}
	}
	waitFor := func(n int, within time.Duration) []topology.Alert {
		t.Helper()
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			if got := c.alerts.Alerts(); len(got) >= n {
				return got
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("after %v on-call has %+v, want %d notifications", within, c.alerts.Alerts(), n)
		return nil
	}
	sent := time.Now()
	post(time.Now().Add(time.Minute), "global-lb", "agent-runtime/us-east-1")
	got := waitFor(1, 5*time.Second)
	took := got[0].At.Sub(sent)
	if got[0].Source != "alertmanager" || got[0].Status != "firing" || got[0].Name != "NoHealthyRegion" {
		t.Fatalf("notification %+v", got[0])
	}
	if !bytes.Contains(got[0].Raw, []byte("agent-runtime/us-east-1")) || !bytes.Contains(got[0].Raw, []byte(`"global-lb"`)) {
		t.Fatalf("one notification carries both alerts of the group: %s", got[0].Raw)
	}
	if took < spec.AlertGroupWait {
		t.Fatalf("notified %v after the alert, before group_wait %v", took, spec.AlertGroupWait)
	}
	t.Logf("firing notification %v after the alert (group_wait %v)", took, spec.AlertGroupWait)
	resolvedAt := time.Now()
	post(time.Now(), "global-lb", "agent-runtime/us-east-1")
	got = waitFor(2, 5*time.Second)
	if got[1].Status != "resolved" {
		t.Fatalf("second notification %+v, want resolved", got[1])
	}
	t.Logf("resolved notification %v after the resolution (group_interval %v)", got[1].At.Sub(resolvedAt), spec.AlertGroupInterval)
	if err := c.stopAlertmanager(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("alertmanager pid %d still there after stop: %v", pid, err)
	}
}
