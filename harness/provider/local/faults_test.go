package local

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/topology"
)

const (
	east = "us-east-1"
	eu   = "eu-west-1"
	ap   = "ap-southeast-1"
)

func waitRotation(t *testing.T, c *Cluster, region string, want bool) {
	t.Helper()
	err := c.WaitLB(context.Background(), 10*time.Second, func(s topology.LBStatus) bool {
		r, ok := s.Region(region)
		return ok && r.InRotation == want
	})
	if err != nil {
		t.Fatalf("%s in_rotation=%v: %v", region, want, err)
	}
}

func httpGet(t *testing.T, url string) (int, string, string) {
	t.Helper()
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return 0, "", err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Served-By"), string(b)
}

func regionURL(c *Cluster, name string, direct bool) string {
	for _, r := range c.Regions() {
		if r.Name == name {
			if direct {
				return r.Direct
			}
			return r.URL
		}
	}
	return ""
}

// inject applies f through a tracker and returns its recover.
func inject(t *testing.T, tr *fault.Tracker, f fault.Fault) func(context.Context) error {
	t.Helper()
	rec, _, err := tr.Inject(context.Background(), f)
	if err != nil {
		t.Fatalf("inject %s: %v", f.Name(), err)
	}
	return rec
}

func heal(t *testing.T, rec func(context.Context) error) {
	t.Helper()
	if err := rec(context.Background()); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if err := rec(context.Background()); err != nil {
		t.Fatalf("second recover must be a no-op: %v", err)
	}
}

// Every fault type, one after the other on one topology: effect seen through
// the LB (or the region's own health), then recovery after healing.
func TestFaultsInjectAndHeal(t *testing.T) {
	c := startCluster(t)
	tr := fault.NewTracker(c)
	t.Cleanup(func() { _ = tr.HealAll(context.Background()) })

	// the agent API answers through the LB
	resp, err := http.Post(c.LBURL()+"/v1/sessions", "application/json", strings.NewReader(`{"user_id":"u1"}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create session through LB: %v %v", resp, err)
	}
	resp.Body.Close()

	t.Run("http-status", func(t *testing.T) {
		rec := inject(t, tr, fault.HTTPStatus{Region: east, Code: 503})
		if code, _, _ := httpGet(t, regionURL(c, east, false)+"/health"); code != 503 {
			t.Fatalf("gate /health: %d", code)
		}
		waitRotation(t, c, east, false)
		heal(t, rec)
		waitRotation(t, c, east, true)
	})
	t.Run("failure-rate", func(t *testing.T) {
		rec := inject(t, tr, fault.FailureRate{Region: eu, Rate: 0.5})
		fails := 0
		for i := 0; i < 60; i++ {
			if code, _, _ := httpGet(t, regionURL(c, eu, false)+"/health"); code == 503 {
				fails++
			}
		}
		if fails < 15 || fails > 45 {
			t.Fatalf("rate 0.5: %d/60 failed", fails)
		}
		heal(t, rec)
		for i := 0; i < 10; i++ {
			if code, _, _ := httpGet(t, regionURL(c, eu, false)+"/health"); code != 200 {
				t.Fatalf("after heal: %d", code)
			}
		}
		waitRotation(t, c, eu, true)
	})
	t.Run("pause", func(t *testing.T) {
		rec := inject(t, tr, fault.Pause{Region: east})
		waitRotation(t, c, east, false)
		heal(t, rec)
		waitRotation(t, c, east, true)
	})
	for _, mode := range []string{"down", "timeout", "reset_peer"} {
		t.Run("partition-lb-"+mode, func(t *testing.T) {
			rec := inject(t, tr, fault.Partition{Link: topology.LBLink(ap), Mode: mode})
			waitRotation(t, c, ap, false)
			heal(t, rec)
			waitRotation(t, c, ap, true)
		})
	}
	t.Run("partition-dynamodb", func(t *testing.T) {
		rec := inject(t, tr, fault.Partition{Link: topology.DynamoLink(eu), Mode: "down"})
		waitRotation(t, c, eu, false)
		if code, _, body := httpGet(t, regionURL(c, eu, true)+"/health"); code != 503 {
			t.Fatalf("runtime /health without store: %d %s", code, body)
		}
		heal(t, rec)
		waitRotation(t, c, eu, true)
	})
	t.Run("latency", func(t *testing.T) {
		rec := inject(t, tr, fault.Latency{Link: topology.LBLink(east), Latency: 400 * time.Millisecond})
		waitRotation(t, c, east, false)
		heal(t, rec)
		waitRotation(t, c, east, true)
	})
	t.Run("isolate", func(t *testing.T) {
		rec := inject(t, tr, fault.IsolateRegion{Region: eu})
		waitRotation(t, c, eu, false)
		heal(t, rec)
		waitRotation(t, c, eu, true)
	})
	t.Run("kill-restart", func(t *testing.T) {
		before := time.Now()
		rec := inject(t, tr, fault.KillRestart{Region: ap, ColdCache: true, Downtime: 600 * time.Millisecond})
		waitRotation(t, c, ap, true)
		st, err := c.LBStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		sawDown := false
		for _, tr := range st.Transitions {
			if tr.Region == ap && tr.To != "active" && tr.At.After(before) {
				sawDown = true
			}
		}
		if !sawDown {
			t.Fatalf("LB never saw %s leave rotation during a 600ms kill: %+v", ap, st.Transitions)
		}
		heal(t, rec)
	})
	t.Run("long-outage", func(t *testing.T) {
		rec := inject(t, tr, fault.LongOutage{Region: ap})
		waitRotation(t, c, ap, false)
		if code, _, _ := httpGet(t, regionURL(c, ap, true)+"/health"); code != 0 {
			t.Fatalf("killed runtime answered %d", code)
		}
		heal(t, rec)
		waitRotation(t, c, ap, true)
	})
	t.Run("regions-down", func(t *testing.T) {
		rec := inject(t, tr, fault.RegionsDown{Regions: []string{east, eu}})
		waitRotation(t, c, east, false)
		waitRotation(t, c, eu, false)
		if code, by, body := httpGet(t, c.LBURL()+"/v1/sessions/none"); by != ap {
			st, _ := c.LBStatus(context.Background())
			t.Fatalf("with A and B down, served by %q (%d %s), want %s; lb: %+v", by, code, body, ap, st.Regions)
		}
		all := inject(t, tr, fault.HTTPStatus{Region: ap})
		waitRotation(t, c, ap, false)
		if code, _, body := httpGet(t, c.LBURL()+"/v1/sessions/none"); code != 503 || !strings.Contains(body, "NO_HEALTHY_REGION") {
			t.Fatalf("all down: %d %s", code, body)
		}
		if err := tr.HealAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		_ = all
		heal(t, rec)
		for _, r := range []string{east, eu, ap} {
			waitRotation(t, c, r, true)
		}
		fired := 0
		for _, a := range c.Alerts() {
			if a.Source == "lb" && a.Status == "firing" {
				fired++
			}
		}
		if fired != 1 {
			t.Fatalf("want one firing LB alert, got %d: %+v", fired, c.Alerts())
		}
	})
	for _, w := range tr.Windows() {
		if w.End.IsZero() || w.End.Before(w.Start) {
			t.Fatalf("fault window not closed: %+v", w)
		}
	}
}
