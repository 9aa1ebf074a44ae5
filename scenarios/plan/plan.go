// Package plan holds the failover test plan (SPEC §4) as plain Go: each row
// starts a topology, drives traffic, injects its fault, and returns the
// checks it made with the numbers it measured. The Ginkgo suite in
// scenarios/ and the `chaos run` CLI both run these rows; the package never
// imports Ginkgo, so plain tests can run a row against a bad configuration
// and watch it fail.
package plan

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/harness/traffic"
	"github.com/agentops/failover-harness/reports"
)

// HealFunc undoes one injected fault (or stops a cluster).
type HealFunc func(context.Context) error

// Env is what a row needs from whoever runs it.
type Env struct {
	Provider topology.Provider
	// Spec is the configuration under test; rows copy it and change only
	// what their scenario needs (a row never weakens the configuration).
	Spec topology.Spec
	// Defer registers a heal to run when the row ends, pass or fail: Ginkgo's
	// DeferCleanup in the suite, t.Cleanup in plain tests.
	Defer func(name string, heal HealFunc)
	Log   io.Writer
	// TimeScale is how much faster than real time the Spec runs (1 = real);
	// measured figures are projected back with it.
	TimeScale float64
	// MaxMessages is the conversation bound of the runtime (SPEC: 50 entries,
	// user and assistant messages alike).
	MaxMessages int
}

func (e *Env) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format+"\n", args...)
	}
}

// Row is one spec of the plan.
type Row struct {
	N        int    // plan row 1..7; 0 for checklist specs
	Label    string // plan-N or checklist
	Spec     string // spec text, read as a requirement
	Expected string
	Run      func(ctx context.Context, env *Env) (*Outcome, error)

	body func(ctx context.Context, r *run) error
}

// Outcome is what a row measured and concluded.
type Outcome struct {
	Row      int
	Label    string
	Name     string
	Expected string
	Checks   []check.Result

	Observed  reports.Observed
	Bounds    reports.Bounds
	Projected *reports.Projected

	start    time.Time
	inherent time.Duration // time spent in waits the scenario needs
	faults   []reports.Fault
	events   []reports.Event
	timeline []reports.Point
	excerpt  []string
	hist     *history.History
}

// Passed reports whether every check passed.
func (o *Outcome) Passed() bool {
	for _, c := range o.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Failures lists the reasons of the failed checks.
func (o *Outcome) Failures() []string {
	var out []string
	for _, c := range o.Checks {
		if !c.OK {
			out = append(out, c.Name+": "+c.Reason)
		}
	}
	return out
}

// Failed reports whether the named check ran and failed.
func (o *Outcome) Failed(name string) bool {
	for _, c := range o.Checks {
		if c.Name == name && !c.OK {
			return true
		}
	}
	return false
}

// History is the operations the row recorded.
func (o *Outcome) History() *history.History { return o.hist }

// Spec renders the outcome as a run-record spec (verdict left to the caller).
func (o *Outcome) Spec() reports.Spec {
	labels := []string{o.Label}
	s := reports.Spec{
		Name: o.Name, Labels: labels, Row: o.Row, Expected: o.Expected,
		Observed: o.Observed, Bounds: o.Bounds, Projected: o.Projected,
		Faults: o.faults, Events: o.events, Timeline: o.timeline,
		InherentWaitSeconds: o.inherent.Seconds(),
	}
	if !o.Passed() {
		s.Failure = strings.Join(o.Failures(), "\n")
		s.HistoryExcerpt = o.excerpt
	}
	return s
}

func (o *Outcome) add(r check.Result) check.Result {
	o.Checks = append(o.Checks, r)
	return r
}

func (o *Outcome) event(name string) {
	o.events = append(o.events, reports.Event{Name: name, At: time.Since(o.start).Seconds()})
}

func (o *Outcome) eventAt(name string, at time.Time) {
	o.events = append(o.events, reports.Event{Name: name, At: at.Sub(o.start).Seconds()})
}

// run is the state of one row while it runs.
type run struct {
	env  *Env
	out  *Outcome
	c    topology.Cluster
	h    *history.History
	spec topology.Spec

	mu     sync.Mutex
	faults map[string]int // fault name -> index in out.faults
}

func newRun(env *Env, row Row) *run {
	o := &Outcome{Row: row.N, Label: row.Label, Name: row.Spec, Expected: row.Expected, start: time.Now()}
	o.hist = history.New()
	return &run{env: env, out: o, h: o.hist, faults: map[string]int{}}
}

// up starts the topology for this row and registers its teardown.
func (r *run) up(ctx context.Context, spec topology.Spec) error {
	if spec.RunDir == "" {
		dir, err := os.MkdirTemp("", "chaos-"+r.out.Label+"-")
		if err != nil {
			return err
		}
		spec.RunDir = dir
	}
	spec.Log = r.env.Log
	r.spec = spec.WithDefaults()
	c, err := r.env.Provider.Start(ctx, r.spec)
	if err != nil {
		return fmt.Errorf("start %s topology: %w", r.env.Provider.Name(), err)
	}
	r.env.Defer("cluster", func(ctx context.Context) error { return c.Close(ctx) })
	r.c = c
	r.out.event("topology ready")
	return nil
}

// inject injects f, records its window, and registers its heal on the next line.
func (r *run) inject(ctx context.Context, f fault.Fault) (HealFunc, error) {
	if err := f.Available(r.c); err != nil {
		return nil, fmt.Errorf("fault %s not available: %w", f.Name(), err)
	}
	start := time.Now()
	heal, err := f.Inject(ctx, r.c)
	if err != nil {
		return nil, fmt.Errorf("inject %s: %w", f.Name(), err)
	}
	healed := r.healer(f.Name(), start, heal)
	r.env.Defer(f.Name(), healed)
	return healed, nil
}

// healer wraps heal so the fault window closes the first time it runs.
func (r *run) healer(name string, start time.Time, heal func(context.Context) error) HealFunc {
	r.mu.Lock()
	r.out.faults = append(r.out.faults, reports.Fault{Name: name, Start: start.Sub(r.out.start).Seconds(), End: -1})
	idx := len(r.out.faults) - 1
	r.mu.Unlock()
	var once sync.Once
	var err error
	return func(ctx context.Context) error {
		once.Do(func() {
			err = heal(ctx)
			r.mu.Lock()
			r.out.faults[idx].End = time.Since(r.out.start).Seconds()
			r.mu.Unlock()
		})
		return err
	}
}

// load is traffic running in the background.
type load struct {
	cancel context.CancelFunc
	done   chan struct{}
	res    traffic.Result
	err    error
}

// startLoad drives cfg through the LB until stop (or cfg.Duration).
func (r *run) startLoad(ctx context.Context, cfg traffic.Config) *load {
	if cfg.LBURL == "" {
		cfg.LBURL = r.c.LBURL()
	}
	if cfg.Seed == 0 {
		cfg.Seed = r.spec.Seed
	}
	if cfg.Duration == 0 {
		cfg.Duration = time.Minute // bounded; rows stop it much earlier
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &load{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.res, l.err = traffic.Run(ctx, cfg, r.h)
	}()
	return l
}

func (l *load) stop() (traffic.Result, error) {
	l.cancel()
	<-l.done
	return l.res, l.err
}

// wait is waitFor for the waits a scenario inherently needs (detection,
// observation, TTL): their time is recorded, so the run record can tell the
// harness's own overhead apart.
func (r *run) wait(ctx context.Context, deadline time.Duration, what string, cond func() bool) error {
	t0 := time.Now()
	err := waitFor(ctx, deadline, what, cond)
	r.out.inherent += time.Since(t0)
	return err
}

// waitFor polls cond every tick until it holds or the deadline passes.
func waitFor(ctx context.Context, deadline time.Duration, what string, cond func() bool) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			if err := context.Cause(parent); err != nil {
				return fmt.Errorf("stopped waiting for %s: %w", what, err)
			}
			return fmt.Errorf("timed out after %v waiting for %s", deadline, what)
		case <-tick.C:
		}
	}
}

// acked counts successful message operations so far.
func (r *run) acked() int {
	n := 0
	for _, op := range r.h.Ops() {
		if op.Kind == history.KindMessage && op.OK() {
			n++
		}
	}
	return n
}

// ackedBy counts successful message operations served by region.
func (r *run) ackedBy(region string, since time.Time) int {
	n := 0
	for _, op := range r.h.Ops() {
		if op.Kind == history.KindMessage && op.OK() && op.ServedBy == region && op.Start.After(since) {
			n++
		}
	}
	return n
}

// warm waits until traffic has some acknowledged messages on every region
// named, so the fault has something to lose.
func (r *run) warm(ctx context.Context, regions ...string) error {
	since := r.out.start
	return r.wait(ctx, 20*time.Second, "warm traffic on "+strings.Join(regions, ","), func() bool {
		for _, reg := range regions {
			if r.ackedBy(reg, since) < 5 {
				return false
			}
		}
		return true
	})
}

// lbStatus reads the LB status, retrying briefly.
func (r *run) lbStatus(ctx context.Context) (topology.LBStatus, error) {
	var st topology.LBStatus
	var err error
	for i := 0; i < 5; i++ {
		st, err = r.c.LBStatus(ctx)
		if err == nil {
			return st, nil
		}
	}
	return st, err
}

// waitOut waits until the LB takes region out of rotation and returns when it did.
func (r *run) waitOut(ctx context.Context, region string, since time.Time, deadline time.Duration) (time.Time, error) {
	return r.waitMarked(ctx, region, since, deadline, false)
}

// waitMarked is waitOut; with healthOnly, only a health-check verdict
// (degraded or down) counts, not a passive ejection.
func (r *run) waitMarked(ctx context.Context, region string, since time.Time, deadline time.Duration, healthOnly bool) (time.Time, error) {
	var at time.Time
	err := r.wait(ctx, deadline, region+" out of rotation", func() bool {
		st, err := r.c.LBStatus(ctx)
		if err != nil {
			return false
		}
		for _, t := range st.Transitions {
			if healthOnly && t.To == "ejected" {
				continue
			}
			if t.Region == region && t.To != "active" && !t.At.Before(since) {
				at = t.At
				return true
			}
		}
		return false
	})
	return at, err
}

// waitIn waits until every region named is back in rotation.
func (r *run) waitIn(ctx context.Context, deadline time.Duration, regions ...string) error {
	return r.wait(ctx, deadline, strings.Join(regions, ",")+" back in rotation", func() bool {
		st, err := r.c.LBStatus(ctx)
		return err == nil && st.AllInRotation(regions...)
	})
}

// detectionBound is the worst case the LB's health-check settings allow:
// threshold probes, one interval apart, the last one timing out.
func (r *run) detectionBound() time.Duration {
	h := r.spec.LBHealth
	return time.Duration(h.FailureThreshold)*h.Interval + h.Timeout
}

// readFinal reads every session back through the LB. A session the system no
// longer knows (404) or that expired mid-row (410) has lost everything it
// acknowledged: both count as empty conversations, never as "not read back".
func (r *run) readFinal(ctx context.Context, sessions []string) (map[string]check.Conversation, error) {
	cl := traffic.NewClient(traffic.Config{LBURL: r.c.LBURL(), RequestTimeout: 2 * time.Second}, history.New())
	convs, err := cl.ReadAll(ctx, sessions, 30*time.Second)
	out := make(map[string]check.Conversation, len(convs))
	for s, c := range convs {
		out[s] = check.Conversation{IDs: c.MessageIDs, Times: c.Times}
	}
	return out, err
}

// window is how many user messages a bounded conversation keeps.
func (r *run) window() int {
	if r.env.MaxMessages > 0 {
		return r.env.MaxMessages / 2
	}
	return 25
}

// finish computes the figures every row reports and the timeline.
func (r *run) finish(faultStart time.Time) {
	ops := r.h.Ops()
	o := r.out
	o.Observed.Requests = len(ops)
	for _, op := range ops {
		if !op.OK() && op.Kind != history.KindRead {
			o.Observed.ClientErrors++
		}
	}
	if r.c != nil {
		for _, a := range r.c.Alerts() {
			if a.Status == "firing" {
				o.Observed.Alerts++
			}
		}
	}
	o.timeline = timeline(ops, o.start, 250*time.Millisecond)
	if !o.Passed() {
		at := faultStart
		if at.IsZero() {
			at = o.start
		}
		o.excerpt = history.Excerpt(ops, at, 12)
	}
	if k := r.env.TimeScale; k > 1 {
		o.Projected = &reports.Projected{
			DetectionSeconds: o.Observed.DetectionSeconds * k,
			RTOSeconds:       o.Observed.RTOSeconds * k,
			RPOSeconds:       o.Observed.RPOSeconds * k,
		}
	}
	if r.spec.RunDir != "" {
		if f, err := os.Create(filepath.Join(r.spec.RunDir, "history.jsonl")); err == nil {
			_ = r.h.WriteJSONL(f)
			f.Close()
		}
	}
}

// timeline buckets operations by end time and serving region.
func timeline(ops []history.Op, start time.Time, bucket time.Duration) []reports.Point {
	type key struct {
		b      int
		region string
	}
	agg := map[key]*reports.Point{}
	for _, op := range ops {
		if op.Kind == history.KindRead {
			continue
		}
		b := int(op.End.Sub(start) / bucket)
		if b < 0 {
			b = 0
		}
		region := op.ServedBy
		if !op.OK() && op.Status >= 500 {
			region = "" // the client saw an error; whoever answered, nobody served it
		}
		k := key{b, region}
		p := agg[k]
		if p == nil {
			p = &reports.Point{T: (time.Duration(b) * bucket).Seconds(), Region: region}
			agg[k] = p
		}
		if op.OK() {
			p.OK++
		} else {
			p.Errors++
		}
	}
	out := make([]reports.Point, 0, len(agg))
	for _, p := range agg {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].T != out[j].T {
			return out[i].T < out[j].T
		}
		return out[i].Region < out[j].Region
	})
	return out
}

// everyUserRecovered fails when a user that was active before the fault has
// no successful message after since.
func everyUserRecovered(ops []history.Op, since time.Time) check.Result {
	const name = "every-session-continues"
	active := map[string]bool{}
	ok := map[string]bool{}
	for _, op := range ops {
		if op.Kind == history.KindRead {
			continue
		}
		active[op.User] = true
		if op.Kind == history.KindMessage && op.OK() && op.Start.After(since) {
			ok[op.User] = true
		}
	}
	var stuck []string
	for u := range active {
		if !ok[u] {
			stuck = append(stuck, u)
		}
	}
	sort.Strings(stuck)
	if len(stuck) > 0 {
		return check.Result{Name: name, OK: false, Value: float64(len(stuck)),
			Reason: fmt.Sprintf("%d of %d users got no acknowledged message after the fault: %s", len(stuck), len(active), strings.Join(stuck, ","))}
	}
	return check.Result{Name: name, OK: true, Reason: fmt.Sprintf("all %d users continued", len(active))}
}

// bound checks a measured value against a limit.
func bound(name string, v, limit float64, unit string) check.Result {
	if v > limit {
		return check.Result{Name: name, OK: false, Value: v, Reason: fmt.Sprintf("%.3f%s > bound %.3f%s", v, unit, limit, unit)}
	}
	return check.Result{Name: name, OK: true, Value: v, Reason: fmt.Sprintf("%.3f%s <= bound %.3f%s", v, unit, limit, unit)}
}

func passIf(name string, ok bool, v float64, format string, args ...any) check.Result {
	return check.Result{Name: name, OK: ok, Value: v, Reason: fmt.Sprintf(format, args...)}
}

// healthTransitions drops passive ejections, keeping health-check verdicts.
func healthTransitions(ts []topology.Transition) []topology.Transition {
	var out []topology.Transition
	for _, t := range ts {
		if t.To != "ejected" && t.From != "ejected" {
			out = append(out, t)
		}
	}
	return out
}
