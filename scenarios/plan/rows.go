package plan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/stats"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/harness/traffic"
)

// Rows is the failover test plan, SPEC §4, followed by the article's checklist.
func Rows() []engine.Row {
	rows := []engine.Row{
		{N: 1, Label: "plan-1", Spec: "when region A becomes unresponsive, the LB moves its users to B and no acknowledged message is lost",
			Expected: "LB redirects to B; every session continues; no acked message lost; RTO within detection bound + margin", Body: body(row1), Faults: faultsRow1},
		{N: 2, Label: "plan-2", Spec: "when region A answers 503, health checks mark it degraded and it gets no new traffic",
			Expected: "health check fails, A marked degraded; no new traffic to A after the detection window", Body: body(row2), Faults: faultsRow2},
		{N: 3, Label: "plan-3", Spec: "when half of region A's requests fail, A is taken out and clients barely notice",
			Expected: "A marked degraded; client-visible error rate stays low (graceful degradation)", Body: body(row3), Faults: faultsRow3},
		{N: 4, Label: "plan-4", Spec: "when region A is partitioned, health checks time out and on restore the conflict strategy holds with no silent overwrite",
			Expected: "health check times out; on restore the configured conflict strategy holds; every overwrite counted and reported", Body: body(row4), Faults: faultsRow4},
		{N: 5, Label: "plan-5", Spec: "when A and B are down C serves everyone, and when all are down clients get the status page and on-call is paged once",
			Expected: "C serves everyone; with all down, 503 with status page; alert received once", Body: body(row5), Faults: faultsRow5},
		{N: 6, Label: "plan-6", Spec: "when region A restarts quickly with a cold cache, it warms from its peers and cache hits come back",
			Expected: "cache warmup from peers; A's replicator receives entries; cache hits come back", Body: body(row6), Faults: faultsRow6},
		{N: 7, Label: "plan-7", Spec: "when an outage outlasts the session TTL, returning users get the expired-session answer and re-authenticate",
			Expected: "sessions expire via TTL; returning users get SESSION_EXPIRED and re-authenticate", Body: body(row7), Faults: faultsRow7},
	}
	rows = append(rows, Checklist()...)
	rows = append(rows, Security()...)
	rows = append(rows, Skew()...)
	return rows
}

// The faults each row injects, in order (engine.Row.Faults): what a dry
// run prints, and what the suite holds every run of the row to.
// row3Rate is the fraction of A's requests row 3 fails.
const row3Rate = 0.5

func faultsRow1(s topology.Spec) []fault.Fault {
	a, _, _ := regionNames(s)
	return []fault.Fault{fault.Pause{Region: a}}
}
func faultsRow2(s topology.Spec) []fault.Fault {
	a, _, _ := regionNames(s)
	return []fault.Fault{fault.HTTPStatus{Region: a, Code: 503}}
}
func faultsRow3(s topology.Spec) []fault.Fault {
	a, _, _ := regionNames(s)
	return []fault.Fault{fault.FailureRate{Region: a, Rate: row3Rate}}
}
func faultsRow4(s topology.Spec) []fault.Fault {
	a, _, _ := regionNames(s)
	var out []fault.Fault
	for _, l := range partitionLinks(s, a) {
		out = append(out, fault.Partition{Link: l, Mode: "timeout"})
	}
	return append(out, fault.Latency{Link: topology.DynamoLink(a), Latency: s.RegionHealthTimeout / 4})
}
func faultsRow5(s topology.Spec) []fault.Fault {
	a, b, c := regionNames(s)
	return []fault.Fault{pausedRegions(a, b), fault.Pause{Region: c}}
}
func faultsRow6(s topology.Spec) []fault.Fault {
	a, _, _ := regionNames(s)
	return []fault.Fault{fault.KillRestart{Region: a, ColdCache: true}}
}
func faultsRow7(s topology.Spec) []fault.Fault {
	a, _, _ := regionNames(s)
	return []fault.Fault{fault.LongOutage{Region: a}}
}

// pausedRegions is every listed region paused at once.
func pausedRegions(regions ...string) fault.Fault {
	return fault.RegionsDown{Regions: regions, Fault: func(reg string) fault.Fault { return fault.Pause{Region: reg} }}
}

// partitionLinks are the links row 4 cuts: A from the LB and its peers.
func partitionLinks(s topology.Spec, a string) []string {
	links := []string{topology.LBLink(a)}
	for _, p := range s.RegionNames() {
		if p != a {
			links = append(links, topology.PeerLink(p, a))
		}
	}
	return links
}

// RowByLabel looks a row up by label (or a checklist spec by its text).
func RowByLabel(label string) (engine.Row, bool) {
	for _, r := range Rows() {
		if r.Label == label || (r.N == 0 && r.Spec == label) {
			return r, true
		}
	}
	return engine.Row{}, false
}

// run is a row's view of the engine's run: the rows' shared steps are its methods.
type run struct{ *engine.Run }

// body adapts a row body to the engine.
func body(f func(ctx context.Context, r *run) error) func(ctx context.Context, r *engine.Run) error {
	return func(ctx context.Context, r *engine.Run) error { return f(ctx, &run{r}) }
}

func regionNames(s topology.Spec) (a, b, c string) {
	n := s.RegionNames()
	return n[0], n[1], n[2]
}

// userLoad is the default traffic of a row: users in all three client
// regions, each request bounded so a hung region cannot stall a user.
func (r *run) userLoad() traffic.Config {
	tries := r.Spec.Retry.Attempts
	if !r.Spec.Retry.Enabled || tries < 1 {
		tries = 1
	}
	return traffic.Config{
		Users:          9,
		Interval:       engine.UserPause,
		RequestTimeout: time.Duration(tries)*r.Spec.Retry.PerTryTimeout + time.Second,
		// Users keep talking until the row stops them; the loss checker
		// accounts for messages the 50-entry conversation bound evicts.
		MaxMessages: 1000,
		UserPrefix:  engine.UserPrefix,
	}
}

// begin starts the topology and the users' traffic and waits until region A
// has acknowledged some messages: the common opening of the fault rows.
// The caller stops the load.
func (r *run) begin(ctx context.Context) (a string, ld *engine.Load, err error) {
	return r.beginWith(ctx, 0)
}

// beginWith is begin with users simulated users (0: the default).
func (r *run) beginWith(ctx context.Context, users int) (a string, ld *engine.Load, err error) {
	if err = r.Up(ctx, r.Env.Spec); err != nil {
		return "", nil, err
	}
	a, _, _ = regionNames(r.Spec)
	cfg := r.userLoad()
	if users > 0 {
		cfg.Users = users
	}
	if ld, err = r.warmLoad(ctx, cfg, a); err != nil {
		return "", nil, err
	}
	return a, ld, nil
}

// warmLoad starts the users' traffic and waits until region a has
// acknowledged some of it (the traffic-before-fault evidence); without that
// the row's situation never formed: the load is stopped and the row is
// not judged (ErrNoScenario).
func (r *run) warmLoad(ctx context.Context, cfg traffic.Config, a string) (*engine.Load, error) {
	ld := r.StartLoad(ctx, cfg)
	if w := r.Out.Add(r.Warm(ctx, a)); !w.OK {
		ld.Stop()
		return nil, engine.ErrNoScenario
	}
	return ld, nil
}

// waitUsersContinue waits until every user got an ack after since.
func (r *run) waitUsersContinue(ctx context.Context, since time.Time, deadline time.Duration) {
	_ = r.Wait(ctx, deadline, "every user to continue", func() bool {
		active, ok := map[string]bool{}, map[string]bool{}
		r.History.Each(func(op *history.Op) {
			if !strings.HasPrefix(op.User, engine.UserPrefix) || op.Kind == history.KindRead {
				return
			}
			active[op.User] = true
			if op.Kind == history.KindMessage && op.OK() && op.Start.After(since) {
				ok[op.User] = true
			}
		})
		return len(ok) == len(active)
	})
}

// failback heals and judges the return: the regions back in the LB's
// rotation and in every router's view within their bounds, and staying
// there; then every user is served once more (the loss checks that follow
// read those messages back too).
func (r *run) failback(ctx context.Context, heal engine.HealFunc, sessions []string, regions ...string) error {
	h, err := r.Heal(ctx, heal)
	if err != nil {
		return fmt.Errorf("heal: %w", err)
	}
	r.Failback(ctx, h, regions...)
	r.UsersReturn(ctx, sessions, engine.MarkDeadline(r.RTOBound()))
	return nil
}

// errorSample is how many user requests after the calm point the error-rate
// test wants: enough to tell a 2% objective from a broken region.
const errorSample = 120

// settleAfter lets traffic run until n user requests started after t (or
// the deadline, counted from t): the sample the error-rate test judges.
func (r *run) settleAfter(ctx context.Context, t time.Time, n int, deadline time.Duration) {
	if t.IsZero() {
		return
	}
	_ = r.Wait(ctx, time.Until(t)+deadline, fmt.Sprintf("%d requests after +%.2fs", n, t.Sub(r.Out.Started).Seconds()), func() bool {
		return r.Count(func(op *history.Op) bool {
			return strings.HasPrefix(op.User, engine.UserPrefix) && op.Kind != history.KindRead && op.Start.After(t)
		}) >= n
	})
}

// settle lets traffic run until n more messages are acknowledged (or deadline).
func (r *run) settle(ctx context.Context, n int, deadline time.Duration) {
	base := r.Acked()
	_ = r.Wait(ctx, deadline, fmt.Sprintf("%d more acks", n), func() bool { return r.Acked() >= base+n })
}

// availability adds what every fault row asks of its users' experience: the
// longest wait for an answer from the fault on, and the availability error
// rate once the region left rotation and the requests in flight to it are
// done (calm; zero when it never left).
func (r *run) availability(faultStart, calm, until time.Time, rto bounds.Duration) {
	ops := r.UserOps()
	r.Out.Add(check.RTO(ops, faultStart, until, rto))
	if !calm.IsZero() && calm.Before(until) {
		r.Out.Add(check.ErrorRate(ops, calm, until, r.Env.TolerableErrorRate(), r.Env.Alpha()))
	}
}

// lossChecks reads sessions back and judges what ops acknowledged in them:
// version-wins and merge lose nothing; last-write-wins may overwrite, but
// every overwritten acknowledged message must be reported by id (checked
// when overwrites is set; the reports also tell which of two forked
// writes went on, see check.Lost). Then, the row's last step, whether
// traffic returned to the weights.
func (r *run) lossChecks(ctx context.Context, ops []history.Op, sessions []string, overwrites bool) error {
	final, err := r.ReadFinal(ctx, sessions)
	reported, rerr := r.overwriteReports(ctx)
	l := check.Lost(ops, final, r.MaxMessages(), reported, r.Spec.SessionTTL)
	strategy := r.Spec.ConflictStrategy
	rpo := bounds.RPOFor(r.Spec.CheckpointPolicy, r.Spec.CheckpointInterval)
	if strategy == "last-write-wins" {
		rpo = bounds.RPO{Unbounded: true, Messages: "last-write-wins keeps the last writer's conversation: concurrent acknowledged messages are overwritten, and each must be reported"}
	} else {
		r.Out.Add(check.LostAcked(l))
	}
	r.Out.Add(check.VersionsMonotonic(ops))
	r.linearizable()
	r.Out.Add(check.RPO(l, rpo))
	if overwrites {
		if rerr != nil {
			return errors.Join(err, rerr)
		}
		r.Out.Add(check.NoSilentOverwrite(l, reported, strategy))
	}
	// Last: new sessions split by the weights again, once the users'
	// sessions were read back (they must not idle past their TTL first).
	r.TrafficReturns(ctx)
	return err
}

// linearizable runs the porcupine check over every session the row touched
// (all its clients, the requests its end cut off, the final reads), where
// the configuration promises linearizable sessions.
func (r *run) linearizable() {
	if ok, why := check.LinearizableApplies(r.Spec.CheckpointPolicy, r.Spec.ConflictStrategy); !ok {
		r.Spec.Logf("linearizability not judged: %s", why)
		return
	}
	all := append(append(r.History.Ops(), r.History.Abandoned()...), r.FinalReads()...)
	r.Out.Add(check.Linearizable(all, check.LinearizableOptions{MaxMessages: r.MaxMessages(), Dir: r.Spec.RunDir}))
}

// overwriteReports collects "session/message" of every message a region
// reported overwriting (GET /regions/overwrites on each region).
func (r *run) overwriteReports(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	var errs []error
	for _, reg := range r.Cluster.Regions() {
		var body struct {
			Overwrites []struct {
				SessionID  string   `json:"session_id"`
				MessageIDs []string `json:"message_ids"`
			} `json:"overwrites"`
		}
		if err := getJSON(ctx, reg.URL+"/regions/overwrites", r.Cluster.AdminToken(), &body); err != nil {
			errs = append(errs, fmt.Errorf("overwrite reports of %s: %w", reg.Name, err))
			continue
		}
		for _, o := range body.Overwrites {
			for _, id := range o.MessageIDs {
				out[o.SessionID+"/"+id] = true
			}
		}
	}
	return out, errors.Join(errs...)
}

func row1(ctx context.Context, r *run) error {
	a, ld, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer ld.Stop()
	return r.freezeFailover(ctx, ld, a, nil, func(context.Context) error {
		k := max(r.Env.TimeScale, 1)
		r.Out.Add(check.AcksDurable(r.History.Ops(), r.Spec.CheckpointPolicy, r.Spec.CheckpointInterval, time.Duration(float64(r.Spec.CheckpointInterval)*k)))
		return nil
	})
}

// freezeFailover is row 1's failover: region a frozen with work on its way
// to it, detection, every user continuing, availability, then (after
// beforeFailback, for a row's own checks and heals) the failback and the
// loss checks. faulted, when set, runs right after the fault took effect.
func (r *run) freezeFailover(ctx context.Context, ld *engine.Load, a string, faulted func(), beforeFailback func(context.Context) error) error {
	det, rto := r.DetectionBound(), r.RTOBound()
	// Break A with work on its way to it: freeze it while requests for
	// sessions it serves are in flight.
	homed := r.HomedOn(a)
	pending, heal, f, err := r.freezeInFlight(ctx, ld, homed, a)
	if err != nil {
		return err
	}
	r.Out.Event("fault injected")
	if faulted != nil {
		faulted()
	}
	marked := r.WaitMarked(ctx, a, f.Start, engine.MarkDeadline(det), false)
	calm := calmAfter(marked, r.InFlightBound())
	if !marked.IsZero() {
		r.Out.EventAt("detected", marked)
		r.waitUsersContinue(ctx, marked, engine.MarkDeadline(rto))
	}
	r.settleAfter(ctx, calm, errorSample, 3*time.Second)
	res, _ := ld.Stop()

	r.Out.Add(r.caught(pending, homed, a, f, marked))
	st, err := r.LBStatus(ctx)
	if err != nil {
		return err
	}
	r.Out.Add(check.DetectionTime(f, st.Transitions, a, false, det))
	r.Out.Add(check.EveryUserContinues(r.UserOps(), f.Start))
	r.availability(f.Start, calm, ld.Stopped, rto)
	if err := beforeFailback(ctx); err != nil {
		return err
	}
	if err := r.failback(ctx, heal, res.All, a); err != nil {
		return err
	}
	return r.lossChecks(ctx, r.History.Ops(), res.All, false)
}

func calmAfter(marked time.Time, inflight bounds.Duration) time.Time {
	if marked.IsZero() {
		return time.Time{}
	}
	return marked.Add(inflight.Total())
}

// freezeInFlight pauses region as soon as requests for sessions it serves
// are in flight (waiting at most two seconds), and returns those requests.
func (r *run) freezeInFlight(ctx context.Context, ld *engine.Load, homed map[string]bool, region string) ([]traffic.Pending, engine.HealFunc, check.Fault, error) {
	var pending []traffic.Pending
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	tick := time.NewTicker(200 * time.Microsecond)
	for wctx.Err() == nil && len(pending) == 0 {
		for _, p := range ld.Client.InFlight() {
			if p.Kind == history.KindMessage && homed[p.Session] {
				pending = append(pending, p)
			}
		}
		if len(pending) == 0 {
			select {
			case <-wctx.Done():
			case <-tick.C:
			}
		}
	}
	tick.Stop()
	cancel()
	heal, at, err := r.Inject(ctx, fault.Pause{Region: region})
	return pending, heal, at, err
}

// caught is the evidence that row 1 froze A with work on its way: requests
// for sessions A served that were outstanding once the freeze was surely in
// effect (f.End) and sent before A left rotation, and that A did not answer
// (the LB retried them elsewhere, or they failed). Those already in flight
// when the freeze began are counted apart: a freeze can take a while (a
// docker pause), and what it catches on the way is what matters.
func (r *run) caught(pending []traffic.Pending, homed map[string]bool, region string, f check.Fault, marked time.Time) check.Result {
	until := marked
	if until.IsZero() {
		until = f.End.Add(r.DetectionBound().Total())
	}
	started := map[string]time.Time{}
	for _, p := range pending {
		started[p.User] = p.Start
	}
	n, early := 0, 0
	r.History.Each(func(op *history.Op) {
		if op.Kind != history.KindMessage || !homed[op.Session] || !op.Start.Before(until) || !op.End.After(f.End) {
			return
		}
		if op.ServedBy == region && op.OK() {
			return // answered by A: not caught
		}
		n++
		if t, ok := started[op.User]; ok && t.Equal(op.Start) {
			early++
		}
	})
	return check.Seen("requests-in-flight-at-fault("+region+")", n > 0, float64(n),
		"%d requests for sessions %s served reached it frozen and were not answered by it (retried elsewhere or failed), %d of them already in flight when the freeze began",
		n, region, early)
}

func row2(ctx context.Context, r *run) error {
	a, ld, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer ld.Stop()
	det, inflight := r.DetectionBound(), r.InFlightBound()
	st0, err := r.LBStatus(ctx)
	if err != nil {
		return err
	}
	reg0, _ := st0.Region(a)
	heal, f, err := r.Inject(ctx, fault.HTTPStatus{Region: a, Code: 503})
	if err != nil {
		return err
	}
	r.Out.Event("fault injected")
	marked := r.WaitMarked(ctx, a, f.Start, engine.MarkDeadline(det), true) // the health check's verdict, not an ejection
	var before, tried int64
	if !marked.IsZero() {
		r.Out.EventAt("detected", marked)
		st, err := r.LBStatus(ctx)
		if err != nil {
			return err
		}
		reg, _ := st.Region(a)
		tried = reg.Requests - reg0.Requests
		// Requests routed to A before it left rotation may still reach it;
		// count from when every request sent before the mark is answered.
		_ = r.WaitAnswered(ctx, ld.Client, marked, engine.MarkDeadline(inflight))
		if st, err = r.LBStatus(ctx); err != nil {
			return err
		}
		reg, _ = st.Region(a)
		before = reg.Requests
		// Hold as long as an ejection (the passive fallback) would last and
		// a few rounds more, counted in the LB's own rounds: an ejection
		// expiring would let A back in were the health checks not holding it out.
		need := int(math.Ceil(float64(r.Spec.Outlier.Ejection)/float64(r.Spec.LBHealth.Interval))) + 3
		got := r.WaitRounds(ctx, need, fmt.Sprintf("%d LB health rounds", need))
		r.Out.Add(check.Seen("observed-past-ejection", got >= need, float64(got), "watched %d LB health rounds after the mark (want %d: an ejection of %v plus 3)", got, need, r.Spec.Outlier.Ejection))
		r.settleAfter(ctx, calmAfter(marked, inflight), errorSample, 3*time.Second)
	}
	res, _ := ld.Stop()
	st, err := r.LBStatus(ctx)
	if err != nil {
		return err
	}
	r.Out.Add(check.Seen("region-answered-503("+a+")", marked.IsZero() || tried > 0, float64(tried), "the LB sent %d tries to %s while it answered 503, before it left rotation", tried, a))
	r.Out.Add(check.DetectionTime(f, st.Transitions, a, true, det))
	reg, _ := st.Region(a)
	name := "no-new-traffic-after-detection(" + a + ")"
	if marked.IsZero() {
		r.Out.Add(check.Live(name, false, float64(reg.Requests), "%s was never marked, so it kept receiving traffic (%d requests)", a, reg.Requests))
	} else {
		n := reg.Requests - before
		r.Out.Add(check.Live(name, n == 0 && reg.Status != "active", float64(n),
			"%d tries reached %s after it was marked and every request sent before was answered (LB attempt counter %d -> %d); status now %s", n, a, before, reg.Requests, reg.Status))
		r.Out.Add(check.NoTrafficAfterDown(r.UserOps(), a, marked, inflight))
	}
	r.availability(f.Start, calmAfter(marked, inflight), ld.Stopped, r.RTOBound())
	if err := r.failback(ctx, heal, res.All, a); err != nil {
		return err
	}
	return r.lossChecks(ctx, r.History.Ops(), res.All, false)
}

func row3(ctx context.Context, r *run) error {
	// Twice the users: the error-rate test judges the short while A is in
	// rotation, and needs requests enough in it to tell a broken region
	// from the objective at a 1e-4 false-alarm rate.
	a, ld, err := r.beginWith(ctx, 18)
	if err != nil {
		return err
	}
	defer ld.Stop()
	const rate = row3Rate
	st0, err := r.LBStatus(ctx)
	if err != nil {
		return err
	}
	reg0, _ := st0.Region(a)
	heal, f, err := r.Inject(ctx, fault.FailureRate{Region: a, Rate: rate})
	if err != nil {
		return err
	}
	r.Out.Event("fault injected")
	// Probes fail at random: A's verdict needs threshold failures in a row,
	// so the bound is the number of rounds within which that happens but
	// with probability alpha (an ejection by real traffic only helps).
	thr := r.Spec.LBHealth.FailureThreshold
	n := stats.RoundsForRun(rate, thr, r.Env.Alpha())
	det := r.Allow().Measured(bounds.Rounds(r.LBProbe(), n,
		fmt.Sprintf("%d failed probes in a row at %.0f%% failures come within them but with probability %g", thr, 100*rate, r.Env.Alpha())), false)
	marked := r.WaitMarked(ctx, a, f.Start, engine.MarkDeadline(det), false)
	if !marked.IsZero() {
		r.Out.EventAt("detected", marked)
	}
	r.settle(ctx, 150, 5*time.Second)
	faultEnd := time.Now()
	res, _ := ld.Stop()
	st, err := r.LBStatus(ctx)
	if err != nil {
		return err
	}
	reg, _ := st.Region(a)
	tried := reg.Requests - reg0.Requests
	r.Out.Add(check.Seen("region-took-traffic-while-failing("+a+")", tried > 0, float64(tried), "the LB sent %d tries to %s while half its answers were 503", tried, a))
	r.Out.Add(check.DetectionTime(f, st.Transitions, a, false, det))
	ops := r.UserOps()
	// Graceful degradation: while A is in rotation answering half its
	// requests with 503, clients barely notice. Once it is out, any config
	// is clean, so the sample ends there (or with the fault).
	degraded := faultEnd
	if !marked.IsZero() && marked.Before(degraded) {
		degraded = marked // requests sent after it were routed elsewhere
	}
	r.Out.Add(check.ErrorRate(ops, f.Start, degraded, r.Env.TolerableErrorRate(), r.Env.Alpha()))
	r.Out.Add(check.RTO(ops, f.Start, ld.Stopped, r.Allow().Measured(bounds.Recovery(bounds.Rounds(r.LBProbe(), n, "as detection"), r.Retry()), true)))
	if err := r.failback(ctx, heal, res.All, a); err != nil {
		return err
	}
	return r.lossChecks(ctx, r.History.Ops(), res.All, false)
}

func row4(ctx context.Context, r *run) error {
	a, ld, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer ld.Stop()
	det := r.DetectionBound()
	// A is cut off from the LB and its peers (probes time out); it still
	// reaches the global store, slowly, as a region on the far side of a
	// congested link does.
	var heals []engine.HealFunc
	links := partitionLinks(r.Spec, a)
	var f check.Fault // from the first cut's start to the last one's end
	for i, l := range links {
		h, at, err := r.Inject(ctx, fault.Partition{Link: l, Mode: "timeout"})
		if err != nil {
			return err
		}
		heals, f.End = append(heals, h), at.End
		if i == 0 {
			f.Start = at.Start
		}
	}
	// Slow, not cut: a quarter of the region's store timeout each way
	// (region_health.timeout bounds its store calls), so A's writes still land.
	h, _, err := r.Inject(ctx, fault.Latency{Link: topology.DynamoLink(a), Latency: r.Spec.RegionHealthTimeout / 4})
	if err != nil {
		return err
	}
	heals = append(heals, h)
	r.Out.Event("partition")

	marked := r.WaitMarked(ctx, a, f.Start, engine.MarkDeadline(det), false)
	if !marked.IsZero() {
		r.Out.EventAt("detected", marked)
	}
	// Split brain: clients whose DNS still points at A keep writing to the
	// sessions A served while the LB sends the same users to B, until the
	// two sides have raced on enough sessions.
	split := r.splitBrain(ctx, a, f.Start, 3, 3*time.Second)
	healed, err := r.Heal(ctx, func(ctx context.Context) error {
		for i := len(heals) - 1; i >= 0; i-- { // newest first
			if err := heals[i](ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The return happens under traffic: A's users come back to it.
	r.Failback(ctx, healed, a)
	r.settleAfter(ctx, calmAfter(marked, r.InFlightBound()), errorSample, 3*time.Second)
	r.settle(ctx, 40, 3*time.Second)
	res, _ := ld.Stop()

	r.Out.Add(split)
	st, err := r.LBStatus(ctx)
	if err != nil {
		return err
	}
	r.Out.Add(check.DetectionTime(f, st.Transitions, a, false, det))
	r.availability(f.Start, calmAfter(marked, r.InFlightBound()), ld.Stopped, r.RTOBound())
	r.UsersReturn(ctx, res.All, engine.MarkDeadline(r.RTOBound()))
	// Every acknowledgement counts, the stale-DNS writers' too.
	return r.lossChecks(ctx, r.History.Ops(), res.All, true)
}

// splitBrain writes, directly to region's front door, into the sessions
// that region served before the fault, concurrently with the LB's users on
// the other side, until at least want sessions were acknowledged from both
// sides with overlapping read-modify-write pairs (or deadline). It returns
// the evidence.
func (r *run) splitBrain(ctx context.Context, region string, since time.Time, want int, deadline time.Duration) check.Result {
	var url string
	for _, reg := range r.Cluster.Regions() {
		if reg.Name == region {
			url = reg.URL
		}
	}
	sessions := map[string]string{}
	for _, op := range r.History.Ops() {
		if op.Kind == history.KindMessage && op.OK() && op.ServedBy == region && op.Session != "" {
			sessions[op.Session] = op.User
		}
	}
	want = min(want, len(sessions))
	cl := traffic.NewClient(traffic.Config{LBURL: url, RequestTimeout: time.Second}, r.History)
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for s, u := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; wctx.Err() == nil && i <= 200; i++ {
				cl.SendMessage(wctx, "stale-dns-"+u, region, s, fmt.Sprintf("m-stale-%s-%d-%d", u, r.Spec.Seed, i))
			}
		}()
	}
	var ev raceEvidence
	_ = r.Wait(ctx, deadline, "the split brain to form", func() bool {
		ev = raceOn(r.History.Ops(), region, since)
		return want > 0 && ev.sessions >= want
	})
	cancel()
	wg.Wait()
	ev = raceOn(r.History.Ops(), region, since)
	return check.Seen("split-brain-formed", want > 0 && ev.sessions >= want, float64(ev.sessions),
		"%d sessions acknowledged writes from both sides of the partition (want %d of the %d %s served), with %d overlapping read-modify-write pairs; %d conflicts answered 409",
		ev.sessions, want, len(sessions), region, ev.pairs, ev.conflicts)
}

type raceEvidence struct{ sessions, pairs, conflicts int }

// raceOn counts, per session, writes acknowledged on region's side (the
// stale-DNS writers) and on the other side (LB users served elsewhere)
// since the partition, and the pairs of them whose intervals overlap.
func raceOn(ops []history.Op, region string, since time.Time) raceEvidence {
	type sides struct{ a, b []history.Op }
	by := map[string]*sides{}
	var ev raceEvidence
	for _, op := range ops {
		if op.Kind != history.KindMessage || op.Start.Before(since) {
			continue
		}
		if op.Status == http.StatusConflict {
			ev.conflicts++
		}
		if !op.OK() && op.Status != http.StatusConflict {
			continue
		}
		s := by[op.Session]
		if s == nil {
			s = &sides{}
			by[op.Session] = s
		}
		if op.ServedBy == region {
			s.a = append(s.a, op)
		} else if op.ServedBy != "" {
			s.b = append(s.b, op)
		}
	}
	for _, s := range by {
		ackA, ackB := false, false
		for _, x := range s.a {
			ackA = ackA || x.OK()
			for _, y := range s.b {
				if x.Start.Before(y.End) && y.Start.Before(x.End) {
					ev.pairs++
				}
			}
		}
		for _, y := range s.b {
			ackB = ackB || y.OK()
		}
		if ackA && ackB {
			ev.sessions++
		}
	}
	return ev
}

func row5(ctx context.Context, r *run) error {
	a, ld, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer ld.Stop()
	_, b, c := regionNames(r.Spec)
	det, rto, inflight := r.DetectionBound(), r.RTOBound(), r.InFlightBound()
	healAB, f, err := r.Inject(ctx, pausedRegions(a, b))
	if err != nil {
		return err
	}
	r.Out.Event("A and B down")
	ma := r.WaitMarked(ctx, a, f.Start, engine.MarkDeadline(det), false)
	mb := r.WaitMarked(ctx, b, f.Start, engine.MarkDeadline(det), false)
	var calm time.Time
	if !ma.IsZero() && !mb.IsZero() {
		last := ma
		if mb.After(last) {
			last = mb
		}
		r.Out.EventAt("detected", last)
		calm = last.Add(inflight.Total())
		r.waitUsersContinue(ctx, calm, engine.MarkDeadline(rto))
	}
	r.settleAfter(ctx, calm, errorSample, 3*time.Second)
	res, _ := ld.Stop()
	st, err := r.LBStatus(ctx)
	if err != nil {
		return err
	}
	r.Out.Add(check.DetectionTime(f, st.Transitions, a, false, det))
	r.Out.Add(check.DetectionTime(f, st.Transitions, b, false, det))
	ops := r.UserOps()
	if !calm.IsZero() {
		r.Out.Add(check.NoTrafficAfterDown(ops, a, ma, inflight))
		r.Out.Add(check.NoTrafficAfterDown(ops, b, mb, inflight))
		r.Out.Add(check.ServedOnlyBy(ops, c, calm))
		r.Out.Add(check.EveryUserContinues(ops, calm))
	}
	r.availability(f.Start, calm, ld.Stopped, rto)

	// Then C goes too: nobody is left.
	healC, allDown, err := r.Inject(ctx, fault.Pause{Region: c})
	if err != nil {
		return err
	}
	r.Out.Event("C down")
	r.WaitMarked(ctx, c, allDown.Start, engine.MarkDeadline(det), false)
	r.Out.Add(r.statusPage(ctx))
	const alertName = "NoHealthyRegion"
	// What on-call receives: the LB's page, or an Alertmanager's notification.
	page := r.AlertBound()
	_ = r.Wait(ctx, engine.MarkDeadline(page), "an alert at on-call", func() bool { return len(r.Cluster.Alerts()) > 0 })
	r.Out.Add(check.AlertReceived(r.Cluster.Alerts(), alertName, allDown, page))
	// Several more probe rounds with every region down: a storm would show here.
	rounds := r.WaitRounds(ctx, 10, "ten LB health rounds with every region down")
	r.Out.Add(check.Seen("alert-storm-watched", rounds >= 10, float64(rounds), "watched %d LB health rounds with every region down after the alert (want 10)", rounds))

	// The incident ends: every region returns, on-call hears it is over
	// once, and nobody is paged again.
	h, err := r.Heal(ctx, func(ctx context.Context) error { return errors.Join(healC(ctx), healAB(ctx)) }) // newest first
	if err != nil {
		return fmt.Errorf("heal: %w", err)
	}
	r.Failback(ctx, h, a, b, c)
	r.alertResolved(ctx, alertName, allDown.Start, h, a, b, c)
	r.Out.Add(check.AlertOnce(r.Cluster.Alerts(), alertName, allDown.Start, rounds))
	r.UsersReturn(ctx, res.All, engine.MarkDeadline(rto))
	return r.lossChecks(ctx, r.History.Ops(), res.All, false)
}

// alertResolved judges the resolved notification of the incident that
// began at since, once the first of regions returned to the LB's rotation
// after the heal h: one, within the resolve bound.
func (r *run) alertResolved(ctx context.Context, name string, since time.Time, h check.Heal, regions ...string) {
	st, err := r.LBStatus(ctx)
	if err != nil {
		return
	}
	first := time.Time{}
	for _, reg := range regions {
		if at := check.ReturnedAt(st.Transitions, reg, h.Start); !at.IsZero() && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	_ = r.Wait(ctx, engine.MarkDeadline(r.AlertResolveBound()), "the resolved notification", func() bool { return check.Resolved(r.Cluster.Alerts(), name, since) > 0 })
	r.Out.Add(check.AlertResolved(r.Cluster.Alerts(), name, since, first, r.AlertResolveBound()))
}

func row6(ctx context.Context, r *run) error {
	if err := r.Up(ctx, r.Env.Spec); err != nil {
		return err
	}
	a, b, _ := regionNames(r.Spec)
	// Light background traffic: every answer is cached and replicated, and a
	// cold region pulls only its peers' newest entries (the export limit),
	// so a heavy load would crowd out the answers this row asks for again.
	// Nine users (some surely homed on A) at half the usual pace.
	bg := r.userLoad()
	bg.Interval = 2 * engine.UserPause
	ld, err := r.warmLoad(ctx, bg, a)
	if err != nil {
		return err
	}
	defer ld.Stop()
	urls := map[string]string{}
	for _, reg := range r.Cluster.Regions() {
		urls[reg.Name] = reg.URL
	}
	// Questions of this row alone: a deployment that outlives rows (an
	// external target) still caches the last run's answers, whose entries
	// are older than this row's and would not come back as fresh ones.
	prompts := make([]string, 12)
	for i := range prompts {
		prompts[i] = fmt.Sprintf("what is the status of ticket %d?", r.Spec.Seed%1_000_000*100+int64(i)+1)
	}
	// Users of B ask questions; their answers are cached in B and
	// replicated to A and C. Each answer's arrival bounds its entry's age.
	cb := traffic.NewClient(traffic.Config{LBURL: urls[b], RequestTimeout: 2 * time.Second}, r.History)
	sb := fmt.Sprintf("s-cache-b-%d", r.Spec.Seed)
	if op := cb.CreateSession(ctx, history.KindCreate, "cache-user-b", b, sb); !op.OK() {
		return fmt.Errorf("create session on %s: status %d %s", b, op.Status, op.Error)
	}
	cachedAt := make([]time.Time, len(prompts))
	answered := 0
	for i, p := range prompts {
		op := cb.SendPrompt(ctx, "cache-user-b", b, sb, fmt.Sprintf("m-b-%d", i), p)
		cachedAt[i] = op.End
		if op.OK() {
			answered++
		}
	}
	if s := r.Out.Add(check.Seen("peers-cached-answers("+b+")", answered == len(prompts), float64(answered),
		"%s answered %d of %d questions before %s's restart", b, answered, len(prompts), a)); !s.OK {
		return engine.ErrNoScenario
	}
	// An answer is cached best-effort (a cache write that times out costs
	// only a future hit), so B asked again proves which answers its cache
	// holds: A can only pull those.
	inB := make([]bool, len(prompts))
	held := 0
	for i, p := range prompts {
		if op := cb.SendPrompt(ctx, "cache-user-b", b, sb, fmt.Sprintf("m-b-again-%d", i), p); op.OK() && op.Cache == "hit" {
			inB[i] = true
			held++
		}
	}
	if s := r.Out.Add(check.Seen("peers-hold-answers("+b+")", held > 0, float64(held),
		"%s's cache holds %d of the %d answers (asked again, each a hit)", b, held, len(prompts))); !s.OK {
		return engine.ErrNoScenario
	}
	_ = r.Wait(ctx, 3*time.Second, "replication to "+a, func() bool {
		m, err := r.Cluster.Metrics(ctx, a)
		return err == nil && topology.MetricSum(m, "cache_warmup_received_total", nil) >= float64(len(prompts))
	})

	_, kr, err := r.Inject(ctx, fault.KillRestart{Region: a, ColdCache: true})
	if err != nil {
		return err
	}
	t0, restarted := kr.Start, kr.End // the kill, and the restart answering
	r.Out.EventAt("kill + cold restart", t0)
	r.Out.EventAt("restarted", restarted)
	// A restarted region must be warm before it serves anything: the
	// questions B's users asked go to A at once, racing nothing but A's own
	// start. Every one whose entry was fresh when A started must hit.
	ca := traffic.NewClient(traffic.Config{LBURL: urls[a], RequestTimeout: 2 * time.Second}, r.History)
	sa := fmt.Sprintf("s-cache-a-%d", r.Spec.Seed)
	if op := r.createAfterRestart(ctx, ca, "cache-user-a", a, sa); !op.OK() {
		return fmt.Errorf("create session on %s after restart: status %d %s", a, op.Status, op.Error)
	}
	hit := make([]bool, len(prompts))
	for i, p := range prompts {
		op := ca.SendPrompt(ctx, "cache-user-a", a, sa, fmt.Sprintf("m-a-%d", i), p)
		hit[i] = op.OK() && op.Cache == "hit"
	}
	// A's pull ran before it served: its metrics say how it went.
	var pulled, unanswered float64
	_ = r.Wait(ctx, 5*time.Second, a+"'s metrics", func() bool {
		m, err := r.Cluster.Metrics(ctx, a)
		if err != nil {
			return false
		}
		// pulled only: live broadcasts from the background traffic arrive
		// whether or not the cold region asked for its peers' entries
		pulled = topology.MetricSum(m, "cache_warmup_pulled_total", nil)
		unanswered = topology.MetricSum(m, "cache_warmup_pull_unanswered_peers", nil)
		return true
	})
	if unanswered > 0 {
		// Peers that do not answer within the send timeout (health.timeout)
		// leave A to serve cold, by design: the warm start did not form. A
		// peer that answered with an error is not excused here.
		r.Out.Add(check.Seen("warmup-pull-answered("+a+")", false, unanswered,
			"%.0f of %s's peers did not answer its pull within its send timeout (region_health.timeout %s): it served cold by design; warm-before-serving is not judged", unanswered, a, r.Spec.RegionHealthTimeout))
		return engine.ErrNoScenario
	}
	r.Out.Add(check.Live("replicator-receives-entries("+a+")", pulled > 0, pulled, "%s pulled %.0f cache entries from its peers after the cold restart", a, pulled))

	// Entries fresher than the staleness bound when A pulled them (before
	// it answered its restart, at the latest) must come back as hits; older
	// ones were rightly dropped. Ages are on the harness's clock, from B's
	// answer to A answering again.
	stale := r.Spec.WarmupStaleness
	fresh, hits, freshHits := 0, 0, 0
	for i, at := range cachedAt {
		if hit[i] {
			hits++
		}
		if inB[i] && restarted.Sub(at) < stale {
			fresh++
			if hit[i] {
				freshHits++
			}
		}
	}
	r.Out.Add(check.Seen("entries-fresh-at-pull("+a+")", fresh > 0, float64(fresh),
		"%d of the %d entries %s holds were younger than the %v staleness bound when %s restarted (restart took %s)", fresh, held, b, stale, a, bounds.Round(restarted.Sub(t0))))
	ratio := float64(hits) / float64(len(prompts))
	r.Out.Add(check.Live("warm-before-serving("+a+")", freshHits == fresh, ratio,
		"%d/%d of the first requests %s served after its cold restart, sent the moment it answered again, were cache hits; %d entries %s held were fresh when it restarted, each must hit (%d did)", hits, len(prompts), a, fresh, b, freshHits))
	return r.afterRestart(ctx, ld, a, t0, restarted)
}

// createAfterRestart creates a session on a region that has just
// restarted, retrying (as a user would) while its store connection is new:
// a 503 in its first moments is the region starting, not the scenario
// failing. Its pull from the peers ran before it served at all.
func (r *run) createAfterRestart(ctx context.Context, cl *traffic.Client, user, region, session string) history.Op {
	var op history.Op
	_ = r.Wait(ctx, engine.MarkDeadline(r.RTOBound()), "a session on "+region+" after its restart", func() bool {
		op = cl.CreateSession(ctx, history.KindCreate, user, region, session)
		return op.OK() || (op.Status >= 400 && op.Status < 500)
	})
	return op
}

// afterRestart ends a row whose fault was a kill and restart of region a
// (killed at t0, answering again at restarted): availability once the
// in-flight requests settled, a's return (the restart is the heal: a back
// in the LB's rotation and staying), the users served again, then the loss
// checks.
func (r *run) afterRestart(ctx context.Context, ld *engine.Load, a string, t0, restarted time.Time) error {
	st, err := r.LBStatus(ctx)
	if err != nil {
		return err
	}
	calm := restarted
	if m := check.MarkedAt(st.Transitions, a, t0, false); !m.IsZero() && m.After(calm) {
		calm = m
	}
	calm = calm.Add(r.InFlightBound().Total())
	r.settleAfter(ctx, calm, errorSample, 3*time.Second)
	res, _ := ld.Stop()
	r.availability(t0, calm, ld.Stopped, r.RTOBound())
	r.Failback(ctx, check.Heal{Start: t0, End: restarted}, a)
	r.UsersReturn(ctx, res.All, engine.MarkDeadline(r.RTOBound()))
	return r.lossChecks(ctx, r.History.Ops(), res.All, false)
}

// maxOutage is the longest outage row 7 will wait for sessions to expire.
const maxOutage = 4 * time.Minute

func row7(ctx context.Context, r *run) error {
	if err := r.Up(ctx, r.Env.Spec); err != nil {
		return err
	}
	a, _, _ := regionNames(r.Spec)
	ttl := r.Spec.SessionTTL
	det := r.DetectionBound()
	// Active users talk through the whole outage (their activity keeps
	// their sessions alive); returning users go quiet before it.
	ld := r.StartLoad(ctx, r.userLoad())
	defer ld.Stop()
	cfg := r.userLoad()
	cfg.Users, cfg.MaxMessages, cfg.UserPrefix = 6, 3, "returning-"
	ret := r.StartLoad(ctx, cfg)
	res, _ := ret.Await(ctx)
	if s := r.Out.Add(check.Seen("sessions-before-outage", len(res.Sessions) > 0, float64(len(res.Sessions)), "%d returning users had sessions before the outage", len(res.Sessions))); !s.OK {
		return engine.ErrNoScenario
	}
	t0 := time.Now()
	heal, f, err := r.Inject(ctx, fault.LongOutage{Region: a})
	if err != nil {
		return err
	}
	r.Out.EventAt("long outage", t0)
	// The outage outlasts the TTL, and lasts until the returning users'
	// sessions have expired, as the system says (a read answers 410).
	cl := traffic.NewClient(traffic.Config{LBURL: r.Cluster.LBURL(), RequestTimeout: 2 * time.Second}, history.New())
	var canary string
	for _, s := range res.Sessions {
		canary = s
		break
	}
	// A TTL too long to wait out (a run that could not be compressed
	// enough) cannot be outlasted: beyond a few minutes the row says so
	// (INCONCLUSIVE) rather than wait an hour.
	deadline := ttl*3/2 + 3*time.Second
	if deadline > maxOutage {
		deadline = 5 * time.Second
	}
	_ = r.Wait(ctx, deadline, "sessions to expire", func() bool {
		if time.Since(t0) <= ttl {
			return false
		}
		op, _ := cl.ReadSession(ctx, "canary", "", canary)
		return op.Status == http.StatusGone
	})
	// Returning users come back while A is still down: their sessions are
	// read by the regions that took A's place, whose clocks may not be the
	// clock that wrote the expiry.
	outage := time.Since(t0)
	lb := traffic.NewClient(traffic.Config{LBURL: r.Cluster.LBURL(), RequestTimeout: 2 * time.Second}, r.History)
	expired, reauthed, total := 0, 0, 0
	for u, s := range res.Sessions {
		total++
		op := lb.SendMessage(ctx, u, "", s, fmt.Sprintf("m-return-%s-%d", u, r.Spec.Seed))
		if op.Status == http.StatusGone && op.Code == "SESSION_EXPIRED" {
			expired++
			ns := fmt.Sprintf("%s-reauth-%d", s, r.Spec.Seed)
			if c := lb.CreateSession(ctx, history.KindReauth, u, "", ns); c.OK() {
				if m := lb.SendMessage(ctx, u, "", ns, fmt.Sprintf("m-after-%s-%d", u, r.Spec.Seed)); m.OK() {
					reauthed++
				}
			}
		}
	}
	healed, err := r.Heal(ctx, heal)
	if err != nil {
		return err
	}
	r.Out.Event("outage over")
	r.Failback(ctx, healed, a)
	// Every returning user was idle since before the outage began, so each
	// session's TTL had run out by the harness's clock: a region that still
	// serves one judged the TTL wrong (a skewed clock, a missing check).
	why := ""
	if outage <= ttl {
		why = fmt.Sprintf(": the row waits at most %v for sessions to expire, and the run's time scale (%gx) leaves the TTL longer", maxOutage, max(r.Env.TimeScale, 1))
	}
	if s := r.Out.Add(check.Seen("outage-outlasts-ttl", outage > ttl, outage.Seconds(), "outage %v vs session TTL %v%s", bounds.Round(outage), ttl, why)); s.OK {
		r.Out.Add(check.Safe("returning-users-see-session-expired", expired == total, float64(expired), "%d of %d returning users got 410 SESSION_EXPIRED, idle for more than the %v TTL", expired, total, ttl))
		r.Out.Add(check.Live("returning-users-reauthenticate", reauthed == total, float64(reauthed), "%d of %d returning users re-authenticated and were served", reauthed, total))
	}

	st, err := r.LBStatus(ctx)
	if err != nil {
		return err
	}
	calm := calmAfter(check.MarkedAt(st.Transitions, a, f.Start, false), r.InFlightBound())
	r.settleAfter(ctx, calm, errorSample, 3*time.Second)
	act, _ := ld.Stop()
	r.Out.Add(check.DetectionTime(f, st.Transitions, a, false, det))
	r.availability(f.Start, calm, ld.Stopped, r.RTOBound())
	r.UsersReturn(ctx, act.All, engine.MarkDeadline(r.RTOBound()))
	// The active users' sessions must survive the outage whole; the
	// returning users' expired by design and are not judged for loss.
	return r.lossChecks(ctx, r.UserOps(), act.All, false)
}
