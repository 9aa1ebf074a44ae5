package plan

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/harness/traffic"
)

// Rows is the failover test plan, SPEC §4, followed by the article's checklist.
func Rows() []Row {
	rows := []Row{
		{N: 1, Label: "plan-1", Spec: "when region A becomes unresponsive, the LB moves its users to B and no acknowledged message is lost",
			Expected: "LB redirects to B; every session continues; no acked message lost; RTO within detection bound + margin", body: (row1)},
		{N: 2, Label: "plan-2", Spec: "when region A answers 503, health checks mark it degraded and it gets no new traffic",
			Expected: "health check fails, A marked degraded; no new traffic to A after the detection window", body: (row2)},
		{N: 3, Label: "plan-3", Spec: "when half of region A's requests fail, A is taken out and clients barely notice",
			Expected: "A marked degraded; client-visible error rate stays low (graceful degradation)", body: (row3)},
		{N: 4, Label: "plan-4", Spec: "when region A is partitioned, health checks time out and on restore the conflict strategy holds with no silent overwrite",
			Expected: "health check times out; on restore the configured conflict strategy holds; every overwrite counted and reported", body: (row4)},
		{N: 5, Label: "plan-5", Spec: "when A and B are down C serves everyone, and when all are down clients get the status page and on-call is paged once",
			Expected: "C serves everyone; with all down, 503 with status page; alert received once", body: (row5)},
		{N: 6, Label: "plan-6", Spec: "when region A restarts quickly with a cold cache, it warms from its peers and cache hits come back",
			Expected: "cache warmup from peers; A's replicator receives entries; cache hits come back", body: (row6)},
		{N: 7, Label: "plan-7", Spec: "when an outage outlasts the session TTL, returning users get the expired-session answer and re-authenticate",
			Expected: "sessions expire via TTL; returning users get SESSION_EXPIRED and re-authenticate", body: (row7)},
	}
	rows = append(rows, Checklist()...)
	for i := range rows {
		rows[i].Run = bind(rows[i])
	}
	return rows
}

// Row looks a row up by label.
func RowByLabel(label string) (Row, bool) {
	for _, r := range Rows() {
		if r.Label == label || (r.N == 0 && r.Spec == label) {
			return r, true
		}
	}
	return Row{}, false
}

// bind adapts a row body to Row.Run; the Outcome is returned even when the
// body stops early, so the report shows what was measured.
func bind(row Row) func(ctx context.Context, env *Env) (*Outcome, error) {
	body := row.body
	return func(ctx context.Context, env *Env) (*Outcome, error) {
		r := newRun(env, row)
		err := body(ctx, r)
		return r.out, err
	}
}

func regionNames(s topology.Spec) (a, b, c string) {
	n := s.RegionNames()
	return n[0], n[1], n[2]
}

// begin starts the topology and the users' traffic, waits until region A
// has acknowledged some messages, and sets the detection bound: the common
// opening of the fault rows. The caller stops the load.
func (r *run) begin(ctx context.Context) (a string, ld *load, bnd time.Duration, err error) {
	if err = r.up(ctx, r.env.Spec); err != nil {
		return "", nil, 0, err
	}
	a, _, _ = regionNames(r.spec)
	ld = r.startLoad(ctx, r.userLoad())
	if err = r.warm(ctx, a); err != nil {
		ld.stop()
		return "", nil, 0, err
	}
	bnd = r.detectionBound()
	r.out.Bounds.DetectionSeconds = bnd.Seconds()
	return a, ld, bnd, nil
}

// userLoad is the default traffic of a row: users in all three client
// regions, each request bounded so a hung region cannot stall a user forever.
func (r *run) userLoad() traffic.Config {
	return traffic.Config{
		Users:          9,
		Interval:       40 * time.Millisecond,
		RequestTimeout: 2*r.spec.Retry.PerTryTimeout + time.Second,
		// Users keep talking until the row stops them; the loss checker
		// accounts for messages the 50-entry conversation bound evicts.
		MaxMessages: 1000,
	}
}

// waitUsersContinue waits until every user got an ack after since.
func (r *run) waitUsersContinue(ctx context.Context, since time.Time, deadline time.Duration) {
	_ = r.wait(ctx, deadline, "every user to continue", func() bool {
		return everyUserRecovered(r.h.Ops(), since).OK
	})
}

// settle lets traffic run until n more messages are acknowledged (or deadline).
func (r *run) settle(ctx context.Context, n int, deadline time.Duration) {
	base := r.acked()
	_ = r.wait(ctx, deadline, fmt.Sprintf("%d more acks", n), func() bool { return r.acked() >= base+n })
}

// lossChecks reads every session back and checks loss, versions and RPO.
func (r *run) lossChecks(ctx context.Context, res traffic.Result, monotonic bool) (lost float64, err error) {
	final, rerr := r.readFinal(ctx, res.All)
	ops := r.h.Ops()
	l := r.out.add(check.LostAcked(ops, final, r.window()))
	if monotonic {
		r.out.add(check.VersionsMonotonic(ops))
	}
	msgs, secs := check.RPO(ops, final, r.window(), 1<<30, 1e9)
	r.out.Observed.RPOMessages = int(msgs.Value)
	r.out.Observed.RPOSeconds = secs.Value
	return l.Value, rerr
}

func row1(ctx context.Context, r *run) error {
	a, ld, bnd, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer ld.stop()
	// Margin: a retried request's own round trip and scheduling on a loaded machine.
	rto := bnd + r.spec.Retry.PerTryTimeout + max(500*time.Millisecond, bnd)
	r.out.Bounds.RTOSeconds = rto.Seconds()

	// Break A at the worst moment: right after it acknowledged a message.
	r.waitFreshAck(ctx, a, 3*time.Millisecond, 2*time.Second)
	faultStart := time.Now()
	r.out.event("fault injected")
	if _, err := r.inject(ctx, fault.Pause{Region: a}); err != nil {
		return err
	}
	marked, _ := r.waitOut(ctx, a, faultStart, 4*bnd+2*time.Second)
	if !marked.IsZero() {
		r.out.eventAt("detected", marked)
		r.waitUsersContinue(ctx, marked, 3*time.Second+rto)
	}
	r.settle(ctx, 30, 3*time.Second)
	res, _ := ld.stop()

	st, err := r.lbStatus(ctx)
	if err != nil {
		return err
	}
	det := r.out.add(check.DetectionTime(faultStart, st.Transitions, a, detectionLimit(bnd)))
	r.out.Observed.DetectionSeconds = finite(det.Value)
	ops := r.h.Ops()
	r.out.add(everyUserRecovered(ops, faultStart))
	rt := r.out.add(check.RTO(ops, faultStart, rto))
	r.out.Observed.RTOSeconds = rt.Value
	r.out.add(r.acksDurable())
	_, err = r.lossChecks(ctx, res, true)
	r.finish(faultStart)
	return err
}

// acksDurable fails when the runtime acknowledged messages before they were
// in the global store: whatever the measured loss, a region failure in that
// window loses them. It states the exposure in real time.
func (r *run) acksDurable() check.Result {
	acked, notDurable := 0, 0
	for _, op := range r.h.Ops() {
		if op.Kind == history.KindMessage && op.OK() && !op.Duplicate {
			acked++
			if !op.Durable {
				notDurable++
			}
		}
	}
	window := r.spec.CheckpointInterval
	k := r.env.TimeScale
	if k < 1 {
		k = 1
	}
	real := time.Duration(float64(window) * k)
	if notDurable > 0 {
		return passIf("ack-implies-durable", false, float64(notDurable),
			"%d of %d acknowledged messages were not yet in the global store when acknowledged (checkpoint policy %s every %v, %v in real time): acknowledged messages between checkpoints are lost when a region fails",
			notDurable, acked, r.spec.CheckpointPolicy, window, real)
	}
	return passIf("ack-implies-durable", true, 0, "all %d acknowledged messages were in the global store before the reply", acked)
}

// waitFreshAck waits (bounded) until region has just acknowledged a message,
// within fresh, so a fault injected next catches work in flight.
func (r *run) waitFreshAck(ctx context.Context, region string, fresh, deadline time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	seen := r.h.Len()
	tick := time.NewTicker(500 * time.Microsecond)
	defer tick.Stop()
	for {
		ops := r.h.Ops()
		for _, op := range ops[seen:] {
			if op.Kind == history.KindMessage && op.OK() && op.ServedBy == region && time.Since(op.End) < fresh {
				return
			}
		}
		seen = len(ops)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// detectionLimit is what a check tolerates over the configured worst case:
// probe scheduling and process wake-ups on a loaded 2-core machine.
func detectionLimit(bnd time.Duration) time.Duration { return bnd*3/2 + 100*time.Millisecond }

func finite(v float64) float64 {
	if v > 1e9 || v != v {
		return 0
	}
	return v
}

func row2(ctx context.Context, r *run) error {
	a, ld, bnd, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer ld.stop()
	faultStart := time.Now()
	r.out.event("fault injected")
	if _, err := r.inject(ctx, fault.HTTPStatus{Region: a, Code: 503}); err != nil {
		return err
	}
	marked, _ := r.waitMarked(ctx, a, faultStart, 4*bnd+2*time.Second, true) // the health check's verdict, not an ejection
	// The detection window: requests already in flight when A was marked may
	// still reach it. After that, none may.
	window := r.spec.LBHealth.Interval + r.spec.Retry.PerTryTimeout
	var before int64
	if !marked.IsZero() {
		r.out.eventAt("detected", marked)
		_ = r.wait(ctx, window+time.Second, "detection window to pass", func() bool { return time.Since(marked) > window })
		st, err := r.lbStatus(ctx)
		if err != nil {
			return err
		}
		reg, _ := st.Region(a)
		before = reg.Requests
	}
	// Long enough that an ejection (the passive fallback) would have expired
	// and let A back in if health checks were not holding it out.
	observe := r.spec.Outlier.Ejection + 5*r.spec.LBHealth.Interval + 500*time.Millisecond
	_ = r.wait(ctx, observe+time.Second, "observation period", func() bool { return time.Since(faultStart) > observe+window })
	res, _ := ld.stop()
	st, err := r.lbStatus(ctx)
	if err != nil {
		return err
	}
	det := r.out.add(check.DetectionTime(faultStart, healthTransitions(st.Transitions), a, detectionLimit(bnd)))
	r.out.Observed.DetectionSeconds = finite(det.Value)
	reg, _ := st.Region(a)
	if marked.IsZero() {
		r.out.add(passIf("no-new-traffic-after-detection("+a+")", false, float64(reg.Requests), "%s was never marked, so it kept receiving traffic (%d requests)", a, reg.Requests))
	} else {
		n := reg.Requests - before
		r.out.add(passIf("no-new-traffic-after-detection("+a+")", n == 0 && reg.Status != "active", float64(n),
			"%d requests reached %s more than %v after it was marked (LB attempt counter %d -> %d); status now %s", n, a, window, before, reg.Requests, reg.Status))
		r.out.add(check.NoTrafficAfterDown(r.h.Ops(), a, marked, window))
	}
	_, err = r.lossChecks(ctx, res, true)
	r.finish(faultStart)
	return err
}

func row3(ctx context.Context, r *run) error {
	a, ld, _, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer ld.stop()
	faultStart := time.Now()
	r.out.event("fault injected")
	if _, err := r.inject(ctx, fault.FailureRate{Region: a, Rate: 0.5}); err != nil {
		return err
	}
	r.settle(ctx, 150, 4*time.Second)
	faultEnd := time.Now()
	res, _ := ld.stop()
	st, err := r.lbStatus(ctx)
	if err != nil {
		return err
	}
	// "marked degraded" is any way out of rotation: health checks or ejection.
	det := r.out.add(check.DetectionTime(faultStart, st.Transitions, a, 0))
	r.out.Observed.DetectionSeconds = finite(det.Value)
	if det.OK {
		r.out.eventAt("detected", faultStart.Add(time.Duration(det.Value*float64(time.Second))))
	}
	er := r.out.add(check.ErrorRate(r.h.Ops(), faultStart, faultEnd, 0.02))
	_ = er
	_, err = r.lossChecks(ctx, res, true)
	r.finish(faultStart)
	return err
}

func row4(ctx context.Context, r *run) error {
	a, ld, bnd, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer ld.stop()
	faultStart := time.Now()
	r.out.event("partition")
	// A is cut off from the LB and its peers (probes time out); it still
	// reaches the global store, slowly, as a region on the far side of a
	// congested link does.
	var heals []HealFunc
	links := []string{topology.LBLink(a)}
	for _, p := range r.spec.RegionNames() {
		if p != a {
			links = append(links, topology.PeerLink(p, a))
		}
	}
	for _, l := range links {
		h, err := r.inject(ctx, fault.Partition{Link: l, Mode: "timeout"})
		if err != nil {
			return err
		}
		heals = append(heals, h)
	}
	h, err := r.inject(ctx, fault.Latency{Link: topology.DynamoLink(a), Latency: 40 * time.Millisecond})
	if err != nil {
		return err
	}
	heals = append(heals, h)

	marked, _ := r.waitOut(ctx, a, faultStart, 4*bnd+2*time.Second)
	if !marked.IsZero() {
		r.out.eventAt("detected", marked)
	}
	// Split brain: clients whose DNS still points at A keep writing to the
	// sessions A served, while the LB sends the same users to B.
	r.staleDNSWriters(ctx, a, time.Second)
	for _, h := range heals {
		if err := h(ctx); err != nil {
			return err
		}
	}
	r.out.event("restored")
	_ = r.waitIn(ctx, 4*bnd+2*time.Second, a)
	r.settle(ctx, 40, 3*time.Second)
	res, _ := ld.stop()

	st, err := r.lbStatus(ctx)
	if err != nil {
		return err
	}
	det := r.out.add(check.DetectionTime(faultStart, st.Transitions, a, detectionLimit(bnd)))
	r.out.Observed.DetectionSeconds = finite(det.Value)

	strategy := r.spec.ConflictStrategy
	lost, err := r.lossChecksStrategy(ctx, res, strategy)
	reported := 0.0
	for _, reg := range r.spec.RegionNames() {
		m, merr := r.c.Metrics(ctx, reg)
		if merr == nil {
			reported += topology.MetricSum(m, "store_overwritten_messages_total", nil)
		}
	}
	r.out.add(passIf("no-silent-overwrite", lost <= reported, lost,
		"%0.f acknowledged user messages lost; the runtime reported %0.f overwritten messages (user messages and replies, store_overwritten_messages_total, logged by id) (strategy %s)", lost, reported, strategy))
	r.finish(faultStart)
	return err
}

// lossChecksStrategy asserts what the conflict strategy promises: version-wins
// and merge lose nothing; last-write-wins may overwrite, but only visibly.
func (r *run) lossChecksStrategy(ctx context.Context, res traffic.Result, strategy string) (float64, error) {
	if strategy == "last-write-wins" {
		final, err := r.readFinal(ctx, res.All)
		msgs, secs := check.RPO(r.h.Ops(), final, r.window(), 1<<30, 1e9)
		r.out.Observed.RPOMessages = int(msgs.Value)
		r.out.Observed.RPOSeconds = secs.Value
		return msgs.Value, err
	}
	return r.lossChecks(ctx, res, true)
}

// staleDNSWriters writes, directly to region's front door, into the sessions
// that region served before the fault, for d.
func (r *run) staleDNSWriters(ctx context.Context, region string, d time.Duration) {
	var url string
	for _, reg := range r.c.Regions() {
		if reg.Name == region {
			url = reg.URL
		}
	}
	sessions := map[string]string{}
	for _, op := range r.h.Ops() {
		if op.Kind == history.KindMessage && op.OK() && op.ServedBy == region {
			sessions[op.Session] = op.User
		}
	}
	cl := traffic.NewClient(traffic.Config{LBURL: url, RequestTimeout: time.Second}, r.h)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	// One writer per session, concurrently with the LB's users of B.
	var wg sync.WaitGroup
	for s, u := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; ctx.Err() == nil && i <= 100; i++ {
				cl.SendMessage(ctx, "stale-dns-"+u, region, s, fmt.Sprintf("m-stale-%s-%d-%d", u, r.spec.Seed, i))
			}
		}()
	}
	wg.Wait()
}

func row5(ctx context.Context, r *run) error {
	a, ld, bnd, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer ld.stop()
	_, b, c := regionNames(r.spec)
	faultStart := time.Now()
	r.out.event("A and B down")
	if _, err := r.inject(ctx, fault.RegionsDown{Regions: []string{a, b}, Fault: func(reg string) fault.Fault { return fault.Pause{Region: reg} }}); err != nil {
		return err
	}
	ma, _ := r.waitOut(ctx, a, faultStart, 4*bnd+2*time.Second)
	mb, _ := r.waitOut(ctx, b, faultStart, 4*bnd+2*time.Second)
	last := ma
	if mb.After(last) {
		last = mb
	}
	window := r.spec.LBHealth.Interval + r.spec.Retry.PerTryTimeout
	if !ma.IsZero() && !mb.IsZero() {
		r.out.eventAt("detected", last)
		r.waitUsersContinue(ctx, last.Add(window), 3*time.Second+2*window)
	}
	r.settle(ctx, 30, 3*time.Second)
	ops := r.h.Ops()
	r.out.Observed.DetectionSeconds = finite(last.Sub(faultStart).Seconds())
	r.out.add(passIf("a-and-b-detected", !ma.IsZero() && !mb.IsZero(), 0, "%s marked at %v, %s at %v", a, ma.Format(time.StampMilli), b, mb.Format(time.StampMilli)))
	if !last.IsZero() {
		r.out.add(check.NoTrafficAfterDown(ops, a, last, window))
		r.out.add(check.NoTrafficAfterDown(ops, b, last, window))
		r.out.add(servedOnlyBy(ops, c, last.Add(window)))
		r.out.add(everyUserRecovered(ops, last.Add(window)))
	}
	res, _ := ld.stop()
	if _, err := r.lossChecks(ctx, res, true); err != nil {
		return err
	}

	// Then C goes too: nobody is left.
	allDown := time.Now()
	r.out.event("C down")
	if _, err := r.inject(ctx, fault.Pause{Region: c}); err != nil {
		return err
	}
	_, _ = r.waitOut(ctx, c, allDown, 4*bnd+2*time.Second)
	r.out.add(r.statusPage(ctx))
	alertName := "NoHealthyRegion"
	_ = r.wait(ctx, 4*bnd+3*time.Second, "an alert at the webhook", func() bool { return len(r.c.Alerts()) > 0 })
	// Several more probe rounds with every region down: a storm would show here.
	quiet := 10*r.spec.LBHealth.Interval + 500*time.Millisecond
	t0 := time.Now()
	_ = r.wait(ctx, quiet+time.Second, "alert quiet period", func() bool { return time.Since(t0) > quiet })
	r.out.add(check.AlertsOnce(r.c.Alerts(), alertName))
	r.finish(faultStart)
	return nil
}

// servedOnlyBy fails when a successful op that started after since was served by another region.
func servedOnlyBy(ops []history.Op, region string, since time.Time) check.Result {
	n, other := 0, 0
	for _, op := range ops {
		if op.OK() && op.Start.After(since) && op.Kind != history.KindRead {
			n++
			if op.ServedBy != region {
				other++
			}
		}
	}
	return passIf("served-only-by("+region+")", n > 0 && other == 0, float64(other), "%d of %d operations after detection served by a region other than %s", other, n, region)
}

func row6(ctx context.Context, r *run) error {
	if err := r.up(ctx, r.env.Spec); err != nil {
		return err
	}
	a, b, _ := regionNames(r.spec)
	urls := map[string]string{}
	for _, reg := range r.c.Regions() {
		urls[reg.Name] = reg.URL
	}
	prompts := make([]string, 12)
	for i := range prompts {
		prompts[i] = fmt.Sprintf("what is the status of ticket %d?", i+1)
	}
	// Users of B ask questions; their answers are cached in B and
	// replicated to A and C.
	cb := traffic.NewClient(traffic.Config{LBURL: urls[b], RequestTimeout: 2 * time.Second}, r.h)
	sb := fmt.Sprintf("s-cache-b-%d", r.spec.Seed)
	if op := cb.CreateSession(ctx, history.KindCreate, "cache-user-b", b, sb); !op.OK() {
		return fmt.Errorf("create session on %s: status %d %s", b, op.Status, op.Error)
	}
	for i, p := range prompts {
		cb.SendPrompt(ctx, "cache-user-b", b, sb, fmt.Sprintf("m-b-%d", i), p)
	}
	_ = r.wait(ctx, 3*time.Second, "replication to "+a, func() bool {
		m, err := r.c.Metrics(ctx, a)
		return err == nil && topology.MetricSum(m, "cache_warmup_received_total", nil) >= float64(len(prompts))
	})

	faultStart := time.Now()
	r.out.event("kill + cold restart")
	if _, err := r.inject(ctx, fault.KillRestart{Region: a, ColdCache: true}); err != nil {
		return err
	}
	r.out.event("restarted")
	var pulled float64
	_ = r.wait(ctx, 5*time.Second, a+" to pull its peers' entries", func() bool {
		m, err := r.c.Metrics(ctx, a)
		if err != nil {
			return false
		}
		pulled = topology.MetricSum(m, "cache_warmup_pulled_total", nil) + topology.MetricSum(m, "cache_warmup_received_total", nil)
		return pulled > 0
	})
	r.out.add(passIf("replicator-receives-entries("+a+")", pulled > 0, pulled, "%s received %.0f cache entries from its peers after the restart", a, pulled))

	// Users of A come back and ask the same questions.
	ca := traffic.NewClient(traffic.Config{LBURL: urls[a], RequestTimeout: 2 * time.Second}, r.h)
	sa := fmt.Sprintf("s-cache-a-%d", r.spec.Seed)
	if op := ca.CreateSession(ctx, history.KindCreate, "cache-user-a", a, sa); !op.OK() {
		return fmt.Errorf("create session on %s after restart: status %d %s", a, op.Status, op.Error)
	}
	hits := 0
	for i, p := range prompts {
		if op := ca.SendPrompt(ctx, "cache-user-a", a, sa, fmt.Sprintf("m-a-%d", i), p); op.OK() && op.Cache == "hit" {
			hits++
		}
	}
	ratio := float64(hits) / float64(len(prompts))
	r.out.add(passIf("cache-hits-return("+a+")", ratio >= 0.75, ratio, "%d/%d first requests at %s after the cold restart were cache hits", hits, len(prompts), a))
	r.out.Observed.RTOSeconds = 0
	r.finish(faultStart)
	return nil
}

func row7(ctx context.Context, r *run) error {
	if err := r.up(ctx, r.env.Spec); err != nil {
		return err
	}
	a, _, _ := regionNames(r.spec)
	ttl := r.spec.SessionTTL
	cfg := r.userLoad()
	cfg.Users = 6
	cfg.MaxMessages = 3
	ld := r.startLoad(ctx, cfg)
	res, _ := ld.stop2(ctx)
	if len(res.Sessions) == 0 {
		return fmt.Errorf("no session was created before the outage")
	}
	faultStart := time.Now()
	r.out.event("long outage")
	heal, err := r.inject(ctx, fault.LongOutage{Region: a})
	if err != nil {
		return err
	}
	// The outage lasts until the users' sessions have outlived their TTL
	// (bounded: a TTL that never expires ends the wait at the deadline).
	cl := traffic.NewClient(traffic.Config{LBURL: r.c.LBURL(), RequestTimeout: 2 * time.Second}, history.New())
	var canary string
	for _, s := range res.Sessions {
		canary = s
		break
	}
	// A TTL too long to wait out in a time-compressed run is, for this row,
	// a TTL that never expires: the row fails rather than wait an hour.
	deadline := ttl*3/2 + 3*time.Second
	if ttl > time.Minute {
		deadline = 5 * time.Second
	}
	_ = r.wait(ctx, deadline, "sessions to expire", func() bool {
		op, _ := cl.ReadSession(ctx, "canary", "", canary)
		return time.Since(faultStart) > ttl && op.Status == 410
	})
	if err := heal(ctx); err != nil {
		return err
	}
	r.out.event("outage over")
	outage := time.Since(faultStart)
	_ = r.waitIn(ctx, 10*time.Second, a)

	// Returning users.
	lb := traffic.NewClient(traffic.Config{LBURL: r.c.LBURL(), RequestTimeout: 2 * time.Second}, r.h)
	expired, reauthed, total := 0, 0, 0
	for u, s := range res.Sessions {
		total++
		op := lb.SendMessage(ctx, u, "", s, fmt.Sprintf("m-return-%s-%d", u, r.spec.Seed))
		if op.Status == 410 && op.Code == "SESSION_EXPIRED" {
			expired++
			ns := fmt.Sprintf("%s-reauth-%d", s, r.spec.Seed)
			if c := lb.CreateSession(ctx, history.KindReauth, u, "", ns); c.OK() {
				if m := lb.SendMessage(ctx, u, "", ns, fmt.Sprintf("m-after-%s-%d", u, r.spec.Seed)); m.OK() {
					reauthed++
				}
			}
		}
	}
	r.out.add(passIf("outage-outlasts-ttl", outage > ttl, outage.Seconds(), "outage %v vs session TTL %v", outage.Round(time.Millisecond), ttl))
	r.out.add(passIf("returning-users-see-session-expired", expired == total, float64(expired), "%d of %d returning users got 410 SESSION_EXPIRED", expired, total))
	r.out.add(passIf("returning-users-reauthenticate", reauthed == total, float64(reauthed), "%d of %d returning users re-authenticated and were served", reauthed, total))
	r.finish(faultStart)
	return nil
}

// stop2 waits for the load to end by itself (its MaxMessages/Duration).
func (l *load) stop2(ctx context.Context) (traffic.Result, error) {
	select {
	case <-l.done:
	case <-ctx.Done():
		l.cancel()
		<-l.done
	}
	return l.res, l.err
}
