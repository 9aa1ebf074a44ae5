package plan

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/harness/traffic"
)

// SkewOptions tunes the clock-skew rows.
type SkewOptions struct {
	// Offset is how far region A's clock is set ahead (Skew runs it both
	// ways: +Offset and -Offset).
	Offset time.Duration
	// Staleness is the warmup staleness bound the warmup rows run with:
	// short, so that an entry older than it can be made in seconds.
	Staleness time.Duration
	// SessionTTL is the session TTL the TTL rows run with; it must exceed
	// Offset, or a region ahead reads every peer's session as expired.
	SessionTTL time.Duration
	// Poll is how often a TTL row reads a session while it waits for it to
	// expire.
	Poll time.Duration
	// ExpiryError bounds how far from its TTL of idle time a session may
	// expire, whichever regions wrote and read it: the regions judge expiry
	// on the store's clock (session.expiry_clock: store), each estimating it
	// from the Date header of the store's answers (whole seconds) within a
	// round trip, so two regions' estimates differ by at most a second plus
	// a round trip, whatever their own clocks say.
	ExpiryError time.Duration
}

// DefaultSkew is the skew: one region 10 s ahead or behind.
func DefaultSkew() SkewOptions {
	return SkewOptions{Offset: 10 * time.Second, Staleness: 6 * time.Second, SessionTTL: 14 * time.Second, Poll: 200 * time.Millisecond, ExpiryError: 1250 * time.Millisecond}
}

// Skew is the clock-skew rows with DefaultSkew.
func Skew() []engine.Row { return SkewWith(DefaultSkew()) }

// SkewWith is the clock-skew rows (label "skew"): region A restarted with
// its clock o.Offset ahead, then behind (fault.ClockSkew), and judged as
// with synchronised clocks. No check compares two processes' clocks: ages
// and idle times are measured on the harness's clock, and the runtime's
// clocks enter only as the offsets the row configured.
func SkewWith(o SkewOptions) []engine.Row {
	var rows []engine.Row
	// Each row A ahead, then behind.
	both := func(spec, expected string, needs func(SkewOptions, topology.Spec) topology.Spec, cold bool, judge func(ctx context.Context, r *run, off time.Duration) error) {
		for _, off := range []time.Duration{o.Offset, -o.Offset} {
			dir := "ahead"
			if off < 0 {
				dir = "behind"
			}
			rows = append(rows, engine.Row{Label: "skew", Spec: fmt.Sprintf(spec, abs(off), dir), Expected: expected,
				Body:  body(func(ctx context.Context, r *run) error { return judge(ctx, r, off) }),
				Needs: func(s topology.Spec) topology.Spec { return needs(o, s) },
				Faults: func(s topology.Spec) []fault.Fault {
					return []fault.Fault{fault.ClockSkew{Region: s.RegionNames()[0], Offset: off, ColdCache: cold}}
				}})
		}
	}
	both("when region A restarts cold with its clock %v %s, it warms from its peers by the entries' ages: fresh entries are served from its cache, entries older than the staleness bound are refused, and no peer request is refused for the skew",
		"warmup judged by age_ms alone: every entry fresh at A's pull hits; every entry older than the staleness bound misses; no STALE_REQUEST refusal; availability, failback and no-loss verdicts as without skew",
		warmupSpec, true, func(ctx context.Context, r *run, off time.Duration) error { return skewWarmup(ctx, r, o, off) })
	both("with region A's clock %v %s, a session expires after its TTL of idle time whichever region wrote it and whichever reads it: never early or late by the skew",
		"idle time at expiry, on the harness's clock, within TTL ± the store clock's estimate error for every (writer, reader) pair of A and B; availability, failback and no-loss verdicts as without skew",
		ttlSpec, false, func(ctx context.Context, r *run, off time.Duration) error { return skewTTL(ctx, r, o, off) })
	return rows
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// regionURLs maps each region to its front door.
func (r *run) regionURLs() map[string]string {
	urls := map[string]string{}
	for _, reg := range r.Cluster.Regions() {
		urls[reg.Name] = reg.URL
	}
	return urls
}

// staleRequests sums the peer requests refused for their timestamp
// (STALE_REQUEST: outside the replay window, the one place two regions'
// clocks meet) by every region.
func (r *run) staleRequests(ctx context.Context) (map[string]float64, error) {
	out := map[string]float64{}
	for _, n := range r.Spec.RegionNames() {
		m, err := r.Cluster.Metrics(ctx, n)
		if err != nil {
			return nil, err
		}
		out[n] = topology.MetricSum(m, "cache_warmup_rejected_total", map[string]string{"reason": "stale_request"})
	}
	return out, nil
}

// askAll sends each prompt on session s through c and returns the ops.
func askAll(ctx context.Context, c *traffic.Client, user, region, s, prefix string, prompts []string) []history.Op {
	ops := make([]history.Op, len(prompts))
	for i, p := range prompts {
		ops[i] = c.SendPrompt(ctx, user, region, s, fmt.Sprintf("%s-%d", prefix, i), p)
	}
	return ops
}

// warmupSpec is the spec of the warmup rows: the skew's staleness bound,
// and sessions that outlive the skew (see skewTTL): the row judges the cache.
func warmupSpec(o SkewOptions, spec topology.Spec) topology.Spec {
	spec.WarmupStaleness = o.Staleness
	spec.SessionTTL = max(spec.SessionTTL, o.SessionTTL)
	return spec
}

// ttlSpec is the spec of the session-TTL rows.
func ttlSpec(o SkewOptions, spec topology.Spec) topology.Spec {
	spec.SessionTTL = o.SessionTTL
	return spec
}

func skewWarmup(ctx context.Context, r *run, o SkewOptions, off time.Duration) error {
	if err := r.Up(ctx, warmupSpec(o, r.Env.Spec)); err != nil {
		return err
	}
	a, b, _ := regionNames(r.Spec)
	stale := r.Spec.WarmupStaleness // what the harness judges by (drift aside)
	bg := r.userLoad()
	bg.Interval = 2 * engine.UserPause // light: a cold pull takes only the newest entries
	ld, err := r.warmLoad(ctx, bg, a)
	if err != nil {
		return err
	}
	defer ld.Stop()
	urls := r.regionURLs()
	cb := traffic.NewClient(traffic.Config{LBURL: urls[b], RequestTimeout: 2 * time.Second}, r.History)
	sb := fmt.Sprintf("s-skew-b-%d", r.Spec.Seed)
	if op := cb.CreateSession(ctx, history.KindCreate, "skew-user-b", b, sb); !op.OK() {
		return fmt.Errorf("create session on %s: status %d %s", b, op.Status, op.Error)
	}
	const n = 6
	oldP, freshP := make([]string, n), make([]string, n)
	for i := range n {
		oldP[i] = fmt.Sprintf("skewed warmup: what was the status of order %d?", i+1)
		freshP[i] = fmt.Sprintf("skewed warmup: what is the status of order %d?", i+101)
	}
	// B's users ask the old questions, which must grow older than the
	// staleness bound before A pulls, then the fresh ones, which must not.
	// B asked again proves which answers its cache holds (writes are
	// best-effort): only those are A's to pull.
	oldOps := askAll(ctx, cb, "skew-user-b", b, sb, "m-old", oldP)
	oldHeld := askAll(ctx, cb, "skew-user-b", b, sb, "m-old-again", oldP)
	var lastOld time.Time
	for _, op := range oldOps {
		if op.End.After(lastOld) {
			lastOld = op.End
		}
	}
	_ = r.Wait(ctx, stale+time.Second, "the old answers to outgrow the staleness bound", func() bool {
		return time.Since(lastOld) > stale
	})
	// A session of its own: the first one may have outlived the session TTL
	// while its answers aged.
	sb2 := sb + "-fresh"
	if op := cb.CreateSession(ctx, history.KindCreate, "skew-user-b", b, sb2); !op.OK() {
		return fmt.Errorf("create session on %s: status %d %s", b, op.Status, op.Error)
	}
	freshOps := askAll(ctx, cb, "skew-user-b", b, sb2, "m-fresh", freshP)
	freshHeld := askAll(ctx, cb, "skew-user-b", b, sb2, "m-fresh-again", freshP)
	held := func(ops []history.Op) (k int) {
		for _, op := range ops {
			if op.OK() && op.Cache == "hit" {
				k++
			}
		}
		return k
	}
	if s := r.Out.Add(check.Seen("peers-hold-answers("+b+")", held(oldHeld) > 0 && held(freshHeld) > 0, float64(held(oldHeld)+held(freshHeld)),
		"%s's cache holds %d old and %d fresh answers of %d each (asked again, each a hit)", b, held(oldHeld), held(freshHeld), n)); !s.OK {
		return engine.ErrNoScenario
	}
	refusedBefore, err := r.staleRequests(ctx)
	if err != nil {
		return err
	}

	heal, kr, err := r.Inject(ctx, fault.ClockSkew{Region: a, Offset: off, ColdCache: true})
	if err != nil {
		return err
	}
	t0, restarted := kr.Start, kr.End
	r.Out.EventAt(fmt.Sprintf("kill + cold restart, clock %s", signedDur(off)), t0)
	r.Out.EventAt("restarted", restarted)
	ca := traffic.NewClient(traffic.Config{LBURL: urls[a], RequestTimeout: 2 * time.Second}, r.History)
	sa := fmt.Sprintf("s-skew-a-%d", r.Spec.Seed)
	if op := r.createAfterRestart(ctx, ca, "skew-user-a", a, sa); !op.OK() {
		return fmt.Errorf("create session on %s after restart: status %d %s", a, op.Status, op.Error)
	}
	// Fresh questions first: their entries must still be in A's cache.
	freshA := askAll(ctx, ca, "skew-user-a", a, sa, "m-fresh-a", freshP)
	oldA := askAll(ctx, ca, "skew-user-a", a, sa, "m-old-a", oldP)

	var unanswered float64
	_ = r.Wait(ctx, 5*time.Second, a+"'s metrics", func() bool {
		m, err := r.Cluster.Metrics(ctx, a)
		if err != nil {
			return false
		}
		unanswered = topology.MetricSum(m, "cache_warmup_pull_unanswered_peers", nil)
		return true
	})
	if unanswered > 0 {
		r.Out.Add(check.Seen("warmup-pull-answered("+a+")", false, unanswered,
			"%.0f of %s's peers did not answer its pull within its send timeout (region_health.timeout %s): it served cold by design; warmup is not judged", unanswered, a, r.Spec.RegionHealthTimeout))
		return engine.ErrNoScenario
	}
	refusedAfter, err := r.staleRequests(ctx)
	if err != nil {
		return err
	}
	// A restarted: its counters start again at 0; its peers' are deltas.
	refused := 0.0
	for reg, v := range refusedAfter {
		if reg != a {
			v -= refusedBefore[reg]
		}
		refused += v
	}
	r.Out.Add(check.Safe("no-peer-request-refused-for-skew", refused == 0, refused,
		"%.0f peer requests refused STALE_REQUEST after %s restarted %s (the replay window %v must exceed the clocks' disagreement)", refused, a, signedDur(off), r.Spec.RegionConfig(a).Cache.ReplayWindow))

	// Ages on the harness's clock: an entry was cached in B during its
	// answer [Start, End] and pulled by A during [t0, restarted]. Fresh: at
	// most restarted - Start old at the pull. Old: at least t0 - End.
	fresh, freshHits := 0, 0
	for i, op := range freshOps {
		if freshHeld[i].OK() && freshHeld[i].Cache == "hit" && restarted.Sub(op.Start) < stale {
			fresh++
			if freshA[i].OK() && freshA[i].Cache == "hit" {
				freshHits++
			}
		}
	}
	old, oldHits := 0, 0
	for i, op := range oldOps {
		if oldHeld[i].OK() && oldHeld[i].Cache == "hit" && t0.Sub(op.End) > stale {
			old++
			if oldA[i].OK() && oldA[i].Cache == "hit" {
				oldHits++
			}
		}
	}
	r.Out.Add(check.Seen("entries-fresh-at-pull("+a+")", fresh > 0, float64(fresh),
		"%d of %s's answers were younger than the %v staleness bound when %s restarted (restart took %s)", fresh, b, stale, a, bounds.Round(restarted.Sub(t0))))
	r.Out.Add(check.Seen("entries-stale-at-pull("+a+")", old > 0, float64(old),
		"%d of %s's answers were older than the %v staleness bound when %s restarted", old, b, stale, a))
	r.Out.Add(check.Live("warm-before-serving("+a+")", freshHits == fresh, float64(freshHits),
		"%d of the %d entries fresh at the pull hit in %s, restarted with its clock %s (each must: staleness is judged by age, not by comparing clocks)", freshHits, fresh, a, signedDur(off)))
	r.Out.Add(check.Safe("stale-entries-refused("+a+")", oldHits == 0, float64(oldHits),
		"%d of the %d entries older than the %v staleness bound at the pull were served from %s's cache, restarted with its clock %s (none may be)", oldHits, old, stale, a, signedDur(off)))

	if err := r.afterRestart(ctx, ld, a, t0, restarted); err != nil {
		return err
	}
	_, err = r.Heal(ctx, heal)
	return err
}

func signedDur(d time.Duration) string {
	if d > 0 {
		return "+" + d.String()
	}
	return d.String()
}

// expiry is what a region's reads of one session showed: the last read
// that found it live and the first that found it expired.
type expiry struct {
	writer, reader string
	ackStart       time.Time // the session's last write: [ackStart, ackEnd]
	ackEnd         time.Time
	lastLive       time.Time // Start of the last 200
	firstGone      time.Time // End of the first 410; zero until one
	other          string    // an unexpected answer, if any
}

func skewTTL(ctx context.Context, r *run, o SkewOptions, off time.Duration) error {
	if err := r.Up(ctx, ttlSpec(o, r.Env.Spec)); err != nil {
		return err
	}
	a, b, _ := regionNames(r.Spec)
	ttl := r.Spec.SessionTTL
	bg := r.userLoad()
	bg.Interval = 2 * engine.UserPause // the probes' reads load the machine too
	ld, err := r.warmLoad(ctx, bg, a)
	if err != nil {
		return err
	}
	defer ld.Stop()
	heal, kr, err := r.Inject(ctx, fault.ClockSkew{Region: a, Offset: off})
	if err != nil {
		return err
	}
	r.Out.EventAt(fmt.Sprintf("kill + restart, clock %s", signedDur(off)), kr.Start)
	r.Out.EventAt("restarted", kr.End)
	// The clocks as configured (the fault's offset for A, the spec's for the
	// rest), for the report only: the bound does not depend on them.
	clock := map[string]time.Duration{}
	for _, reg := range r.Spec.Regions {
		clock[reg.Name] = reg.ClockOffset
	}
	clock[a] = off

	// Probe sessions live in their own history: they expire by design and
	// are not the users' conversations the loss checks judge.
	h := history.New()
	urls := r.regionURLs()
	cl := map[string]*traffic.Client{}
	for _, reg := range []string{a, b} {
		cl[reg] = traffic.NewClient(traffic.Config{LBURL: urls[reg], RequestTimeout: 2 * time.Second}, h)
	}
	var probes []*expiry
	for _, w := range []string{a, b} {
		s := fmt.Sprintf("s-ttl-%s-%d", w, r.Spec.Seed)
		if op := cl[w].CreateSession(ctx, history.KindCreate, "ttl-user-"+w, w, s); !op.OK() {
			return fmt.Errorf("create session on %s: status %d %s", w, op.Status, op.Error)
		}
		op := cl[w].SendMessage(ctx, "ttl-user-"+w, w, s, "m-ttl-"+w)
		if !op.OK() {
			return fmt.Errorf("message on %s: status %d %s", w, op.Status, op.Error)
		}
		for _, rd := range []string{a, b} {
			probes = append(probes, &expiry{writer: w, reader: rd, ackStart: op.Start, ackEnd: op.End})
		}
	}
	sessionOf := func(p *expiry) string { return fmt.Sprintf("s-ttl-%s-%d", p.writer, r.Spec.Seed) }
	latest := ttl + abs(off) + 3*time.Second // past the bound, and past what a reader skewed as A would take
	var round time.Time
	_ = r.Wait(ctx, latest, "the probe sessions to expire", func() bool {
		if time.Since(round) < o.Poll { // one round of reads per poll interval
			return false
		}
		round = time.Now()
		done := true
		for _, p := range probes {
			if !p.firstGone.IsZero() {
				continue
			}
			op, _ := cl[p.reader].ReadSession(ctx, "ttl-user-"+p.writer, p.reader, sessionOf(p))
			switch {
			case op.Status == http.StatusOK:
				p.lastLive = op.Start
			case op.Status == http.StatusGone && op.Code == "SESSION_EXPIRED":
				p.firstGone = op.End
			default:
				p.other = fmt.Sprintf("%d %s %s", op.Status, op.Code, op.Error)
			}
			done = done && !p.firstGone.IsZero()
		}
		return done
	})
	judged := 0
	for _, p := range probes {
		// Judged on the store's clock, expiry does not depend on the
		// regions' clocks: the same bound for every pair.
		lo, hi := ttl-o.ExpiryError, ttl+o.ExpiryError
		// Idle time at expiry lies in (lastLive - ackEnd, firstGone - ackStart]:
		// live later than hi is late whether or not it expired since.
		late := time.Duration(0)
		if !p.lastLive.IsZero() {
			late = p.lastLive.Sub(p.ackEnd)
		}
		ok, early := late <= hi, time.Duration(0)
		if !p.firstGone.IsZero() {
			early = p.firstGone.Sub(p.ackStart)
			ok = ok && early >= lo
		}
		if p.firstGone.IsZero() && ok {
			continue // neither expired nor late yet: not judged (evidence below)
		}
		judged++
		seen := "expired after " + bounds.Round(max(late, 0)).String() + ".." + bounds.Round(early).String() + " idle"
		if p.firstGone.IsZero() {
			seen = "still live after " + bounds.Round(late).String() + " idle"
		}
		seen += " on the harness's clock"
		if p.other != "" {
			seen += " (last other answer: " + p.other + ")"
		}
		r.Out.Add(check.Safe(fmt.Sprintf("session-ttl(written %s, read %s)", p.writer, p.reader), ok, max(late, early).Seconds(),
			"written on %s (clock %s), read on %s (clock %s): %s; TTL %v, allowed %v..%v whatever the clocks",
			p.writer, signedDur(clock[p.writer]), p.reader, signedDur(clock[p.reader]), seen, ttl, lo, hi))
	}
	r.Out.Add(check.Seen("probe-sessions-judged", judged == len(probes), float64(judged),
		"%d of %d (writer, reader) pairs saw their session expire (or outlive its bound) within %v", judged, len(probes), latest))
	if err := r.afterRestart(ctx, ld, a, kr.Start, kr.End); err != nil {
		return err
	}
	_, err = r.Heal(ctx, heal)
	return err
}
