package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/config"
	"github.com/agentops/failover-harness/harness/prom"
)

// Probe phases: when a PromQL probe must hold.
const (
	PhaseBefore = "before" // once, just before the row's first fault
	PhaseDuring = "during" // at every evaluation while a fault is injected
	PhaseAfter  = "after"  // once, when the row's body is done (faults healed)
)

// Probe is a PromQL expression that must hold in a phase of a row (as
// Litmus' Prometheus probes do), evaluated against the topology's
// Prometheus (or, for an external target, the operator's): it holds when
// the query returns any series, as an alerting rule fires, so a comparison
// (`x < 0.01`) reads naturally.
type Probe struct {
	Name  string `yaml:"name"`
	Expr  string `yaml:"expr"`
	Phase string `yaml:"phase"` // before | during | after; stop conditions ignore it
}

// ProbeEvery paces the evaluations of "during" probes and stop_when
// expressions (at least the topology's scrape interval is sensible).
const ProbeEvery = 250 * time.Millisecond

// probeRun is the row's probes: what each saw, and the first time each failed.
type probeRun struct {
	mu     sync.Mutex
	url    string
	probes []Probe
	evals  map[string]int
	failed map[string]string // name -> what the failing evaluation saw
	errs   map[string]error
	stop   chan struct{}
	done   sync.WaitGroup
	once   sync.Once
}

func newProbeRun(url string, probes []Probe) *probeRun {
	return &probeRun{url: url, probes: probes, evals: map[string]int{}, failed: map[string]string{}, errs: map[string]error{}, stop: make(chan struct{})}
}

func (p *probeRun) eval(ctx context.Context, phase string) {
	for _, pr := range p.probes {
		if pr.Phase != phase {
			continue
		}
		ok, saw, err := prom.Holds(ctx, p.url, pr.Expr)
		p.mu.Lock()
		p.evals[pr.Name]++
		switch {
		case err != nil:
			if p.errs[pr.Name] == nil {
				p.errs[pr.Name] = err
			}
		case !ok && p.failed[pr.Name] == "":
			p.failed[pr.Name] = saw
		}
		p.mu.Unlock()
	}
}

// during evaluates the "during" probes every ProbeEvery while active says
// a fault is injected, until the row ends.
func (p *probeRun) during(ctx context.Context, active func() bool) {
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(ProbeEvery)
		defer t.Stop()
		for {
			if active() {
				p.eval(ctx, PhaseDuring)
			}
			select {
			case <-p.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (p *probeRun) end() {
	p.once.Do(func() { close(p.stop) })
	p.done.Wait()
}

// results: one liveness result per probe (a probe judges a figure that
// depends on the machine keeping time: a starved machine makes a breach
// INCONCLUSIVE); a probe never evaluated, or whose query failed, is
// missing evidence.
func (p *probeRun) results() []check.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []check.Result
	for _, pr := range p.probes {
		name := "probe(" + pr.Name + ")"
		switch {
		case p.errs[pr.Name] != nil:
			out = append(out, check.Seen(name, false, 0, "%s probe %q could not be evaluated: %v", pr.Phase, pr.Expr, p.errs[pr.Name]))
		case p.evals[pr.Name] == 0:
			out = append(out, check.Seen(name, false, 0, "%s probe %q was never evaluated (the row injected no fault, or ended first)", pr.Phase, pr.Expr))
		case p.failed[pr.Name] != "":
			out = append(out, check.Live(name, false, float64(p.evals[pr.Name]), "%s the fault, %q did not hold (%s)", phaseWord(pr.Phase), pr.Expr, p.failed[pr.Name]))
		default:
			out = append(out, check.Live(name, true, float64(p.evals[pr.Name]), "%s the fault, %q held at each of %d evaluations", phaseWord(pr.Phase), pr.Expr, p.evals[pr.Name]))
		}
	}
	return out
}

func phaseWord(phase string) string {
	switch phase {
	case PhaseBefore:
		return "before"
	case PhaseDuring:
		return "during"
	}
	return "after"
}

// stopWhen returns a stop condition: the row is cancelled the first time
// one of exprs holds.
func stopWhen(url string, exprs []Probe) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for _, e := range exprs {
			ok, saw, err := prom.Holds(ctx, url, e.Expr)
			if err == nil && ok {
				return fmt.Errorf("%w: stop_when %s: %q held (%s); aborted and healed", ErrStopped, e.Name, e.Expr, saw)
			}
		}
		return nil
	}
}

// rowProbes are the config's probes that apply to the row labelled label.
func rowProbes(ps []config.Probe, label string) []Probe {
	var out []Probe
	for _, p := range ps {
		if p.ForRow(label) {
			out = append(out, Probe{Name: p.Name, Expr: p.Expr, Phase: p.Phase})
		}
	}
	return out
}
