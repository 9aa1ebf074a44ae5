package engine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/topology"
)

// fakeProm answers /api/v1/query: the expression "bad" returns an empty
// vector while bad is set (the condition does not hold), anything else a
// one-sample vector with value 1.
type fakeProm struct {
	bad     atomic.Bool
	queries atomic.Int64
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.queries.Add(1)
	result := `[{"metric":{"job":"lb"},"value":[1700000000,"1"]}]`
	if r.Form.Get("query") == "ratio < 0.01" && f.bad.Load() {
		result = `[]`
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":` + result + `}}`))
}

// promCluster is a topology with a Prometheus and nothing else.
type promCluster struct {
	topology.Cluster
	url string
}

func (c promCluster) PrometheusURL() string { return c.url }
func (c promCluster) Spec() topology.Spec   { return topology.DefaultSpec() }
func (c promCluster) Close(context.Context) error {
	return nil
}
func (c promCluster) Regions() []topology.Region { return nil }
func (c promCluster) AdminToken() string         { return "" }
func (c promCluster) Alerts() []topology.Alert   { return nil }
func (c promCluster) LBStatus(context.Context) (topology.LBStatus, error) {
	return topology.LBStatus{}, errors.New("no LB")
}

type promProvider struct{ url string }

func (p promProvider) Name() string { return "fake" }
func (p promProvider) Start(context.Context, topology.Spec) (topology.Cluster, error) {
	return promCluster{url: p.url}, nil
}

// flag is a fault that sets the fake Prometheus's answer while injected.
type flag struct{ p *fakeProm }

func (f flag) Name() string                     { return "flag" }
func (f flag) Available(topology.Cluster) error { return nil }
func (f flag) Inject(context.Context, topology.Cluster) (func(context.Context) error, error) {
	f.p.bad.Store(true)
	return func(context.Context) error { f.p.bad.Store(false); return nil }, nil
}

func probeRow(p *fakeProm, hold bool) Row {
	return Row{N: 3, Label: "plan-3", Spec: "probed", Body: func(ctx context.Context, r *Run) error {
		if err := r.Up(ctx, r.Env.Spec); err != nil {
			return err
		}
		heal, _, err := r.Inject(ctx, flag{p})
		if err != nil {
			return err
		}
		if !hold {
			p.bad.Store(false) // the condition holds again before any evaluation of it
		}
		// the fault lasts until the probe was evaluated during it
		_ = r.Wait(ctx, 5*ProbeEvery, "a probe evaluation", func() bool { return p.queries.Load() >= 4 })
		return heal(ctx)
	}}
}

// A probe that does not hold during the fault fails the row; one that holds
// passes; before and after are evaluated once each.
func TestProbesJudgeTheRow(t *testing.T) {
	p := &fakeProm{}
	srv := httptest.NewServer(p)
	defer srv.Close()
	probes := []Probe{
		{Name: "up-before", Expr: "up", Phase: PhaseBefore},
		{Name: "low-errors", Expr: "ratio < 0.01", Phase: PhaseDuring},
		{Name: "up-after", Expr: "up", Phase: PhaseAfter},
	}
	env := func() *Env {
		return &Env{Provider: promProvider{srv.URL}, Spec: topology.DefaultSpec(), Defer: cleanupsOf(t), Probes: probes}
	}
	o, _ := probeRow(p, true).Run(context.Background(), env())
	if o.Verdict != check.Failed || !strings.Contains(o.Why, `probe(low-errors)`) || !strings.Contains(o.Why, `"ratio < 0.01" did not hold`) {
		t.Fatalf("%s %q, want FAILED by probe(low-errors)", o.Verdict, o.Why)
	}
	for _, c := range o.Checks {
		if strings.HasPrefix(c.Name, "probe(up-") && c.Verdict != check.Passed {
			t.Errorf("%s: %s %s", c.Name, c.Verdict, c.Reason)
		}
	}
	p.queries.Store(0)
	o, _ = probeRow(p, false).Run(context.Background(), env())
	if o.Verdict != check.Passed {
		t.Fatalf("the probe held: %s %q, want PASSED", o.Verdict, o.Why)
	}
}

// Probes on a topology without a Prometheus leave the row INCONCLUSIVE.
func TestProbesWithoutPrometheusAreNotJudged(t *testing.T) {
	env := &Env{Provider: promProvider{""}, Spec: topology.DefaultSpec(), Defer: cleanupsOf(t),
		Probes: []Probe{{Name: "x", Expr: "up", Phase: PhaseAfter}}}
	o, _ := Row{N: 1, Label: "plan-1", Spec: "unprobed", Body: func(ctx context.Context, r *Run) error {
		return r.Up(ctx, r.Env.Spec)
	}}.Run(context.Background(), env)
	if o.Verdict != check.Inconclusive || !strings.Contains(o.Why, "no Prometheus") {
		t.Fatalf("%s %q, want INCONCLUSIVE for the missing Prometheus", o.Verdict, o.Why)
	}
}

// stop_when aborts the row the first time its expression holds.
func TestStopWhenAbortsTheRow(t *testing.T) {
	p := &fakeProm{}
	srv := httptest.NewServer(p)
	defer srv.Close()
	env := &Env{Provider: promProvider{srv.URL}, Spec: topology.DefaultSpec(), Defer: cleanupsOf(t),
		StopWhen: []Probe{{Name: "any-up", Expr: "up"}}, Stop: StopConditions{Every: 10 * 1e6}}
	o, _ := Row{N: 1, Label: "plan-1", Spec: "stopped", Body: func(ctx context.Context, r *Run) error {
		if err := r.Up(ctx, r.Env.Spec); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	}}.Run(context.Background(), env)
	if o.Verdict != check.Failed || !strings.Contains(o.Why, `stop_when any-up: "up" held`) {
		t.Fatalf("%s %q, want FAILED by stop_when", o.Verdict, o.Why)
	}
}

// cleanupsOf runs a row's registered heals (its topology's teardown, its
// temporary folder's removal) when the test ends, as the suite does.
func cleanupsOf(t *testing.T) func(string, HealFunc) {
	return func(name string, h HealFunc) {
		t.Cleanup(func() {
			if err := h(context.Background()); err != nil {
				t.Errorf("cleanup %s: %v", name, err)
			}
		})
	}
}
