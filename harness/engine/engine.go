// Package engine runs rows: it starts a row's topology, records every fault
// it injects (window and heal, healed newest first), drives traffic, measures
// the harness's own timing, and turns the row's checks into a verdict and a
// run record. The rows themselves (scenarios/plan) are bodies over *Run; the
// engine never imports Ginkgo or scenarios.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/config"
	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/prom"
	"github.com/agentops/failover-harness/harness/timing"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/harness/traffic"
	"github.com/agentops/failover-harness/reports"
)

// HealFunc undoes one injected fault (or stops a cluster).
type HealFunc func(context.Context) error

// Defaults of the measurement, stated in every bound and reason that uses them.
var (
	// DefaultSlack absorbs scheduling and round trips on the machine running
	// the topology; the harness measures its lag against it.
	DefaultSlack = bounds.DefaultHarness.Slack
	// DefaultErrorObjective is the per-request availability error rate a
	// row tolerates where the plan expects clients barely to notice.
	DefaultErrorObjective = 0.02
	// UserPause is how long a simulated user waits between requests and
	// before resending a failed one.
	UserPause = bounds.DefaultHarness.ClientPause
)

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
	// bounds are projected back with it.
	TimeScale float64
	// MaxMessages is the conversation bound of the runtime (SPEC: 50 entries,
	// user and assistant messages alike).
	MaxMessages int
	// Timing is the harness's own lag monitor; nil: the row runs its own.
	Timing *timing.Monitor
	// Slack is the scheduling allowance in every liveness bound (0: DefaultSlack).
	Slack time.Duration
	// ErrorObjective is the tolerated availability error rate (0: DefaultErrorObjective).
	ErrorObjective float64
	// FalseAlarm is the false-alarm probability of statistical checks (0: check.DefaultFalseAlarm).
	FalseAlarm float64
	// RunDir is where the row keeps its topology's files and its history;
	// empty: a temporary folder removed when the row ends.
	RunDir string
	// Stop aborts and heals a row whose harm passes the SRE's limits (stop.go).
	Stop StopConditions
	// Probes are PromQL expressions that must hold before, during or after
	// the row's faults; StopWhen abort and heal the row when one holds
	// (probes.go). Both need a Prometheus in the topology (prom.Server).
	Probes   []Probe
	StopWhen []Probe
	// Policy is the SRE config's objectives and estimate (real time); nil:
	// none, plan rows are held to their bounds only (objectives.go).
	Policy *config.Policy
}

func (e *Env) SlackOrDefault() time.Duration {
	if e.Slack > 0 {
		return e.Slack
	}
	return DefaultSlack
}

func (e *Env) TolerableErrorRate() float64 {
	if e.ErrorObjective > 0 {
		return e.ErrorObjective
	}
	return DefaultErrorObjective
}

func (e *Env) Alpha() float64 {
	if e.FalseAlarm > 0 {
		return e.FalseAlarm
	}
	return check.DefaultFalseAlarm
}

// Row is one spec of the plan.
type Row struct {
	N        int    // plan row 1..7; 0 for checklist specs
	Label    string // plan-N or checklist
	Spec     string // spec text, read as a requirement
	Expected string
	// Body is the scenario; the engine records and judges what it did.
	Body func(ctx context.Context, r *Run) error
	// Faults lists what Body injects for a spec, in order: a dry run prints
	// them, and the suite checks that every run injected a prefix of them
	// (all of them when it passed). nil: the row injects nothing.
	Faults func(s topology.Spec) []fault.Fault
	// Needs is the spec Body starts from the base one (nil: the base);
	// a dry run checks it against what an external target runs.
	Needs func(base topology.Spec) topology.Spec
}

// Injected lists the names of the faults the row injected, in order.
func (o *Outcome) Injected() []string {
	if o.recorder == nil {
		return nil
	}
	var out []string
	for _, w := range o.recorder.Windows() {
		out = append(out, w.Name)
	}
	return out
}

// Outcome is what a row measured and concluded.
type Outcome struct {
	Row      int
	Label    string
	Name     string
	Expected string
	Checks   []check.Result
	Verdict  check.Verdict
	Why      string // the verdict's reason
	Health   check.Health
	RunDir   string

	Observed  reports.Observed
	Bounds    reports.Bounds
	Projected *reports.Projected
	// Objectives: the row's objectives, estimates and measurements (objectives.go).
	Objectives []reports.Objective

	Started  time.Time     // when the row began; event and fault times count from here
	inherent time.Duration // time spent in waits the scenario needs
	recorder *fault.Tracker
	events   []reports.Event
	timeline []reports.Point
	excerpt  []string
}

// Passed reports whether the row's verdict is PASSED.
func (o *Outcome) Passed() bool { return o.Verdict == check.Passed }

// Failures lists the reasons of the results that are not passed.
func (o *Outcome) Failures() []string {
	var out []string
	for _, c := range o.Checks {
		if c.Verdict != check.Passed {
			out = append(out, fmt.Sprintf("%s [%s, %s]: %s", c.Name, c.Class, c.Verdict, c.Reason))
		}
	}
	return out
}

// Check returns the named result.
func (o *Outcome) Check(name string) (check.Result, bool) {
	for _, c := range o.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return check.Result{}, false
}

// Spec renders the outcome as a run-record spec (verdict left to the caller).
func (o *Outcome) Spec() reports.Spec {
	h := o.Health
	s := reports.Spec{
		Name: o.Name, Labels: []string{o.Label}, Row: o.Row, Expected: o.Expected,
		Observed: o.Observed, Bounds: o.Bounds, Projected: o.Projected, Objectives: o.Objectives,
		Faults: o.faultBands(), Events: o.events, Timeline: o.timeline,
		InherentWaitSeconds: o.inherent.Seconds(), Checks: o.Checks, Health: &h,
	}
	if !o.Passed() {
		s.Failure = o.Why
		s.HistoryExcerpt = o.excerpt
	}
	return s
}

func (o *Outcome) Add(r check.Result) check.Result {
	o.Checks = append(o.Checks, r)
	return r
}

func (o *Outcome) Event(name string) {
	o.events = append(o.events, reports.Event{Name: name, At: time.Since(o.Started).Seconds()})
}

func (o *Outcome) EventAt(name string, at time.Time) {
	o.events = append(o.events, reports.Event{Name: name, At: max(0, at.Sub(o.Started).Seconds())})
}

// run is the state of one row while it runs.
type Run struct {
	Env     *Env
	Out     *Outcome
	Cluster topology.Cluster
	History *history.History
	Spec    topology.Spec
	mon     *timing.Monitor

	// measureFrom is where the liveness measurements start (the first
	// fault, else the topology being ready); the harness's own timing is
	// judged from there.
	measureFrom time.Time
	ready       time.Time

	// probes: the PromQL probes of the row, once its topology has a
	// Prometheus (promURL, read by the stop-condition guard too).
	probes    *probeRun
	promURL   atomic.Value // string
	probedPre bool

	pause time.Duration // the users' resend pause, when a row slows them

	faults *fault.Tracker // the one recorder every injection goes through

	// finalReads are ReadFinal's reads: the answers the linearizability
	// check holds the writes to (kept apart from History, which the
	// availability checks judge).
	finalReads []history.Op

	pollMu   sync.Mutex
	polled   topology.LBStatus // last status a wait read (polledStatus)
	polledAt time.Time

	mu sync.Mutex
}

func newRun(env *Env, row Row) *Run {
	o := &Outcome{Row: row.N, Label: row.Label, Name: row.Spec, Expected: row.Expected, Started: time.Now()}
	return &Run{Env: env, Out: o, History: history.New()}
}

// Run runs the row's body in env: whatever the body did, the row ends with
// a verdict, and the Outcome is returned even when it stopped early.
func (row Row) Run(ctx context.Context, env *Env) (*Outcome, error) {
	body := row.Body
	{
		r := newRun(env, row)
		if env.Timing == nil {
			r.mon = timing.Start(0, 0)
			defer r.mon.Stop()
		} else {
			r.mon = env.Timing
		}
		gctx, unguard := env.Stop.guard(ctx, r.History, r.stopWhen())
		err := body(gctx, r)
		if c := context.Cause(gctx); errors.Is(c, ErrStopped) {
			err = c // the row stopped on a stop condition, whatever its wait said
		}
		unguard()
		if errors.Is(err, ErrNoScenario) {
			err = nil // the evidence result says why; the verdict is INCONCLUSIVE
		}
		r.conclude(err)
		return r.Out, err
	}
}

// up starts the topology for this row and registers its teardown. Its
// files go to env.RunDir, or to a temporary folder removed after teardown.
func (r *Run) Up(ctx context.Context, spec topology.Spec) error {
	switch {
	case spec.RunDir != "":
	case r.Env.RunDir != "":
		if err := os.MkdirAll(r.Env.RunDir, 0o755); err != nil {
			return err
		}
		spec.RunDir = r.Env.RunDir
	default:
		dir, err := os.MkdirTemp("", "chaos-"+r.Out.Label+"-")
		if err != nil {
			return err
		}
		// registered before the cluster's teardown, so it runs after it
		r.Env.Defer("remove "+dir, func(context.Context) error { return os.RemoveAll(dir) })
		spec.RunDir = dir
	}
	r.Out.RunDir = spec.RunDir
	spec.Log = r.Env.Log
	r.Spec = spec.WithDefaults()
	t0 := time.Now()
	c, err := r.Env.Provider.Start(ctx, r.Spec)
	if err != nil {
		return fmt.Errorf("start %s topology: %w", r.Env.Provider.Name(), err)
	}
	r.Env.Defer("cluster", func(ctx context.Context) error { return c.Close(ctx) })
	r.Cluster = c
	// A deployment that outlives the row hands back a seed of its own, so
	// this row's session ids are not another row's.
	r.Spec.Seed = c.Spec().Seed
	// Registered after the cluster's teardown, so it runs before it: every
	// fault still injected is healed, newest first, on every path.
	r.faults = fault.NewTracker(c)
	r.Out.recorder = r.faults
	r.Env.Defer("heal every fault", r.faults.HealAll)
	if ps, ok := c.(prom.Server); ok && ps.PrometheusURL() != "" && len(r.Env.Probes)+len(r.Env.StopWhen) > 0 {
		// Probes read what Prometheus scraped: before the row begins, every
		// target must have been scraped, or a probe would judge no data.
		url, n := ps.PrometheusURL(), len(r.Spec.Regions)+1
		expr := fmt.Sprintf("count(up == 1) >= %d", n)
		if r.Wait(ctx, 30*time.Second, "Prometheus scraping every target", func() bool {
			ok, _, err := prom.Holds(ctx, url, expr)
			return err == nil && ok
		}) == nil {
			r.promURL.Store(url)
			if len(r.Env.Probes) > 0 {
				r.probes = newProbeRun(url, r.Env.Probes)
			}
		} else {
			r.Out.Add(check.Seen("prometheus-scraping", false, 0, "Prometheus at %s did not scrape the %d targets within 30s (%s): the probes judge nothing", url, n, expr))
		}
	}
	r.ready = time.Now()
	if r.measureFrom.IsZero() {
		r.measureFrom = r.ready
	}
	r.Out.Event(fmt.Sprintf("topology ready (%.1fs)", time.Since(t0).Seconds()))
	return nil
}

// Inject injects f through the run's fault recorder (which keeps its window
// for the report's fault bands) and registers its heal on the next line. It
// returns the heal and when the fault took effect: some moment between the
// injection's start and its return.
func (r *Run) Inject(ctx context.Context, f fault.Fault) (HealFunc, check.Fault, error) {
	if r.faults == nil {
		return nil, check.Fault{}, fmt.Errorf("inject %s: no topology started", f.Name())
	}
	if r.probes != nil && !r.probedPre {
		r.probedPre = true
		r.probes.eval(ctx, PhaseBefore)
		r.probes.during(ctx, func() bool { return r.faults.Active() > 0 })
	}
	heal, w, err := r.faults.Inject(ctx, f)
	if err != nil {
		return nil, check.Fault{}, err // a half-applied fault is healed by the recorder's HealAll
	}
	r.Env.Defer(f.Name(), heal)
	if r.measureFrom.IsZero() || r.measureFrom.Equal(r.ready) {
		r.measureFrom = w.Start
	}
	return heal, check.Fault{Start: w.Start, End: w.Injected}, nil
}

// faultBands are the recorder's windows as the report draws them; read when
// the record is built, after the row's heals ran.
func (o *Outcome) faultBands() []reports.Fault {
	if o.recorder == nil {
		return nil
	}
	var out []reports.Fault
	for _, w := range o.recorder.Windows() {
		end := -1.0
		if !w.End.IsZero() {
			end = w.End.Sub(o.Started).Seconds()
		}
		out = append(out, reports.Fault{Name: w.Name, Start: w.Start.Sub(o.Started).Seconds(), End: end})
	}
	return out
}

// Load is traffic running in the background.
type Load struct {
	Client  *traffic.Client
	cancel  context.CancelFunc
	done    chan struct{}
	res     traffic.Result
	err     error
	Stopped time.Time // when the load ended
}

// UserPrefix names the LB users of a row, so checks about what users saw
// leave out the scenario's own actors (stale-DNS writers, readers).
const UserPrefix = "user-"

// startLoad drives cfg through the LB until stopped (or cfg.Duration).
func (r *Run) StartLoad(ctx context.Context, cfg traffic.Config) *Load {
	if cfg.LBURL == "" {
		cfg.LBURL = r.Cluster.LBURL()
	}
	if cfg.Seed == 0 {
		cfg.Seed = r.Spec.Seed
	}
	if cfg.Duration == 0 {
		cfg.Duration = time.Minute // bounded; rows stop it much earlier
	}
	if strings.HasPrefix(cfg.UserPrefix, UserPrefix) && cfg.Interval > 0 {
		r.pause = cfg.Interval // the RTO bound's client pause is the users' own
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &Load{Client: traffic.NewClient(cfg, r.History), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.res, l.err = l.Client.Run(ctx)
		l.Stopped = time.Now()
	}()
	return l
}

func (l *Load) Stop() (traffic.Result, error) {
	l.cancel()
	<-l.done
	return l.res, l.err
}

// wait is waitFor for the waits a scenario inherently needs (detection,
// observation, TTL): their time is recorded, so the run record can tell the
// harness's own overhead apart.
func (r *Run) Wait(ctx context.Context, deadline time.Duration, what string, cond func() bool) error {
	t0 := time.Now()
	err := WaitFor(ctx, deadline, what, cond)
	r.Out.inherent += time.Since(t0)
	return err
}

// waitFor polls cond every tick until it holds or the deadline passes.
func WaitFor(ctx context.Context, deadline time.Duration, what string, cond func() bool) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	// Polling costs the harness CPU it measures itself by; 20 ms is fine
	// grained enough, since no measured time comes from the poll.
	tick := time.NewTicker(20 * time.Millisecond)
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

// userOps are the operations of the row's LB users.
func (r *Run) UserOps() []history.Op {
	var out []history.Op
	for _, op := range r.History.Ops() {
		if strings.HasPrefix(op.User, UserPrefix) {
			out = append(out, op)
		}
	}
	return out
}

// count counts the operations that match.
func (r *Run) Count(match func(op *history.Op) bool) int {
	n := 0
	r.History.Each(func(op *history.Op) {
		if match(op) {
			n++
		}
	})
	return n
}

// acked counts successful message operations so far.
func (r *Run) Acked() int {
	return r.Count(func(op *history.Op) bool { return op.Kind == history.KindMessage && op.OK() })
}

// ackedBy counts successful message operations served by region.
func (r *Run) AckedBy(region string) int {
	return r.Count(func(op *history.Op) bool {
		return op.Kind == history.KindMessage && op.OK() && op.ServedBy == region
	})
}

// homedOn lists the sessions whose latest acknowledged operation region served.
func (r *Run) HomedOn(region string) map[string]bool {
	last := map[string]string{}
	for _, op := range r.History.Ops() {
		if op.OK() && op.Session != "" && op.ServedBy != "" {
			last[op.Session] = op.ServedBy
		}
	}
	out := map[string]bool{}
	for s, reg := range last {
		if reg == region {
			out[s] = true
		}
	}
	return out
}

// warm waits until traffic has some acknowledged messages on region, so
// the fault has something to lose. Without them the row has no scenario.
func (r *Run) Warm(ctx context.Context, region string) check.Result {
	const need = 5
	err := r.Wait(ctx, 20*time.Second, "warm traffic on "+region, func() bool { return r.AckedBy(region) >= need })
	n := r.AckedBy(region)
	return check.Seen("traffic-before-fault("+region+")", err == nil, float64(n), "%s acknowledged %d messages before the fault (want >= %d)", region, n, need)
}

// lbStatus reads the LB status (on the harness's clock), retrying briefly.
func (r *Run) LBStatus(ctx context.Context) (topology.LBStatus, error) {
	var st topology.LBStatus
	var err error
	for i := 0; i < 5; i++ {
		st, err = r.Cluster.LBStatus(ctx)
		if err == nil {
			return st, nil
		}
	}
	return st, err
}

// statusPoll is how often a wait reads the LB's status: reading it costs
// the LB (and the harness) CPU they are measured by, and no measured time
// comes from when it was read (transitions carry their own times).
const statusPoll = 50 * time.Millisecond

// polledStatus is the LB status for a polling wait: a fresh read at most
// every statusPoll, else the last one (and a not-yet error).
func (r *Run) PolledStatus(ctx context.Context) (topology.LBStatus, error) {
	r.pollMu.Lock()
	defer r.pollMu.Unlock()
	if time.Since(r.polledAt) < statusPoll {
		return r.polled, errNotYet
	}
	st, err := r.Cluster.LBStatus(ctx)
	r.polled, r.polledAt = st, time.Now()
	return st, err
}

var errNotYet = errors.New("not polled yet")

// waitMarked waits until the LB takes region out of rotation and returns
// when it did, on the harness's clock (zero if it did not within deadline).
// With healthOnly, only a health-check verdict counts, not an ejection.
func (r *Run) WaitMarked(ctx context.Context, region string, since time.Time, deadline time.Duration, healthOnly bool) time.Time {
	var at time.Time
	_ = r.Wait(ctx, deadline, region+" out of rotation", func() bool {
		st, err := r.PolledStatus(ctx)
		if err != nil {
			return false
		}
		at = check.MarkedAt(st.Transitions, region, since, healthOnly)
		return !at.IsZero()
	})
	return at
}

// waitIn waits until every region named is back in rotation.
func (r *Run) WaitIn(ctx context.Context, deadline time.Duration, regions ...string) error {
	return r.Wait(ctx, deadline, strings.Join(regions, ",")+" back in rotation", func() bool {
		st, err := r.PolledStatus(ctx)
		return err == nil && st.AllInRotation(regions...)
	})
}

// waitRounds waits until the LB has run n more health rounds: observing "for
// a while" in the LB's own progress, not the harness's clock. It returns how
// many rounds it saw.
func (r *Run) WaitRounds(ctx context.Context, n int, what string) int {
	st, err := r.LBStatus(ctx)
	if err != nil {
		return 0
	}
	base, seen := st.Health.Rounds, int64(0)
	// Deadline: the rounds' own worst case four times over, plus a second.
	per := max(r.Spec.LBHealth.Interval, r.Spec.LBHealth.Timeout)
	_ = r.Wait(ctx, 4*time.Duration(n)*per+time.Second, what, func() bool {
		st, err := r.PolledStatus(ctx)
		if err == nil {
			seen = st.Health.Rounds - base
		}
		return seen >= int64(n)
	})
	return int(seen)
}

// waitAnswered waits until every request the client sent before t is answered.
func (r *Run) WaitAnswered(ctx context.Context, cl *traffic.Client, t time.Time, deadline time.Duration) error {
	return r.Wait(ctx, deadline, "requests sent before the mark to be answered", func() bool {
		for _, p := range cl.InFlight() {
			if !p.Start.After(t) {
				return false
			}
		}
		return true
	})
}

// Bounds of this row's configuration; one source for check, report and
// projection (harness/bounds).
func (r *Run) LBProbe() bounds.Probe {
	h := r.Spec.LBHealth
	return bounds.Probe{Interval: h.Interval, Timeout: h.Timeout, Threshold: h.FailureThreshold}
}

func (r *Run) Retry() bounds.Retry {
	return bounds.Retry{Enabled: r.Spec.Retry.Enabled, Attempts: r.Spec.Retry.Attempts, PerTry: r.Spec.Retry.PerTryTimeout}
}

func (r *Run) Allow() bounds.Harness {
	pause := UserPause
	if r.pause > 0 {
		pause = r.pause
	}
	return bounds.Harness{Slack: r.Env.SlackOrDefault(), ClientPause: pause}
}

func (r *Run) DetectionBound() bounds.Duration { return bounds.LBDetection(r.LBProbe(), r.Allow()) }
func (r *Run) RTOBound() bounds.Duration       { return bounds.RTO(r.LBProbe(), r.Retry(), r.Allow()) }
func (r *Run) InFlightBound() bounds.Duration {
	return bounds.InFlight(r.Retry()).Plus(bounds.Term{Name: "scheduling slack", D: r.Env.SlackOrDefault()})
}

// MarkDeadline is how long a row waits for the LB's verdict before judging
// its absence: the bound twice over plus a second, so a late verdict is
// measured (and judged) rather than cut off at the bound.
func MarkDeadline(b bounds.Duration) time.Duration { return 2*b.Total() + time.Second }

// readFinal reads every session back through the LB. A session the system no
// longer knows (404) or that expired mid-row (410) has lost everything it
// acknowledged: both count as empty conversations, never as "not read back".
func (r *Run) ReadFinal(ctx context.Context, sessions []string) (map[string]check.Conversation, error) {
	h := history.New()
	cl := traffic.NewClient(traffic.Config{LBURL: r.Cluster.LBURL(), RequestTimeout: 2 * time.Second}, h)
	convs, err := cl.ReadAll(ctx, sessions, 30*time.Second)
	r.mu.Lock()
	r.finalReads = append(r.finalReads, h.Ops()...)
	r.mu.Unlock()
	out := make(map[string]check.Conversation, len(convs))
	for s, c := range convs {
		out[s] = check.Conversation{IDs: c.MessageIDs, Versions: c.Versions, Messages: c.Messages, Expired: c.Expired, ReadAt: c.ReadAt}
	}
	return out, err
}

// FinalReads returns the reads ReadFinal made, in completion order.
func (r *Run) FinalReads() []history.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]history.Op(nil), r.finalReads...)
}

func (r *Run) MaxMessages() int {
	if r.Env.MaxMessages > 0 {
		return r.Env.MaxMessages
	}
	return 50
}

// conclude turns what the row measured into its verdict: the harness's
// own timing, the judgement, the figures and bounds the report shows, and
// the history kept with the row's files.
func (r *Run) conclude(err error) {
	o := r.Out
	if errors.Is(err, topology.ErrUnsupported) && r.mayLack() {
		// The topology lacks what the row needs: not judged, never passed.
		o.Health = r.health()
		o.Verdict, o.Why = check.Skipped, "skipped: "+err.Error()
		return
	}
	if err != nil {
		// The scenario could not run to its end: a liveness failure, so a
		// starved machine makes it inconclusive rather than red.
		o.Add(check.Live("scenario-ran", false, 0, "%v", err))
	}
	r.judgeObjectives()
	r.judgeProbes()
	o.Health = r.health()
	o.Verdict, o.Why = check.Judge(o.Checks, o.Health)
	k := r.Env.TimeScale
	for i := range o.Checks {
		o.Checks[i].Bound.Project(k)
	}
	ops := r.History.Ops()
	o.Observed.Requests = len(ops)
	for _, op := range ops {
		if op.Kind != history.KindRead && op.Unavailable() {
			o.Observed.ClientErrors++
		}
	}
	if r.Cluster != nil {
		for _, a := range r.Cluster.Alerts() {
			if a.Status == "firing" {
				o.Observed.Alerts++
			}
		}
	}
	fig := reports.Spec{Checks: o.Checks}
	fig.FiguresFromChecks(k)
	o.Observed.DetectionSeconds, o.Observed.RTOSeconds = fig.Observed.DetectionSeconds, fig.Observed.RTOSeconds
	o.Observed.FailbackSeconds = fig.Observed.FailbackSeconds
	o.Observed.RPOSeconds, o.Observed.RPOMessages = fig.Observed.RPOSeconds, fig.Observed.RPOMessages
	o.Bounds, o.Projected = fig.Bounds, fig.Projected
	o.timeline = timeline(ops, o.Started, 250*time.Millisecond)
	if !o.Passed() {
		at := r.measureFrom
		if at.IsZero() {
			at = o.Started
		}
		o.excerpt = history.Excerpt(ops, at, 12)
	}
	if r.Spec.RunDir != "" {
		if f, err := os.Create(filepath.Join(r.Spec.RunDir, "history.jsonl")); err == nil {
			// abandoned requests and the final reads too: the linearizability
			// check reads them, so a kept history replays its verdict
			all := append(append(ops, r.History.Abandoned()...), r.FinalReads()...)
			_ = history.WriteJSONL(f, all)
			f.Close()
		}
		r.writeAlerts()
	}
}

// writeAlerts keeps what on-call received, as delivered (the webhook
// payloads, an Alertmanager's included), next to the history: alerts.jsonl,
// one {"at","source","payload"} per notification.
func (r *Run) writeAlerts() {
	if r.Cluster == nil {
		return
	}
	alerts := r.Cluster.Alerts()
	if len(alerts) == 0 {
		return
	}
	f, err := os.Create(filepath.Join(r.Spec.RunDir, "alerts.jsonl"))
	if err != nil {
		return
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, a := range alerts {
		_ = enc.Encode(struct {
			At      time.Time       `json:"at"`
			Source  string          `json:"source"`
			Payload json.RawMessage `json:"payload"`
		}{a.At, a.Source, json.RawMessage(a.Raw)})
	}
}

// health measures the harness's own timing over the measured part of the
// row: its timers' lateness and the LB's health rounds' lateness.
func (r *Run) health() check.Health {
	from := r.measureFrom
	if from.IsZero() {
		from = r.Out.Started
	}
	to := time.Now()
	w := r.mon.Worst(from, to)
	h := check.Health{Slack: r.Env.SlackOrDefault().Seconds(), HarnessLag: w.Max.Seconds(), Samples: w.Samples}
	if !w.At.IsZero() {
		h.HarnessLagAt = w.At.Sub(r.Out.Started).Seconds()
	}
	if r.Cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := r.Cluster.LBStatus(ctx)
		cancel()
		if err == nil {
			// Evidence for the timing verdict: transitions and rounds, on the
			// harness's clock.
			r.keep("lb-status.json", st)
		}
		if err == nil {
			late, n := st.MaxRoundLateness(from)
			h.LBLag, h.LBRounds = late.Seconds(), n
			// A loop stalled right now has no late round to show: the time
			// since its last round ended, beyond an interval, is its stall.
			if rec := st.Health.Recent; r.Spec.LBHealth.Enabled && len(rec) > 0 && st.ClockAligned {
				// The round in progress may wait a probe timeout past the interval.
				last := rec[len(rec)-1]
				end := last.Started.Add(time.Duration(last.TookSeconds * float64(time.Second)))
				h.LBStall = max(0, st.Now.Sub(end)-max(r.Spec.LBHealth.Interval, r.Spec.LBHealth.Timeout)).Seconds()
			}
			for _, rd := range st.Health.Recent {
				if !rd.Started.Before(from) && rd.LateSeconds == h.LBLag {
					h.LBLagAt = rd.Started.Sub(r.Out.Started).Seconds()
				}
			}
		}
		// The regions' failover managers keep time too: detection and
		// failback by their routers depend on it. A region the row froze
		// runs late rounds because of the fault: those are not counted.
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		var windows []fault.Window
		if r.faults != nil {
			windows = r.faults.Windows()
		}
		for _, v := range r.Routers(ctx) {
			for _, rd := range v.Health.Recent {
				if !v.ClockAligned || rd.Started.Before(from) || stoppedDuring(windows, v.Self, rd) {
					continue
				}
				h.RegionRounds++
				if rd.LateSeconds >= h.RegionLag {
					h.RegionLag, h.RegionLagIn, h.RegionLagAt = rd.LateSeconds, v.Self, rd.Started.Sub(r.Out.Started).Seconds()
				}
			}
		}
		cancel()
	}
	h.Assess()
	return h
}

// stoppedDuring reports whether a fault in windows froze or killed region
// while round waited to start (from its due time to its start).
func stoppedDuring(windows []fault.Window, region string, rd topology.LBRound) bool {
	ready := rd.Started.Add(-time.Duration(rd.LateSeconds * float64(time.Second)))
	for _, w := range windows {
		if slices.Contains(w.Stops, region) && w.Overlaps(ready, rd.Started) {
			return true
		}
	}
	return false
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

// Await waits for the load to end by itself (its MaxMessages/Duration).
func (l *Load) Await(ctx context.Context) (traffic.Result, error) {
	select {
	case <-l.done:
	case <-ctx.Done():
		l.cancel()
		<-l.done
	}
	return l.res, l.err
}

// ErrNoScenario stops a row whose situation could not be created; the
// evidence result it added says why and makes the row INCONCLUSIVE.
var ErrNoScenario = errors.New("the scenario's situation could not be created")

// stopWhen is the guard's PromQL stop condition: nothing until the row's
// topology has a Prometheus.
func (r *Run) stopWhen() func(context.Context) error {
	if len(r.Env.StopWhen) == 0 {
		return nil
	}
	return func(ctx context.Context) error {
		url, _ := r.promURL.Load().(string)
		if url == "" {
			return nil
		}
		return stopWhen(url, r.Env.StopWhen)(ctx)
	}
}

// judgeProbes ends the "during" evaluations, evaluates the "after" probes
// and adds a result per probe. Probes on a topology without a Prometheus
// are missing evidence: the row is INCONCLUSIVE, never passed unprobed.
func (r *Run) judgeProbes() {
	if len(r.Env.Probes) == 0 {
		return
	}
	if r.probes == nil {
		if _, scraped := r.Out.Check("prometheus-scraping"); r.Cluster != nil && !scraped {
			r.Out.Add(check.Seen("probes", false, 0, "%d PromQL probes configured, but this topology has no Prometheus (run it with Prometheus on, or give the external target's prometheus.url)", len(r.Env.Probes)))
		}
		return
	}
	r.probes.end()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r.probes.eval(ctx, PhaseAfter)
	for _, res := range r.probes.results() {
		r.Out.Add(res)
	}
}

// mayLack: only a deployment the harness did not start (topology.Shared)
// may lack what a row needs; the harness's own topologies have every hook
// and link, so there an unsupported operation is a harness bug and the
// row fails with it rather than being skipped. A start refused before any
// cluster exists is the provider's own verdict.
func (r *Run) mayLack() bool {
	if r.Cluster == nil {
		return true
	}
	sh, ok := r.Cluster.(topology.Shared)
	return ok && sh.Shared()
}

// CheckFaults says whether a run of the row injected what the row declares
// (Row.Faults for spec): a prefix of it, all of it when the row passed. A
// dry run prints the declaration, so it must not drift from the body.
func (row Row) CheckFaults(spec topology.Spec, o *Outcome) error {
	if o == nil {
		return nil
	}
	var declared []string
	if row.Faults != nil {
		for _, f := range row.Faults(spec) {
			declared = append(declared, f.Name())
		}
	}
	got := o.Injected()
	if len(got) > len(declared) || !slices.Equal(got, declared[:len(got)]) || (o.Verdict == check.Passed && len(got) != len(declared)) {
		return fmt.Errorf("%s %q injected %v; its Faults declare %v", row.Label, row.Spec, got, declared)
	}
	return nil
}
