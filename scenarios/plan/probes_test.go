package plan

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/provider/local"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/runtime/needtool"
)

// The error ratio clients see, from the LB's answers (an injected failure
// in front of a region never reaches the region's own counters).
const clientErrorRatio = `sum(rate(lb_responses_total{class="5xx"}[3s])) / sum(rate(lb_responses_total[3s]))`

// A PromQL probe judges a row against the topology's real Prometheus: "the
// client error ratio stays under 1 %" fails row 3 (half of A's requests
// fail) once retries and ejection are off; and a stop condition on any 5xx
// aborts the row (healed on the way out) with its reason.
func TestPromQLProbeAndStopCondition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a topology with Prometheus")
	}
	needtool.Path(t, "Debian: apt-get install prometheus", "prometheus")
	row, _ := RowByLabel("plan-3")
	spec := engine.SuiteDefaults()
	spec.Seed, spec.Prometheus = 11, true
	spec.Outlier.Enabled, spec.Retry.Enabled = false, false

	probe := engine.Probe{Name: "client-errors-under-1pct", Expr: clientErrorRatio + " < 0.01", Phase: engine.PhaseDuring}
	out := runProbed(t, row, spec, func(e *engine.Env) { e.Probes = []engine.Probe{probe} })
	c, ok := out.Check("probe(client-errors-under-1pct)")
	if !ok || c.OK || out.Verdict == check.Passed {
		t.Fatalf("with retries off, the probe %q must fail the row: check %+v, verdict %s %q", probe.Expr, c, out.Verdict, out.Why)
	}
	t.Logf("probe: %s", c.Reason)

	stop := engine.Probe{Name: "any-5xx", Expr: `sum(increase(lb_responses_total{class="5xx"}[10s])) > 0`}
	out = runProbed(t, row, spec, func(e *engine.Env) { e.StopWhen = []engine.Probe{stop} })
	if out.Verdict != check.Failed || !strings.Contains(out.Why, `stop_when any-5xx`) {
		t.Fatalf("the stop condition must abort the row: %s %q", out.Verdict, out.Why)
	}
	if got := out.Injected(); len(got) != 1 || !strings.HasPrefix(got[0], "failure-rate(") {
		t.Errorf("injected %v before the stop, want the failure rate", got)
	}
	t.Logf("stopped: %s", out.Why)
}

// runProbed runs row once on the local provider with edit applied to its
// environment; heals run before it returns (the test then checks them).
func runProbed(t *testing.T, row engine.Row, spec topology.Spec, edit func(*engine.Env)) *engine.Outcome {
	t.Helper()
	spec.RunDir = t.TempDir()
	var heals []engine.HealFunc
	env := &engine.Env{Provider: &local.Provider{BinDir: binDir}, Spec: spec, Log: testWriter{t}, TimeScale: 1, MaxMessages: 50,
		Defer: func(_ string, h engine.HealFunc) { heals = append(heals, h) }}
	edit(env)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, _ := row.Run(ctx, env)
	for i := len(heals) - 1; i >= 0; i-- {
		hctx, hcancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := heals[i](hctx); err != nil {
			t.Errorf("heal: %v", err)
		}
		hcancel()
	}
	return out
}
