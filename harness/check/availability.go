package check

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/stats"
	"github.com/agentops/failover-harness/harness/topology"
)

// MarkedAt is when the LB first took region out of rotation at or after
// since: a health-check verdict (degraded, down) or, unless healthOnly, a
// passive ejection. Transitions must be on the harness's clock
// (topology.LBStatus.AlignClock). Zero when it never did.
func MarkedAt(transitions []topology.Transition, region string, since time.Time, healthOnly bool) time.Time {
	var at time.Time
	for _, t := range transitions {
		if t.Region != region || t.To == "active" || t.At.Before(since) {
			continue
		}
		if healthOnly && (t.To == "ejected" || t.From == "ejected") {
			continue
		}
		if at.IsZero() || t.At.Before(at) {
			at = t.At
		}
	}
	return at
}

// Fault is when a fault took effect: some moment between the start of its
// injection and the injection's return (a docker stop, say, takes a while),
// both on the harness's clock.
type Fault struct{ Start, End time.Time }

// DetectionTime measures how long the LB took to take region out of
// rotation after the fault, against bound. It looks for the verdict from
// the injection's start, and measures from the injection's end, when the
// fault surely was in effect: a slow injection never makes detection look
// slower than it was.
func DetectionTime(f Fault, transitions []topology.Transition, region string, healthOnly bool, bound bounds.Duration) Result {
	name := "detection-time(" + region + ")"
	b := TimeBound(bound)
	at := MarkedAt(transitions, region, f.Start, healthOnly)
	if at.IsZero() {
		return result(name, Liveness, false, math.Inf(1), "s", b, "%s never left the LB's rotation after the fault (bound %s)", region, bounds.Round(bound.Total()))
	}
	d := max(0, at.Sub(f.End))
	inj := ""
	if took := f.End.Sub(f.Start); took > time.Millisecond {
		inj = fmt.Sprintf(" (measured from the end of an injection that took %s)", bounds.Round(took))
	}
	if d > bound.Total() {
		return result(name, Liveness, false, d.Seconds(), "s", b, "detected after %s%s > bound %s", bounds.Round(d), inj, bound)
	}
	return result(name, Liveness, true, d.Seconds(), "s", b, "detected after %s%s <= bound %s", bounds.Round(d), inj, bounds.Round(bound.Total()))
}

// wait is one request as a user lived it: from the first attempt to the
// acknowledgement, however many failed attempts, resends and re-logins lay
// in between.
type wait struct {
	user, what   string
	first, until time.Time
	ok           bool
	attempts     int
}

// waits groups ops into requests: messages by (user, message id), which
// survives a re-authentication into a new session; session creations by
// (user, session).
func waits(ops []history.Op) []wait {
	idx := map[string]int{}
	var out []wait
	// Indices, not copies: sorting a million operations moves ints.
	for _, k := range stableOrder(len(ops), func(a, b int) bool { return ops[a].Start.Before(ops[b].Start) }) {
		op := &ops[k]
		var key string
		switch op.Kind {
		case history.KindMessage:
			key = op.User + "\x00m\x00" + op.MessageID
		case history.KindCreate, history.KindReauth:
			key = op.User + "\x00s\x00" + op.Session
		default:
			continue
		}
		i, seen := idx[key]
		if !seen {
			i = len(out)
			idx[key] = i
			out = append(out, wait{user: op.User, what: key[len(op.User)+1:], first: op.Start})
		}
		w := &out[i]
		if w.ok {
			continue // later duplicates of an acknowledged request change nothing
		}
		w.attempts++
		w.until = op.End
		w.ok = op.OK()
	}
	return out
}

// RTO is the longest time any user waited for a successful answer while
// the fault lasted and after: for every request still unanswered at
// faultStart, from its first attempt to its acknowledgement. A request
// never answered counts until the load stopped (until).
func RTO(ops []history.Op, faultStart, until time.Time, bound bounds.Duration) Result {
	const name = "rto"
	b := TimeBound(bound)
	var worst wait
	var longest time.Duration
	pending, n := 0, 0
	for _, w := range waits(ops) {
		end := w.until
		if !w.ok {
			end = until
			pending++
		}
		if end.Before(faultStart) {
			continue
		}
		n++
		if d := end.Sub(w.first); d > longest {
			longest, worst = d, w
		}
	}
	if n == 0 {
		return result(name, Liveness, false, 0, "s", b, "no request was made during or after the fault: RTO not measured")
	}
	who := fmt.Sprintf("user %s, %s, %d attempts", worst.user, strings.ReplaceAll(worst.what, "\x00", " "), worst.attempts)
	if longest > bound.Total() {
		return result(name, Liveness, false, longest.Seconds(), "s", b, "a user waited %s for an answer (%s) > bound %s; %d requests measured, %d unanswered when the load stopped",
			bounds.Round(longest), who, bound, n, pending)
	}
	return result(name, Liveness, true, longest.Seconds(), "s", b, "longest wait for an answer %s (%s) <= bound %s; %d requests measured, %d unanswered when the load stopped",
		bounds.Round(longest), who, bounds.Round(bound.Total()), n, pending)
}

// DefaultFalseAlarm is the false-alarm probability of every statistical
// check: at most 1 run in 10,000 of a correct system fails one.
const DefaultFalseAlarm = 1e-4

// ErrorRate tests the client-visible availability errors (no answer, or a
// 5xx; a 409 or 410 is the system answering) of requests that started in
// [from, to). H0: each request fails with probability at most p0 given
// everything before it; the check fails when the binomial tail makes the
// count implausible under H0 at false-alarm probability alpha.
func ErrorRate(ops []history.Op, from, to time.Time, p0, alpha float64) Result {
	const name = "client-error-rate"
	total, bad := 0, 0
	for _, op := range ops {
		if op.Kind == history.KindRead || op.Start.Before(from) || !op.Start.Before(to) {
			continue
		}
		total++
		if op.Unavailable() {
			bad++
		}
	}
	b := &Bound{Limit: p0, Unit: "ratio", Text: fmt.Sprintf("%.1f%% per request (one-sided binomial test, false-alarm probability %g)", 100*p0, alpha)}
	if total == 0 {
		return result(name, Liveness, false, 0, "ratio", b, "no requests between +%s and +%s: error rate not measured", from.Format(time.StampMilli), to.Format(time.StampMilli))
	}
	t := stats.AtMostRate(bad, total, p0, alpha)
	b.Text = fmt.Sprintf("%.1f%% per request: fails at >= %d of %d (one-sided binomial test, false-alarm probability %g)", 100*p0, t.Critical, total, alpha)
	r := float64(bad) / float64(total)
	return result(name, Liveness, !t.Reject, r, "ratio", b, "%d/%d requests unavailable (%.1f%%): %s", bad, total, 100*r, t.Reason)
}

// NoTrafficAfterDown fails when an operation that started more than window
// after markedAt (both on the harness's clock) was served by region.
func NoTrafficAfterDown(ops []history.Op, region string, markedAt time.Time, window bounds.Duration) Result {
	name := "no-traffic-after-down(" + region + ")"
	cut := markedAt.Add(window.Total())
	n := 0
	var first history.Op
	for _, op := range ops {
		if op.ServedBy == region && op.Start.After(cut) {
			if n == 0 || op.Start.Before(first.Start) {
				first = op
			}
			n++
		}
	}
	b := TimeBound(window)
	if n > 0 {
		return result(name, Liveness, false, float64(n), "count", b, "%d operations served by %s that started more than %s after it left rotation (first: seq %d at +%s)",
			n, region, window, first.Seq, bounds.Round(first.Start.Sub(markedAt)))
	}
	return result(name, Liveness, true, 0, "count", b, "no operation that started more than %s after %s left rotation reached it", bounds.Round(window.Total()), region)
}

// EveryUserContinues fails when a user active before since has no
// acknowledged message that started after it.
func EveryUserContinues(ops []history.Op, since time.Time) Result {
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
	for _, u := range sortedKeys(active) {
		if !ok[u] {
			stuck = append(stuck, u)
		}
	}
	if len(stuck) > 0 {
		return result(name, Liveness, false, float64(len(stuck)), "count", nil, "%d of %d users got no acknowledged message after the fault: %s", len(stuck), len(active), strings.Join(stuck, ","))
	}
	return result(name, Liveness, true, 0, "count", nil, "all %d users continued", len(active))
}

// ServedOnlyBy fails when a successful operation that started after since
// was served by a region other than region (the only one left).
func ServedOnlyBy(ops []history.Op, region string, since time.Time) Result {
	n, other := 0, 0
	for _, op := range ops {
		if op.OK() && op.Start.After(since) && op.Kind != history.KindRead {
			n++
			if op.ServedBy != region {
				other++
			}
		}
	}
	return result("served-only-by("+region+")", Liveness, n > 0 && other == 0, float64(other), "count", nil,
		"%d of %d operations that started after the others left rotation were served by a region other than %s", other, n, region)
}
