// Package plan holds the failover test plan (SPEC §4) as plain Go: each row
// starts a topology, drives traffic, injects its fault, and returns the
// checks it made with the numbers it measured and its verdict. The Ginkgo
// suite in scenarios/ and the `chaos run` CLI both run these rows; the
// package never imports Ginkgo, so plain tests can run a row against a bad
// configuration and watch it fail.
package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/history"
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
	// userPause is how long a simulated user waits between requests and
	// before resending a failed one.
	userPause = bounds.DefaultHarness.ClientPause
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
}

func (e *Env) slack() time.Duration {
	if e.Slack > 0 {
		return e.Slack
	}
	return DefaultSlack
}

func (e *Env) errorObjective() float64 {
	if e.ErrorObjective > 0 {
		return e.ErrorObjective
	}
	return DefaultErrorObjective
}

func (e *Env) alpha() float64 {
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
	Verdict  check.Verdict
	Why      string // the verdict's reason
	Health   check.Health
	RunDir   string

	Observed  reports.Observed
	Bounds    reports.Bounds
	Projected *reports.Projected

	start    time.Time
	inherent time.Duration // time spent in waits the scenario needs
	faults   []reports.Fault
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
		Observed: o.Observed, Bounds: o.Bounds, Projected: o.Projected,
		Faults: o.faults, Events: o.events, Timeline: o.timeline,
		InherentWaitSeconds: o.inherent.Seconds(), Checks: o.Checks, Health: &h,
	}
	if !o.Passed() {
		s.Failure = o.Why
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
	o.events = append(o.events, reports.Event{Name: name, At: max(0, at.Sub(o.start).Seconds())})
}

// run is the state of one row while it runs.
type run struct {
	env  *Env
	out  *Outcome
	c    topology.Cluster
	h    *history.History
	spec topology.Spec
	mon  *timing.Monitor

	// measureFrom is where the liveness measurements start (the first
	// fault, else the topology being ready); the harness's own timing is
	// judged from there.
	measureFrom time.Time
	ready       time.Time

	pause time.Duration // the users' resend pause, when a row slows them

	pollMu   sync.Mutex
	polled   topology.LBStatus // last status a wait read (polledStatus)
	polledAt time.Time

	mu sync.Mutex
}

func newRun(env *Env, row Row) *run {
	o := &Outcome{Row: row.N, Label: row.Label, Name: row.Spec, Expected: row.Expected, start: time.Now()}
	return &run{env: env, out: o, h: history.New()}
}

// bind adapts a row body to Row.Run: whatever the body did, the row ends
// with a verdict, and the Outcome is returned even when it stopped early.
func bind(row Row) func(ctx context.Context, env *Env) (*Outcome, error) {
	body := row.body
	return func(ctx context.Context, env *Env) (*Outcome, error) {
		r := newRun(env, row)
		if env.Timing == nil {
			r.mon = timing.Start(0, 0)
			defer r.mon.Stop()
		} else {
			r.mon = env.Timing
		}
		err := body(ctx, r)
		if errors.Is(err, errNoScenario) {
			err = nil // the evidence result says why; the verdict is INCONCLUSIVE
		}
		r.conclude(err)
		return r.out, err
	}
}

// up starts the topology for this row and registers its teardown. Its
// files go to env.RunDir, or to a temporary folder removed after teardown.
func (r *run) up(ctx context.Context, spec topology.Spec) error {
	switch {
	case spec.RunDir != "":
	case r.env.RunDir != "":
		if err := os.MkdirAll(r.env.RunDir, 0o755); err != nil {
			return err
		}
		spec.RunDir = r.env.RunDir
	default:
		dir, err := os.MkdirTemp("", "chaos-"+r.out.Label+"-")
		if err != nil {
			return err
		}
		// registered before the cluster's teardown, so it runs after it
		r.env.Defer("remove "+dir, func(context.Context) error { return os.RemoveAll(dir) })
		spec.RunDir = dir
	}
	r.out.RunDir = spec.RunDir
	spec.Log = r.env.Log
	r.spec = spec.WithDefaults()
	t0 := time.Now()
	c, err := r.env.Provider.Start(ctx, r.spec)
	if err != nil {
		return fmt.Errorf("start %s topology: %w", r.env.Provider.Name(), err)
	}
	r.env.Defer("cluster", func(ctx context.Context) error { return c.Close(ctx) })
	r.c = c
	r.ready = time.Now()
	if r.measureFrom.IsZero() {
		r.measureFrom = r.ready
	}
	r.out.event(fmt.Sprintf("topology ready (%.1fs)", time.Since(t0).Seconds()))
	return nil
}

// inject injects f, records its window, and registers its heal on the next
// line. It returns the heal and when the fault took effect: some moment
// between the injection's start and its return.
func (r *run) inject(ctx context.Context, f fault.Fault) (HealFunc, check.Fault, error) {
	if err := f.Available(r.c); err != nil {
		return nil, check.Fault{}, fmt.Errorf("fault %s not available: %w", f.Name(), err)
	}
	start := time.Now()
	heal, err := f.Inject(ctx, r.c)
	if heal != nil {
		healed := r.healer(f.Name(), start, heal)
		r.env.Defer(f.Name(), healed)
		if err == nil {
			if r.measureFrom.IsZero() || r.measureFrom.Equal(r.ready) {
				r.measureFrom = start
			}
			return healed, check.Fault{Start: start, End: time.Now()}, nil
		}
	}
	return nil, check.Fault{}, fmt.Errorf("inject %s: %w", f.Name(), err)
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
	cl      *traffic.Client
	cancel  context.CancelFunc
	done    chan struct{}
	res     traffic.Result
	err     error
	stopped time.Time
}

// userPrefix names the LB users of a row, so checks about what users saw
// leave out the scenario's own actors (stale-DNS writers, readers).
const userPrefix = "user-"

// startLoad drives cfg through the LB until stopped (or cfg.Duration).
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
	if strings.HasPrefix(cfg.UserPrefix, userPrefix) && cfg.Interval > 0 {
		r.pause = cfg.Interval // the RTO bound's client pause is the users' own
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &load{cl: traffic.NewClient(cfg, r.h), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.res, l.err = l.cl.Run(ctx)
		l.stopped = time.Now()
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
func (r *run) userOps() []history.Op {
	var out []history.Op
	for _, op := range r.h.Ops() {
		if strings.HasPrefix(op.User, userPrefix) {
			out = append(out, op)
		}
	}
	return out
}

// count counts the operations that match.
func (r *run) count(match func(op *history.Op) bool) int {
	n := 0
	r.h.Each(func(op *history.Op) {
		if match(op) {
			n++
		}
	})
	return n
}

// acked counts successful message operations so far.
func (r *run) acked() int {
	return r.count(func(op *history.Op) bool { return op.Kind == history.KindMessage && op.OK() })
}

// ackedBy counts successful message operations served by region.
func (r *run) ackedBy(region string) int {
	return r.count(func(op *history.Op) bool {
		return op.Kind == history.KindMessage && op.OK() && op.ServedBy == region
	})
}

// homedOn lists the sessions whose latest acknowledged operation region served.
func (r *run) homedOn(region string) map[string]bool {
	last := map[string]string{}
	for _, op := range r.h.Ops() {
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
func (r *run) warm(ctx context.Context, region string) check.Result {
	const need = 5
	err := r.wait(ctx, 20*time.Second, "warm traffic on "+region, func() bool { return r.ackedBy(region) >= need })
	n := r.ackedBy(region)
	return check.Seen("traffic-before-fault("+region+")", err == nil, float64(n), "%s acknowledged %d messages before the fault (want >= %d)", region, n, need)
}

// lbStatus reads the LB status (on the harness's clock), retrying briefly.
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

// statusPoll is how often a wait reads the LB's status: reading it costs
// the LB (and the harness) CPU they are measured by, and no measured time
// comes from when it was read (transitions carry their own times).
const statusPoll = 50 * time.Millisecond

// polledStatus is the LB status for a polling wait: a fresh read at most
// every statusPoll, else the last one (and a not-yet error).
func (r *run) polledStatus(ctx context.Context) (topology.LBStatus, error) {
	r.pollMu.Lock()
	defer r.pollMu.Unlock()
	if time.Since(r.polledAt) < statusPoll {
		return r.polled, errNotYet
	}
	st, err := r.c.LBStatus(ctx)
	r.polled, r.polledAt = st, time.Now()
	return st, err
}

var errNotYet = errors.New("not polled yet")

// waitMarked waits until the LB takes region out of rotation and returns
// when it did, on the harness's clock (zero if it did not within deadline).
// With healthOnly, only a health-check verdict counts, not an ejection.
func (r *run) waitMarked(ctx context.Context, region string, since time.Time, deadline time.Duration, healthOnly bool) time.Time {
	var at time.Time
	_ = r.wait(ctx, deadline, region+" out of rotation", func() bool {
		st, err := r.polledStatus(ctx)
		if err != nil {
			return false
		}
		at = check.MarkedAt(st.Transitions, region, since, healthOnly)
		return !at.IsZero()
	})
	return at
}

// waitIn waits until every region named is back in rotation.
func (r *run) waitIn(ctx context.Context, deadline time.Duration, regions ...string) error {
	return r.wait(ctx, deadline, strings.Join(regions, ",")+" back in rotation", func() bool {
		st, err := r.polledStatus(ctx)
		return err == nil && st.AllInRotation(regions...)
	})
}

// waitRounds waits until the LB has run n more health rounds: observing "for
// a while" in the LB's own progress, not the harness's clock. It returns how
// many rounds it saw.
func (r *run) waitRounds(ctx context.Context, n int, what string) int {
	st, err := r.lbStatus(ctx)
	if err != nil {
		return 0
	}
	base, seen := st.Health.Rounds, int64(0)
	// Deadline: the rounds' own worst case four times over, plus a second.
	per := max(r.spec.LBHealth.Interval, r.spec.LBHealth.Timeout)
	_ = r.wait(ctx, 4*time.Duration(n)*per+time.Second, what, func() bool {
		st, err := r.polledStatus(ctx)
		if err == nil {
			seen = st.Health.Rounds - base
		}
		return seen >= int64(n)
	})
	return int(seen)
}

// waitAnswered waits until every request the client sent before t is answered.
func (r *run) waitAnswered(ctx context.Context, cl *traffic.Client, t time.Time, deadline time.Duration) error {
	return r.wait(ctx, deadline, "requests sent before the mark to be answered", func() bool {
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
func (r *run) lbProbe() bounds.Probe {
	h := r.spec.LBHealth
	return bounds.Probe{Interval: h.Interval, Timeout: h.Timeout, Threshold: h.FailureThreshold}
}

func (r *run) retry() bounds.Retry {
	return bounds.Retry{Enabled: r.spec.Retry.Enabled, Attempts: r.spec.Retry.Attempts, PerTry: r.spec.Retry.PerTryTimeout}
}

func (r *run) allow() bounds.Harness {
	pause := userPause
	if r.pause > 0 {
		pause = r.pause
	}
	return bounds.Harness{Slack: r.env.slack(), ClientPause: pause}
}

func (r *run) detectionBound() bounds.Duration { return bounds.LBDetection(r.lbProbe(), r.allow()) }
func (r *run) rtoBound() bounds.Duration       { return bounds.RTO(r.lbProbe(), r.retry(), r.allow()) }
func (r *run) inflightBound() bounds.Duration {
	return bounds.InFlight(r.retry()).Plus(bounds.Term{Name: "scheduling slack", D: r.env.slack()})
}

// markDeadline is how long a row waits for the LB's verdict before judging
// its absence: the bound twice over plus a second, so a late verdict is
// measured (and judged) rather than cut off at the bound.
func markDeadline(b bounds.Duration) time.Duration { return 2*b.Total() + time.Second }

// readFinal reads every session back through the LB. A session the system no
// longer knows (404) or that expired mid-row (410) has lost everything it
// acknowledged: both count as empty conversations, never as "not read back".
func (r *run) readFinal(ctx context.Context, sessions []string) (map[string]check.Conversation, error) {
	cl := traffic.NewClient(traffic.Config{LBURL: r.c.LBURL(), RequestTimeout: 2 * time.Second}, history.New())
	convs, err := cl.ReadAll(ctx, sessions, 30*time.Second)
	out := make(map[string]check.Conversation, len(convs))
	for s, c := range convs {
		out[s] = check.Conversation{IDs: c.MessageIDs, Versions: c.Versions, Messages: c.Messages}
	}
	return out, err
}

func (r *run) maxMessages() int {
	if r.env.MaxMessages > 0 {
		return r.env.MaxMessages
	}
	return 50
}

// conclude turns what the row measured into its verdict: the harness's
// own timing, the judgement, the figures and bounds the report shows, and
// the history kept with the row's files.
func (r *run) conclude(err error) {
	o := r.out
	if err != nil {
		// The scenario could not run to its end: a liveness failure, so a
		// starved machine makes it inconclusive rather than red.
		o.add(check.Live("scenario-ran", false, 0, "%v", err))
	}
	o.Health = r.health()
	o.Verdict, o.Why = check.Judge(o.Checks, o.Health)
	k := r.env.TimeScale
	for i := range o.Checks {
		o.Checks[i].Bound.Project(k)
	}
	ops := r.h.Ops()
	o.Observed.Requests = len(ops)
	for _, op := range ops {
		if op.Kind != history.KindRead && op.Unavailable() {
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
	fig := reports.Spec{Checks: o.Checks}
	fig.FiguresFromChecks(k)
	o.Observed.DetectionSeconds, o.Observed.RTOSeconds = fig.Observed.DetectionSeconds, fig.Observed.RTOSeconds
	o.Observed.RPOSeconds, o.Observed.RPOMessages = fig.Observed.RPOSeconds, fig.Observed.RPOMessages
	o.Bounds, o.Projected = fig.Bounds, fig.Projected
	o.timeline = timeline(ops, o.start, 250*time.Millisecond)
	if !o.Passed() {
		at := r.measureFrom
		if at.IsZero() {
			at = o.start
		}
		o.excerpt = history.Excerpt(ops, at, 12)
	}
	if r.spec.RunDir != "" {
		if f, err := os.Create(filepath.Join(r.spec.RunDir, "history.jsonl")); err == nil {
			_ = history.WriteJSONL(f, ops)
			f.Close()
		}
	}
}

// health measures the harness's own timing over the measured part of the
// row: its timers' lateness and the LB's health rounds' lateness.
func (r *run) health() check.Health {
	from := r.measureFrom
	if from.IsZero() {
		from = r.out.start
	}
	to := time.Now()
	w := r.mon.Worst(from, to)
	h := check.Health{Slack: r.env.slack().Seconds(), HarnessLag: w.Max.Seconds(), Samples: w.Samples}
	if !w.At.IsZero() {
		h.HarnessLagAt = w.At.Sub(r.out.start).Seconds()
	}
	if r.c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := r.c.LBStatus(ctx)
		cancel()
		if err == nil && r.spec.RunDir != "" {
			// Evidence for the timing verdict: transitions and rounds, on the
			// harness's clock.
			if b, jerr := json.MarshalIndent(st, "", "  "); jerr == nil {
				_ = os.WriteFile(filepath.Join(r.spec.RunDir, "lb-status.json"), b, 0o644)
			}
		}
		if err == nil {
			late, n := st.MaxRoundLateness(from)
			h.LBLag, h.LBRounds = late.Seconds(), n
			// A loop stalled right now has no late round to show: the time
			// since its last round ended, beyond an interval, is its stall.
			if rec := st.Health.Recent; r.spec.LBHealth.Enabled && len(rec) > 0 && st.ClockAligned {
				// The round in progress may wait a probe timeout past the interval.
				last := rec[len(rec)-1]
				end := last.Started.Add(time.Duration(last.TookSeconds * float64(time.Second)))
				h.LBStall = max(0, st.Now.Sub(end)-max(r.spec.LBHealth.Interval, r.spec.LBHealth.Timeout)).Seconds()
			}
			for _, rd := range st.Health.Recent {
				if !rd.Started.Before(from) && rd.LateSeconds == h.LBLag {
					h.LBLagAt = rd.Started.Sub(r.out.start).Seconds()
				}
			}
		}
	}
	h.Assess()
	return h
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
