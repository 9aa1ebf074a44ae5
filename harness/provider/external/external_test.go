package external

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/agentops/failover-harness/harness/journal"
	"github.com/agentops/failover-harness/harness/target"
	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
)

const adminToken = "s3cret-admin"

// fakeTarget is a whole deployment made of httptest servers: an LB, three
// regions and a toxiproxy API. Its knobs make it less than whole.
type fakeTarget struct {
	names []string
	lb    *httptest.Server
	regs  map[string]*httptest.Server
	toxi  *httptest.Server

	mu         sync.Mutex
	outOfRot   map[string]bool   // region -> out of the LB's rotation
	seen       map[string]string // region -> status every router reports for it
	toxiCalls  []string
	toxics     map[string]bool // proxy/toxic present
	enabled    map[string]bool // proxy -> enabled
	badTokens  int
	lbRequests int
}

func newFakeTarget(t *testing.T) *fakeTarget {
	t.Helper()
	ft := &fakeTarget{
		names:    topology.DefaultSpec().RegionNames(),
		regs:     map[string]*httptest.Server{},
		outOfRot: map[string]bool{},
		seen:     map[string]string{},
		toxics:   map[string]bool{},
		enabled:  map[string]bool{"us_dynamo": true, "lb_eu": true},
	}
	ft.lb = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/lb/status" {
			http.NotFound(w, r)
			return
		}
		ft.mu.Lock()
		ft.lbRequests++
		st := topology.LBStatus{Now: time.Now()}
		for _, n := range ft.names {
			st.Regions = append(st.Regions, topology.LBRegion{Name: n, Weight: 10, Status: "healthy", InRotation: !ft.outOfRot[n]})
		}
		ft.mu.Unlock()
		_ = json.NewEncoder(w).Encode(st)
	}))
	t.Cleanup(ft.lb.Close)
	for _, name := range ft.names {
		name := name
		mux := http.NewServeMux()
		mux.HandleFunc("GET /regions", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+adminToken {
				ft.mu.Lock()
				ft.badTokens++
				ft.mu.Unlock()
				http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
				return
			}
			type reg struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			}
			body := struct {
				Self    string    `json:"self"`
				Now     time.Time `json:"now"`
				Regions []reg     `json:"regions"`
			}{Self: name, Now: time.Now()}
			ft.mu.Lock()
			for _, n := range ft.names {
				s := "active"
				if v, ok := ft.seen[n]; ok {
					s = v
				}
				body.Regions = append(body.Regions, reg{n, s})
			}
			ft.mu.Unlock()
			_ = json.NewEncoder(w).Encode(body)
		})
		mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"status":"ok"}`) })
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "# TYPE agent_requests_total counter\nagent_requests_total 7\n# TYPE agent_up gauge\nagent_up{region=%q} 1\n", name)
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		ft.regs[name] = srv
	}
	ft.toxi = httptest.NewServer(http.HandlerFunc(ft.serveToxi))
	t.Cleanup(ft.toxi.Close)
	return ft
}

func (ft *fakeTarget) proxyJSON(name string) map[string]any {
	var toxics []map[string]any
	for k := range ft.toxics {
		if p, tx, _ := strings.Cut(k, "/"); p == name {
			toxics = append(toxics, map[string]any{"name": tx, "type": "latency", "stream": "downstream", "toxicity": 1, "attributes": map[string]any{}})
		}
	}
	if toxics == nil {
		toxics = []map[string]any{}
	}
	return map[string]any{"name": name, "listen": "127.0.0.1:1", "upstream": "127.0.0.1:2", "enabled": ft.enabled[name], "toxics": toxics}
}

func (ft *fakeTarget) serveToxi(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.toxiCalls = append(ft.toxiCalls, r.Method+" "+r.URL.Path)
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	w.Header().Set("Content-Type", "application/json")
	apiErr := func(code int, msg string) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": msg, "status": code})
	}
	if parts[0] != "proxies" {
		apiErr(404, "not found")
		return
	}
	switch {
	case r.Method == http.MethodGet && len(parts) == 1:
		all := map[string]any{}
		for n := range ft.enabled {
			all[n] = ft.proxyJSON(n)
		}
		_ = json.NewEncoder(w).Encode(all)
	case len(parts) >= 2 && func() bool { _, ok := ft.enabled[parts[1]]; return !ok }():
		apiErr(404, "proxy not found")
	case r.Method == http.MethodGet && len(parts) == 2:
		_ = json.NewEncoder(w).Encode(ft.proxyJSON(parts[1]))
	case r.Method == http.MethodPost && len(parts) == 2:
		var px struct {
			Enabled bool `json:"enabled"`
		}
		_ = json.Unmarshal(body, &px)
		ft.enabled[parts[1]] = px.Enabled
		_ = json.NewEncoder(w).Encode(ft.proxyJSON(parts[1]))
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "toxics":
		var tx map[string]any
		_ = json.Unmarshal(body, &tx)
		name, _ := tx["name"].(string)
		if ft.toxics[parts[1]+"/"+name] {
			apiErr(409, "toxic already exists")
			return
		}
		ft.toxics[parts[1]+"/"+name] = true
		_ = json.NewEncoder(w).Encode(tx)
	case r.Method == http.MethodDelete && len(parts) == 4 && parts[2] == "toxics":
		k := parts[1] + "/" + parts[3]
		if !ft.toxics[k] {
			apiErr(404, "toxic not found")
			return
		}
		delete(ft.toxics, k)
		w.WriteHeader(http.StatusNoContent)
	default:
		apiErr(405, "unexpected "+r.Method+" "+r.URL.Path)
	}
}

func (ft *fakeTarget) set(f func()) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	f()
}

func q(s string) string { return "'" + s + "'" }

// file writes a target file for ft; marker is the file the hooks append to.
// us-east-1 has kill/start hooks of its own; the others have none.
func (ft *fakeTarget) file(t *testing.T, marker, ready string) *target.File {
	t.Helper()
	var y strings.Builder
	fmt.Fprintf(&y, "ready_timeout: %s\nlb:\n  url: %s\nadmin_token_env: EXT_TEST_ADMIN_TOKEN\nregions:\n", ready, ft.lb.URL)
	for _, n := range ft.names {
		fmt.Fprintf(&y, "  - name: %s\n    url: %s\n    vars: {Container: c-%s}\n", n, ft.regs[n].URL, n)
		if n == "us-east-1" {
			fmt.Fprintf(&y, "    hooks:\n      kill: {command: %s}\n      start: {command: %s}\n",
				q("echo kill {{.Container}} >> "+marker), q("echo start {{.Container}} >> "+marker))
		}
	}
	fmt.Fprintf(&y, "toxiproxy:\n  url: %s\n  links:\n    us-east-1->dynamodb: us_dynamo\n    lb->eu-west-1: lb_eu\n", ft.toxi.URL)
	fmt.Fprintf(&y, "hooks:\n")
	for _, h := range []string{"pause", "resume", "http503_off", "failure_rate_off"} {
		fmt.Fprintf(&y, "  %s: {command: %s}\n", h, q("echo "+h+" {{.Region}} >> "+marker))
	}
	fmt.Fprintf(&y, "  http503_on: {command: %s}\n", q("echo http503_on {{.Region}} {{.Status}} >> "+marker))
	fmt.Fprintf(&y, "  failure_rate: {command: %s}\n", q("echo failure_rate {{.Region}} {{.Rate}} >> "+marker))
	f, err := target.Parse([]byte(y.String()))
	if err != nil {
		t.Fatalf("target file: %v\n%s", err, y.String())
	}
	return f
}

type rig struct {
	ft      *fakeTarget
	p       *Provider
	j       *journal.Journal
	jpath   string
	marker  string
	spec    topology.Spec
	cluster topology.Cluster
}

func newRig(t *testing.T, ready string) *rig {
	t.Helper()
	t.Setenv("EXT_TEST_ADMIN_TOKEN", adminToken)
	dir := t.TempDir()
	ft := newFakeTarget(t)
	r := &rig{ft: ft, marker: filepath.Join(dir, "hooks.log"), jpath: filepath.Join(dir, "heal-journal.jsonl")}
	j, err := journal.Open(r.jpath)
	if err != nil {
		t.Fatal(err)
	}
	r.j = j
	r.spec = topology.DefaultSpec()
	r.spec.Seed = 42
	r.p = &Provider{File: ft.file(t, r.marker, ready), Base: r.spec, Journal: j, PollInterval: 10 * time.Millisecond}
	return r
}

func (r *rig) start(t *testing.T) topology.Cluster {
	t.Helper()
	c, err := r.p.Start(context.Background(), r.spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	r.cluster = c
	return c
}

func (r *rig) hookLog(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(r.marker)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (r *rig) pendingKeys(t *testing.T) []string {
	t.Helper()
	as, err := journal.Pending(r.jpath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		out = append(out, a.Key)
	}
	return out
}

func eq(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

func TestStartAgainstAWholeTarget(t *testing.T) {
	r := newRig(t, "10s")
	c := r.start(t)
	if got := c.Spec().Seed; got == 42 || got <= 0 || got >= 1<<31 {
		t.Errorf("Spec().Seed = %d: want a fresh positive seed below 2^31, not the given 42", got)
	}
	if c.LBURL() != r.ft.lb.URL || c.AdminToken() != adminToken {
		t.Errorf("LBURL %q AdminToken %q", c.LBURL(), c.AdminToken())
	}
	regs := c.Regions()
	if len(regs) != 3 || regs[0].Name != "us-east-1" || regs[0].Weight != 50 || regs[1].URL != r.ft.regs["eu-west-1"].URL || regs[1].Direct != regs[1].URL {
		t.Errorf("Regions %+v", regs)
	}
	if !eq(c.Links(), []string{"lb->eu-west-1", "us-east-1->dynamodb"}) {
		t.Errorf("Links %v", c.Links())
	}
	if _, err := c.Link("us-east-1->redis"); !errors.Is(err, topology.ErrUnsupported) {
		t.Errorf("unproxied link: %v, want ErrUnsupported", err)
	}
	st, err := c.LBStatus(context.Background())
	if err != nil || !st.AllInRotation(r.spec.RegionNames()...) || !st.ClockAligned {
		t.Errorf("LBStatus %+v %v", st, err)
	}
	m, err := c.Metrics(context.Background(), "eu-west-1")
	if err != nil || m["agent_requests_total"] != 7 {
		t.Errorf("Metrics %v %v", m, err)
	}
	if _, err := c.Metrics(context.Background(), "mars-1"); err == nil {
		t.Error("Metrics of an unknown region: no error")
	}
	if sh, ok := c.(topology.Shared); !ok || !sh.Shared() {
		t.Error("an external cluster is shared")
	}
}

func TestStartFailsWhenNotWhole(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(ft *fakeTarget)
		want string
	}{
		{"region out of rotation", func(ft *fakeTarget) { ft.outOfRot["eu-west-1"] = true }, "eu-west-1 out of rotation"},
		{"router sees a peer down", func(ft *fakeTarget) { ft.seen["ap-southeast-1"] = "unhealthy" }, `ap-southeast-1 "unhealthy"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, "200ms")
			r.ft.set(func() { c.edit(r.ft) })
			cl, err := r.p.Start(context.Background(), r.spec)
			if !errors.Is(err, ErrNotWhole) {
				if cl != nil {
					_ = cl.Close(context.Background())
				}
				t.Fatalf("Start: %v, want ErrNotWhole", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestStartSendsTheAdminToken(t *testing.T) {
	r := newRig(t, "200ms")
	t.Setenv("EXT_TEST_ADMIN_TOKEN", "wrong")
	_, err := r.p.Start(context.Background(), r.spec)
	if !errors.Is(err, ErrNotWhole) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Start with a wrong token: %v", err)
	}
	r.ft.set(func() {
		if r.ft.badTokens == 0 {
			t.Error("the regions never saw the wrong token")
		}
	})
	r.ft.set(func() { r.ft.badTokens = 0 })
	t.Setenv("EXT_TEST_ADMIN_TOKEN", adminToken)
	r.start(t)
	r.ft.set(func() {
		if r.ft.badTokens != 0 {
			t.Errorf("%d requests without the right bearer token", r.ft.badTokens)
		}
	})
}

func TestStartRefusesWhatTheTargetDoesNotRun(t *testing.T) {
	r := newRig(t, "10s")
	spec := r.spec
	spec.SessionTTL = r.spec.SessionTTL + time.Hour
	_, err := r.p.Start(context.Background(), spec)
	if !errors.Is(err, topology.ErrUnsupported) || !strings.Contains(err.Error(), "SessionTTL") {
		t.Errorf("Start with another SessionTTL: %v, want ErrUnsupported naming SessionTTL", err)
	}
	if strings.Contains(fmt.Sprint(err), "CacheTTL") {
		t.Errorf("error %q names a setting that is equal", err)
	}
	// A seed, a run dir or a log is not a setting of the deployment.
	spec = r.spec
	spec.Seed, spec.RunDir, spec.Log = 7, t.TempDir(), io.Discard
	if err := Compatible(r.spec, spec); err != nil {
		t.Errorf("Compatible with only seed/run dir/log changed: %v", err)
	}
	spec = r.spec
	spec.RegionDrift = func(string, *rtconfig.Config) {}
	if err := Compatible(r.spec, spec); !errors.Is(err, topology.ErrUnsupported) {
		t.Errorf("a drift row: %v, want ErrUnsupported", err)
	}
	r.ft.set(func() {
		if r.ft.lbRequests != 0 {
			t.Errorf("the LB was asked %d times for a row that cannot run", r.ft.lbRequests)
		}
	})

	spec = r.spec
	spec.Regions = spec.Regions[:2]
	r.p.Base = spec
	if _, err := r.p.Start(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("Start with two of three regions: %v", err)
	}
	r.p.Base = r.spec
	t.Setenv("EXT_TEST_ADMIN_TOKEN", "")
	if _, err := r.p.Start(context.Background(), r.spec); err == nil || !strings.Contains(err.Error(), "EXT_TEST_ADMIN_TOKEN") {
		t.Errorf("Start without the admin token: %v", err)
	}
}

func TestCanReportsMissingHooks(t *testing.T) {
	r := newRig(t, "10s")
	c := r.start(t)
	for _, x := range []struct {
		op     topology.Op
		region string
		miss   string // "" = possible
	}{
		{topology.OpPause, "eu-west-1", ""},
		{topology.OpKill, "us-east-1", ""},
		{topology.OpStart, "us-east-1", ""},
		{topology.OpKill, "eu-west-1", "hooks.kill"},
		{topology.OpStart, "ap-southeast-1", "hooks.start"},
		{topology.OpStartCold, "us-east-1", "hooks.start_cold"},
		{topology.OpHTTPStatus, "eu-west-1", ""},
		{topology.OpFailureRate, "eu-west-1", ""},
		{topology.Op("teleport"), "eu-west-1", "teleport"},
	} {
		err := topology.Can(c, x.op, x.region)
		switch {
		case x.miss == "" && err != nil:
			t.Errorf("Can(%s, %s): %v", x.op, x.region, err)
		case x.miss != "" && (!errors.Is(err, topology.ErrUnsupported) || !strings.Contains(err.Error(), x.miss)):
			t.Errorf("Can(%s, %s): %v, want ErrUnsupported naming %s", x.op, x.region, err, x.miss)
		}
	}
	if err := c.Kill(context.Background(), "eu-west-1"); !errors.Is(err, topology.ErrUnsupported) {
		t.Errorf("Kill without a hook: %v, want ErrUnsupported", err)
	}
	if got := r.pendingKeys(t); len(got) != 0 {
		t.Errorf("an unsupported kill left %v in the journal", got)
	}
}

func TestPauseJournalsTheResumeUntilResume(t *testing.T) {
	r := newRig(t, "10s")
	c := r.start(t)
	ctx := context.Background()
	if err := c.Pause(ctx, "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	if !eq(r.hookLog(t), []string{"pause eu-west-1"}) {
		t.Errorf("hooks run: %q", r.hookLog(t))
	}
	as, err := journal.Pending(r.jpath)
	if err != nil || len(as) != 1 {
		t.Fatalf("journal after Pause: %+v %v", as, err)
	}
	if a := as[0]; a.Key != "paused:eu-west-1" || a.Kind != journal.KindCommand || a.Command != "echo resume eu-west-1 >> "+r.marker || a.Timeout != target.DefaultHookTimeout.Seconds() {
		t.Errorf("journaled undo %+v, want the rendered resume hook", a)
	}
	if err := c.Resume(ctx, "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	if !eq(r.hookLog(t), []string{"pause eu-west-1", "resume eu-west-1"}) {
		t.Errorf("hooks run: %q", r.hookLog(t))
	}
	if got := r.pendingKeys(t); len(got) != 0 {
		t.Errorf("journal after Resume: %v", got)
	}
}

func TestKillWhilePausedResumesFirstAndStartHeals(t *testing.T) {
	r := newRig(t, "10s")
	c := r.start(t)
	ctx := context.Background()
	if err := c.Pause(ctx, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"pause us-east-1", "resume us-east-1", "kill c-us-east-1"}; !eq(r.hookLog(t), want) {
		t.Errorf("hooks run %q, want %q", r.hookLog(t), want)
	}
	if got := r.pendingKeys(t); !eq(got, []string{"down:us-east-1"}) {
		t.Errorf("journal after Kill: %v, want [down:us-east-1]", got)
	}
	if err := c.Start(ctx, "us-east-1", false); err != nil {
		t.Fatal(err)
	}
	if got := r.pendingKeys(t); len(got) != 0 {
		t.Errorf("journal after Start: %v", got)
	}
	if err := c.Start(ctx, "us-east-1", true); !errors.Is(err, topology.ErrUnsupported) {
		t.Errorf("cold start without a hook: %v", err)
	}
}

func TestGateRunsItsHooksJournaled(t *testing.T) {
	r := newRig(t, "10s")
	c := r.start(t)
	g := c.Gate("ap-southeast-1")
	if g == nil {
		t.Fatal("no gate although the target has the hooks")
	}
	if err := g.SetStatus(503); err != nil {
		t.Fatal(err)
	}
	if err := g.SetFailureRate(0.25); err != nil {
		t.Fatal(err)
	}
	if got := r.pendingKeys(t); !eq(got, []string{"http503:ap-southeast-1", "failure_rate:ap-southeast-1"}) {
		t.Errorf("journal: %v", got)
	}
	if err := g.Reset(); err != nil {
		t.Fatal(err)
	}
	want := []string{"http503_on ap-southeast-1 503", "failure_rate ap-southeast-1 0.25", "http503_off ap-southeast-1", "failure_rate_off ap-southeast-1"}
	if !eq(r.hookLog(t), want) {
		t.Errorf("hooks run %q, want %q", r.hookLog(t), want)
	}
	if got := r.pendingKeys(t); len(got) != 0 {
		t.Errorf("journal after Reset: %v", got)
	}
	if err := g.SetDelay(time.Second); !errors.Is(err, topology.ErrUnsupported) {
		t.Errorf("SetDelay: %v", err)
	}
}

func TestToxicsAreJournaledBeforeTheyReachToxiproxy(t *testing.T) {
	r := newRig(t, "10s")
	c := r.start(t)
	px, err := c.Link("us-east-1->dynamodb")
	if err != nil {
		t.Fatal(err)
	}
	if px.Name != "us_dynamo" {
		t.Fatalf("proxy %q", px.Name)
	}
	if _, err := px.AddToxic("lat", "latency", "downstream", 1, toxiproxy.Attributes{"latency": 100}); err != nil {
		t.Fatal(err)
	}
	as, err := journal.Pending(r.jpath)
	if err != nil || len(as) != 1 {
		t.Fatalf("journal after AddToxic: %+v %v", as, err)
	}
	// The undo names the operator's API, not the in-process front: `chaos
	// heal` runs after this process is gone.
	if a := as[0]; a.Kind != journal.KindToxic || a.API != r.ft.toxi.URL || a.Proxy != "us_dynamo" || a.Toxic != "lat" {
		t.Errorf("journaled undo %+v", a)
	}
	r.ft.set(func() {
		if !r.ft.toxics["us_dynamo/lat"] {
			t.Error("the toxic did not reach toxiproxy")
		}
	})
	// A toxic toxiproxy refuses was never injected: nothing is left pending.
	if _, err := px.AddToxic("lat", "latency", "downstream", 1, toxiproxy.Attributes{"latency": 100}); err == nil {
		t.Error("a duplicate toxic: no error from the fake")
	}
	// ... and refusing a second add of a toxic still in place must not mark
	// the first one healed.
	if got := r.pendingKeys(t); !eq(got, []string{"toxic:us_dynamo/lat"}) {
		t.Errorf("journal after a refused duplicate add: %v, want the first toxic still pending", got)
	}
	if _, err := px.AddToxic("other", "latency", "upstream", 1, toxiproxy.Attributes{"latency": 1}); err != nil {
		t.Fatal(err)
	}
	if err := px.RemoveToxic("other"); err != nil {
		t.Fatal(err)
	}
	if err := px.RemoveToxic("lat"); err != nil {
		t.Fatal(err)
	}
	if got := r.pendingKeys(t); len(got) != 0 {
		t.Errorf("journal after RemoveToxic: %v", got)
	}
	if _, err := px.AddToxic("", "latency", "downstream", 1, nil); err == nil {
		t.Error("a toxic without a name reached toxiproxy: its undo could not be journaled")
	}

	lb, err := c.Link("lb->eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Disable(); err != nil {
		t.Fatal(err)
	}
	if got := r.pendingKeys(t); !eq(got, []string{"disabled:lb_eu"}) {
		t.Errorf("journal after Disable: %v", got)
	}
	if err := lb.Enable(); err != nil {
		t.Fatal(err)
	}
	if got := r.pendingKeys(t); len(got) != 0 {
		t.Errorf("journal after Enable: %v", got)
	}
}

// A crashed run's toxic is removed by Heal through the journal alone.
func TestJournaledToxicIsHealedAfterTheRun(t *testing.T) {
	r := newRig(t, "10s")
	c := r.start(t)
	px, err := c.Link("us-east-1->dynamodb")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := px.AddToxic("cut", "timeout", "downstream", 1, toxiproxy.Attributes{"timeout": 0}); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(context.Background(), "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if failed, err := journal.Heal(context.Background(), r.jpath, io.Discard); err != nil || len(failed) != 0 {
		t.Fatalf("Heal: %v %v", failed, err)
	}
	r.ft.set(func() {
		if r.ft.toxics["us_dynamo/cut"] {
			t.Error("Heal left the toxic in toxiproxy")
		}
	})
	if want := []string{"pause eu-west-1", "resume eu-west-1"}; !eq(r.hookLog(t), want) {
		t.Errorf("hooks run %q, want %q", r.hookLog(t), want)
	}
}

func TestCloseLeavesTheJournalAndTheDeployment(t *testing.T) {
	r := newRig(t, "10s")
	c := r.start(t)
	if err := c.Pause(context.Background(), "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(r.jpath)
	if err != nil {
		t.Fatal(err)
	}
	r.ft.set(func() { r.ft.toxiCalls = nil })
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	after, err := os.ReadFile(r.jpath)
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("Close changed the journal: %v\n%s\n---\n%s", err, before, after)
	}
	if r.j.Open() != 1 {
		t.Errorf("journal open changes %d, want 1", r.j.Open())
	}
	if !eq(r.hookLog(t), []string{"pause eu-west-1"}) {
		t.Errorf("Close ran hooks: %q", r.hookLog(t))
	}
	r.ft.set(func() {
		if len(r.ft.toxiCalls) != 0 {
			t.Errorf("Close called toxiproxy: %v", r.ft.toxiCalls)
		}
	})
}
