// Package check holds pure checkers over a recorded history (plus final
// conversations, LB transitions and alerts). Each returns a Result; none
// talks to the system under test.
package check

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/topology"
)

// Result is one checker's verdict. Value is the measured figure (count,
// seconds, fraction) the checker is about.
type Result struct {
	Name   string  `json:"name"`
	OK     bool    `json:"ok"`
	Reason string  `json:"reason,omitempty"`
	Value  float64 `json:"value"`
}

func pass(name string, v float64, format string, args ...any) Result {
	return Result{Name: name, OK: true, Value: v, Reason: fmt.Sprintf(format, args...)}
}

func fail(name string, v float64, format string, args ...any) Result {
	return Result{Name: name, OK: false, Value: v, Reason: fmt.Sprintf(format, args...)}
}

// byCompletion returns ops ordered by completion (End, then Seq).
func byCompletion(ops []history.Op) []history.Op {
	s := append([]history.Op(nil), ops...)
	sort.SliceStable(s, func(i, j int) bool {
		if !s[i].End.Equal(s[j].End) {
			return s[i].End.Before(s[j].End)
		}
		return s[i].Seq < s[j].Seq
	})
	return s
}

// Filter keeps the ops of the given kinds.
func Filter(ops []history.Op, kinds ...string) []history.Op {
	var out []history.Op
	for _, op := range ops {
		for _, k := range kinds {
			if op.Kind == k {
				out = append(out, op)
				break
			}
		}
	}
	return out
}

type ack struct {
	id    string
	start time.Time
	end   time.Time
}

// acksBySession lists each session's acknowledged message ids in ack order
// (first 2xx per id).
func acksBySession(ops []history.Op) map[string][]ack {
	out := map[string][]ack{}
	seen := map[string]bool{}
	for _, op := range byCompletion(ops) {
		if op.Kind != history.KindMessage || !op.OK() || op.MessageID == "" {
			continue
		}
		k := op.Session + "\x00" + op.MessageID
		if seen[k] {
			continue
		}
		seen[k] = true
		out[op.Session] = append(out[op.Session], ack{op.MessageID, op.Start, op.End})
	}
	return out
}

func lostResult(name string, lostBy map[string][]ack, skipped int) Result {
	n := 0
	var ex []string
	for sess, l := range lostBy {
		n += len(l)
		for _, a := range l {
			if len(ex) < 5 {
				ex = append(ex, sess+"/"+a.id)
			}
		}
	}
	sort.Strings(ex)
	if n > 0 {
		return fail(name, float64(n), "%d acknowledged messages lost (e.g. %s); %d sessions not read back", n, strings.Join(ex, ", "), skipped)
	}
	return pass(name, 0, "every acknowledged message present; %d sessions not read back", skipped)
}

// VersionsMonotonic fails when a session's version goes backwards: an
// operation that started after another had completed saw an older version.
// Concurrent operations (overlapping in time) have no real-time order, so
// they are not compared.
func VersionsMonotonic(ops []history.Op) Result {
	const name = "versions-monotonic"
	last := map[string]history.Op{}
	bad := 0
	var first string
	for _, op := range byCompletion(ops) {
		if !op.OK() || op.Session == "" {
			continue
		}
		if prev, ok := last[op.Session]; ok && op.Version < prev.Version && op.Start.After(prev.End) {
			bad++
			if first == "" {
				first = fmt.Sprintf("session %s: version %d (seq %d, %s) after %d (seq %d, %s)",
					op.Session, op.Version, op.Seq, op.ServedBy, prev.Version, prev.Seq, prev.ServedBy)
			}
			continue // compare later ops with the highest version seen
		}
		last[op.Session] = op
	}
	if bad > 0 {
		return fail(name, float64(bad), "%d backwards versions; first: %s", bad, first)
	}
	return pass(name, 0, "%d sessions, versions never went backwards", len(last))
}

// NoTrafficAfterDown fails when an op that started later than markedAt+window
// was answered by region (by X-Served-By).
func NoTrafficAfterDown(ops []history.Op, region string, markedAt time.Time, window time.Duration) Result {
	name := "no-traffic-after-down(" + region + ")"
	cut := markedAt.Add(window)
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
	if n > 0 {
		return fail(name, float64(n), "%d operations served by %s more than %v after it was marked down (first: seq %d at +%v)",
			n, region, window, first.Seq, first.Start.Sub(markedAt).Round(time.Millisecond))
	}
	return pass(name, 0, "no operation reached %s after %v", region, cut.Format(time.RFC3339Nano))
}

// WeightSplit fails when any region's share of successful ops differs from
// its weight share by more than tolerance (a fraction, e.g. 0.1). Value is
// the largest deviation.
func WeightSplit(ops []history.Op, weights map[string]int, tolerance float64) Result {
	const name = "weight-split"
	count := map[string]int{}
	total := 0
	for _, op := range ops {
		if op.OK() && op.ServedBy != "" {
			count[op.ServedBy]++
			total++
		}
	}
	wsum := 0
	for _, w := range weights {
		wsum += w
	}
	if total == 0 || wsum == 0 {
		return fail(name, 1, "nothing to compare: %d successful ops, weight sum %d", total, wsum)
	}
	worst, worstRegion := 0.0, ""
	var parts []string
	regions := make([]string, 0, len(weights))
	for r := range weights {
		regions = append(regions, r)
	}
	for r := range count {
		if _, ok := weights[r]; !ok {
			regions = append(regions, r)
		}
	}
	sort.Strings(regions)
	for _, r := range regions {
		got := float64(count[r]) / float64(total)
		want := float64(weights[r]) / float64(wsum)
		if d := math.Abs(got - want); d > worst {
			worst, worstRegion = d, r
		}
		parts = append(parts, fmt.Sprintf("%s %.2f (want %.2f)", r, got, want))
	}
	msg := fmt.Sprintf("%d ops: %s", total, strings.Join(parts, ", "))
	if worst > tolerance {
		return fail(name, worst, "%s; %s off by %.2f > %.2f", msg, worstRegion, worst, tolerance)
	}
	return pass(name, worst, "%s", msg)
}

// AlertsOnce fails unless exactly one firing alert called name arrived.
func AlertsOnce(alerts []topology.Alert, name string) Result {
	rn := "alert-once(" + name + ")"
	n := 0
	for _, a := range alerts {
		if a.Name == name && a.Status == "firing" {
			n++
		}
	}
	switch n {
	case 1:
		return pass(rn, 1, "one firing alert")
	case 0:
		return fail(rn, 0, "no firing %s alert received", name)
	default:
		return fail(rn, float64(n), "%d firing %s alerts: an alert storm", n, name)
	}
}

// DetectionTime measures from faultStart to the LB's first transition of
// region away from active. Value is seconds; it fails when there is none or
// it exceeds bound (bound 0 = no bound).
func DetectionTime(faultStart time.Time, transitions []topology.Transition, region string, bound time.Duration) Result {
	name := "detection-time(" + region + ")"
	var at time.Time
	for _, t := range transitions {
		if t.Region == region && t.To != "active" && !t.At.Before(faultStart) && (at.IsZero() || t.At.Before(at)) {
			at = t.At
		}
	}
	if at.IsZero() {
		return fail(name, math.Inf(1), "%s never left active after the fault", region)
	}
	d := at.Sub(faultStart)
	if bound > 0 && d > bound {
		return fail(name, d.Seconds(), "detected after %v > bound %v", d.Round(time.Millisecond), bound)
	}
	return pass(name, d.Seconds(), "detected after %v", d.Round(time.Millisecond))
}

// RTO measures the longest unavailability of any user after faultStart: from
// a failed operation to that user's next success. Users are the unit so a
// re-authentication into a new session is part of the same outage. A user
// with no success after a failure counts until its last operation and fails
// the check. bound 0 = no bound.
func RTO(ops []history.Op, faultStart time.Time, bound time.Duration) Result {
	const name = "rto"
	byUser := map[string][]history.Op{}
	for _, op := range ops {
		if op.Kind == history.KindRead {
			continue
		}
		byUser[op.User] = append(byUser[op.User], op)
	}
	var worst time.Duration
	worstUser, unrecovered := "", 0
	for u, us := range byUser {
		sort.SliceStable(us, func(i, j int) bool { return us[i].Start.Before(us[j].Start) })
		var down time.Time
		for _, op := range us {
			if op.Start.Before(faultStart) {
				continue
			}
			if !op.OK() {
				if down.IsZero() {
					down = op.Start
				}
				continue
			}
			if !down.IsZero() {
				if d := op.End.Sub(down); d > worst {
					worst, worstUser = d, u
				}
				down = time.Time{}
			}
		}
		if !down.IsZero() {
			unrecovered++
			if d := us[len(us)-1].End.Sub(down); d > worst {
				worst, worstUser = d, u
			}
		}
	}
	if unrecovered > 0 {
		return fail(name, worst.Seconds(), "%d users never recovered (longest %v, %s)", unrecovered, worst.Round(time.Millisecond), worstUser)
	}
	if bound > 0 && worst > bound {
		return fail(name, worst.Seconds(), "longest unavailability %v (%s) > bound %v", worst.Round(time.Millisecond), worstUser, bound)
	}
	return pass(name, worst.Seconds(), "longest unavailability %v (%s)", worst.Round(time.Millisecond), worstUser)
}

func rpoResults(lostBy map[string][]ack, skipped, maxMessages int, maxSeconds float64) (messages, seconds Result) {
	n := 0
	var span time.Duration
	for _, l := range lostBy {
		n += len(l)
		lo, hi := l[0].start, l[0].end
		for _, a := range l {
			if a.start.Before(lo) {
				lo = a.start
			}
			if a.end.After(hi) {
				hi = a.end
			}
		}
		if d := hi.Sub(lo); d > span {
			span = d
		}
	}
	if n > maxMessages {
		messages = fail("rpo-messages", float64(n), "%d acknowledged messages lost > %d", n, maxMessages)
	} else {
		messages = pass("rpo-messages", float64(n), "%d acknowledged messages lost; %d sessions not read back", n, skipped)
	}
	if span.Seconds() > maxSeconds {
		seconds = fail("rpo-seconds", span.Seconds(), "%.3fs of conversation lost > %.3fs", span.Seconds(), maxSeconds)
	} else {
		seconds = pass("rpo-seconds", span.Seconds(), "%.3fs of conversation lost", span.Seconds())
	}
	return messages, seconds
}

// ErrorRate fails when more than max (fraction) of the non-read ops that
// started in [from, to) failed. Value is the observed fraction.
func ErrorRate(ops []history.Op, from, to time.Time, max float64) Result {
	const name = "client-error-rate"
	total, bad := 0, 0
	for _, op := range ops {
		if op.Kind == history.KindRead || op.Start.Before(from) || !op.Start.Before(to) {
			continue
		}
		total++
		if !op.OK() {
			bad++
		}
	}
	if total == 0 {
		return fail(name, 0, "no operations between %s and %s", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	r := float64(bad) / float64(total)
	if r > max {
		return fail(name, r, "%d/%d operations failed (%.1f%% > %.1f%%)", bad, total, 100*r, 100*max)
	}
	return pass(name, r, "%d/%d operations failed (%.1f%%)", bad, total, 100*r)
}

// Conversation is a session as read back: its user message ids, oldest
// first, with the times the runtime stamped on them.
type Conversation struct {
	IDs   []string
	Times []time.Time
}

// lost finds acknowledged ids absent from the final conversations of
// a bounded store. The conversation is kept in write order, which concurrent
// writers make differ from ack order, and writes whose ack never reached a
// client also take room; so eviction is judged by time, not by counting
// acks: a missing id counts as evicted only when the conversation is full
// (window user messages) and its oldest kept message was stamped after the
// missing one's request had started. Otherwise it is lost.
func lost(ops []history.Op, final map[string]Conversation, window int) (lostBy map[string][]ack, skipped int) {
	lostBy = map[string][]ack{}
	for sess, acks := range acksBySession(ops) {
		conv, ok := final[sess]
		if !ok {
			skipped++
			continue
		}
		present := map[string]bool{}
		for _, id := range conv.IDs {
			present[id] = true
		}
		full := window > 0 && len(conv.IDs) >= window && len(conv.Times) > 0
		for _, a := range acks {
			if present[a.id] {
				continue
			}
			if full && !conv.Times[0].Before(a.start) {
				continue // written before everything kept: evicted by the bound
			}
			lostBy[sess] = append(lostBy[sess], a)
		}
	}
	return lostBy, skipped
}

// LostAcked fails when an acknowledged message is missing from its
// session's final conversation, bounded to window user messages (0 =
// unbounded; see lost for how eviction is told apart from loss).
func LostAcked(ops []history.Op, final map[string]Conversation, window int) Result {
	const name = "no-acked-message-lost"
	lostBy, skipped := lost(ops, final, window)
	return lostResult(name, lostBy, skipped)
}

// RPO reports acknowledged messages lost (Value: count, must be <=
// maxMessages) and seconds of conversation lost (Value: the longest span,
// per session, from the first to the last lost ack; must be <= maxSeconds).
func RPO(ops []history.Op, final map[string]Conversation, window, maxMessages int, maxSeconds float64) (messages, seconds Result) {
	lostBy, skipped := lost(ops, final, window)
	return rpoResults(lostBy, skipped, maxMessages, maxSeconds)
}
