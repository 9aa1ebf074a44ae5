package check

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/history"
)

// Conversation is a session as read back.
type Conversation struct {
	IDs      []string // user message ids, in stored order
	Versions []int64  // the session version each was stored at
	Messages int      // every message kept, replies included
	// Expired: read back as 410, the session's TTL ran out, answered at
	// ReadAt (the harness's clock).
	Expired bool
	ReadAt  time.Time
}

// Ack is one acknowledged message: its first successful answer.
type Ack struct {
	ID      string
	Version int64 // the session version the message was stored at; 0 unknown
	Start   time.Time
	End     time.Time
}

// byCompletion returns the indices of ops ordered by completion (End, then
// Seq; ties keep slice order): one clock, the harness's. Indices, not
// copies: sorting a million operations moves ints, not whole records.
func byCompletion(ops []history.Op) []int {
	return stableOrder(len(ops), func(a, b int) bool {
		if !ops[a].End.Equal(ops[b].End) {
			return ops[a].End.Before(ops[b].End)
		}
		return ops[a].Seq < ops[b].Seq
	})
}

// stableOrder returns 0..n-1 stably sorted by less over the indices.
func stableOrder(n int, less func(a, b int) bool) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return less(order[i], order[j]) })
	return order
}

// Acks lists each session's acknowledged messages in ack order. The
// version a message was stored at comes from any of its answers that says
// (duplicates included), else from a first-time answer's session version,
// which is the version of the write that stored it.
func Acks(ops []history.Op) map[string][]Ack {
	out := map[string][]Ack{}
	idx := map[string]int{}
	for _, i := range byCompletion(ops) {
		op := &ops[i]
		if op.Kind != history.KindMessage || !op.OK() || op.MessageID == "" {
			continue
		}
		v := op.MessageVersion
		if v == 0 && !op.Duplicate {
			v = op.Version
		}
		k := op.Session + "\x00" + op.MessageID
		if i, ok := idx[k]; ok {
			if a := &out[op.Session][i]; a.Version == 0 {
				a.Version = v
			}
			continue
		}
		idx[k] = len(out[op.Session])
		out[op.Session] = append(out[op.Session], Ack{ID: op.MessageID, Version: v, Start: op.Start, End: op.End})
	}
	return out
}

// Loss is what the final conversations lack of what was acknowledged.
type Loss struct {
	BySession map[string][]Ack
	Unread    int // sessions not read back (not judged)
	Evicted   int // acknowledged messages the conversation bound pushed out
	// Expired counts sessions read back expired after being idle for their
	// TTL: the configured contract (users re-authenticate), not a loss.
	Expired int
}

// Count is the number of lost acknowledged messages.
func (l Loss) Count() int {
	n := 0
	for _, a := range l.BySession {
		n += len(a)
	}
	return n
}

// IDs lists "session/message" of every lost message, sorted.
func (l Loss) IDs() []string {
	var out []string
	for s, as := range l.BySession {
		for _, a := range as {
			out = append(out, s+"/"+a.ID)
		}
	}
	sort.Strings(out)
	return out
}

// Lost finds acknowledged messages absent from the final conversations.
// A bounded conversation keeps its newest maxMessages entries, so a missing
// message counts as evicted, not lost, only when the conversation is full
// and every user message it kept was stored at a later session version
// than the missing one. Two messages stored at one version mean two
// lineages forked (writers built on the same copy, as last-write-wins or a
// periodic checkpoint does), and the kept ones may never have had the
// missing one below them: it counts as evicted only if every other message
// at its version was reported overwritten (reported holds "session/id"),
// which says its own lineage is the one that went on. Eviction is judged by
// the conversation's logical order, never by timestamps (they come from
// different regions' clocks). A session that came back empty (404, or 410
// expired) lost everything, unless it expired after idling for its TTL:
// from its last acknowledged write's start (the earliest the region could
// have stamped its expiry) to the 410's arrival, both on the harness's
// clock, is at least ttl. A 410 any sooner is the system expiring a live
// conversation, and a loss.
func Lost(ops []history.Op, final map[string]Conversation, maxMessages int, reported map[string]bool, ttl time.Duration) Loss {
	l := Loss{BySession: map[string][]Ack{}}
	acks := Acks(ops)
	for _, sess := range sortedKeys(acks) {
		conv, ok := final[sess]
		if !ok {
			l.Unread++
			continue
		}
		if conv.Expired && ttl > 0 && len(conv.IDs) == 0 {
			var last time.Time
			for _, a := range acks[sess] {
				if a.Start.After(last) {
					last = a.Start
				}
			}
			if !conv.ReadAt.Before(last.Add(ttl)) {
				l.Expired++
				continue
			}
		}
		present := make(map[string]bool, len(conv.IDs))
		for _, id := range conv.IDs {
			present[id] = true
		}
		// Which user messages each version holds, by every account we have.
		owners := map[int64]map[string]bool{}
		own := func(v int64, id string) {
			if v == 0 {
				return
			}
			if owners[v] == nil {
				owners[v] = map[string]bool{}
			}
			owners[v][id] = true
		}
		for _, a := range acks[sess] {
			own(a.Version, a.ID)
		}
		full := maxMessages > 0 && conv.Messages >= maxMessages && len(conv.Versions) == len(conv.IDs) && len(conv.IDs) > 0
		var oldest int64
		for i, id := range conv.IDs {
			if i < len(conv.Versions) {
				own(conv.Versions[i], id)
				if i == 0 || conv.Versions[i] < oldest {
					oldest = conv.Versions[i]
				}
			}
		}
		// survived: no other lineage at a's version went on.
		survived := func(a Ack) bool {
			for id := range owners[a.Version] {
				if id != a.ID && !reported[sess+"/"+id] {
					return false
				}
			}
			return true
		}
		for _, a := range acks[sess] {
			if present[a.ID] {
				continue
			}
			if full && a.Version > 0 && oldest > a.Version && survived(a) {
				l.Evicted++
				continue
			}
			l.BySession[sess] = append(l.BySession[sess], a)
		}
	}
	return l
}

func examples(ids []string, n int) string {
	if len(ids) > n {
		return strings.Join(ids[:n], ", ") + ", ..."
	}
	return strings.Join(ids, ", ")
}

// LostAcked fails when an acknowledged message is missing from its
// session's final conversation (see Lost for eviction).
func LostAcked(l Loss) Result {
	const name = "no-acked-message-lost"
	n := l.Count()
	if n > 0 {
		return result(name, Safety, false, float64(n), "count", nil, "%d acknowledged messages lost (%s); %d evicted by the conversation bound; %d sessions not read back; %d expired after idling for their TTL",
			n, examples(l.IDs(), 5), l.Evicted, l.Unread, l.Expired)
	}
	return result(name, Safety, true, 0, "count", nil, "every acknowledged message present or evicted by the bound (%d evicted, judged by stored version); %d sessions not read back; %d expired after idling for their TTL", l.Evicted, l.Unread, l.Expired)
}

// RPO states what the loss means against the checkpoint policy's promise:
// Value is the longest span, per session, from the first to the last lost
// acknowledgement (seconds of conversation lost, on the harness's clock).
// The bound is the policy's window; an unbounded policy is reported, not
// held to a limit.
func RPO(l Loss, rpo bounds.RPO) Result {
	const name = "rpo"
	var span time.Duration
	for _, as := range l.BySession {
		lo, hi := as[0].Start, as[0].End
		for _, a := range as {
			if a.Start.Before(lo) {
				lo = a.Start
			}
			if a.End.After(hi) {
				hi = a.End
			}
		}
		span = max(span, hi.Sub(lo))
	}
	n := l.Count()
	if rpo.Unbounded {
		return result(name, Safety, true, span.Seconds(), "s", nil, "%d acknowledged messages (%.3fs of conversation) lost; the checkpoint policy sets no bound (%s)", n, span.Seconds(), rpo.Messages)
	}
	b := &Bound{Limit: rpo.Window.Seconds(), Unit: "s", Text: fmt.Sprintf("%s (checkpoint policy: %s)", rpo.Window, rpo.Messages)}
	ok := span <= rpo.Window && (rpo.Window > 0 || n == 0)
	return result(name, Safety, ok, span.Seconds(), "s", b, "%d acknowledged messages lost, spanning %.3fs of conversation; bound %s", n, span.Seconds(), rpo.Window)
}

// NoSilentOverwrite fails when a lost acknowledged message was not reported
// by id as overwritten by the runtime that removed it.
func NoSilentOverwrite(l Loss, reported map[string]bool, strategy string) Result {
	const name = "no-silent-overwrite"
	var silent []string
	for _, id := range l.IDs() {
		if !reported[id] {
			silent = append(silent, id)
		}
	}
	if len(silent) > 0 {
		return result(name, Safety, false, float64(len(silent)), "count", nil, "%d of %d lost acknowledged messages were never reported as overwritten (%s); strategy %s",
			len(silent), l.Count(), examples(silent, 5), strategy)
	}
	return result(name, Safety, true, 0, "count", nil, "%d acknowledged messages lost, every one reported by id as overwritten (%d overwrite reports); strategy %s", l.Count(), len(reported), strategy)
}

// VersionsMonotonic fails when a session's version goes backwards: an
// operation saw an older version than one that had completed before it
// started (both on the harness's clock). Concurrent operations have no
// real-time order, so they are not compared.
func VersionsMonotonic(ops []history.Op) Result {
	const name = "versions-monotonic"
	bySess := map[string][]int{} // indices into ops, in slice order
	for i := range ops {
		if op := &ops[i]; op.OK() && op.Session != "" && op.Version != 0 {
			bySess[op.Session] = append(bySess[op.Session], i)
		}
	}
	bad := 0
	var first string
	for _, sess := range sortedKeys(bySess) {
		ss := bySess[sess]
		byStart := append([]int(nil), ss...)
		sort.SliceStable(byStart, func(i, j int) bool { return ops[byStart[i]].Start.Before(ops[byStart[j]].Start) })
		byEnd := append([]int(nil), ss...)
		sort.SliceStable(byEnd, func(i, j int) bool {
			a, b := &ops[byEnd[i]], &ops[byEnd[j]]
			if !a.End.Equal(b.End) {
				return a.End.Before(b.End)
			}
			return a.Seq < b.Seq
		})
		// Sweep: before judging an op, fold in every op that ended before it
		// started; the highest version among them is the floor it must reach.
		floor := -1 // index into ops; none yet
		floorVersion := int64(0)
		j := 0
		for _, k := range byStart {
			op := &ops[k]
			for ; j < len(byEnd) && ops[byEnd[j]].End.Before(op.Start); j++ {
				if v := ops[byEnd[j]].Version; v > floorVersion {
					floor, floorVersion = byEnd[j], v
				}
			}
			if op.Version < floorVersion {
				bad++
				if first == "" {
					f := &history.Op{} // no floor yet: version 0, as a zero op
					if floor >= 0 {
						f = &ops[floor]
					}
					first = fmt.Sprintf("session %s: version %d (seq %d, %s) after %d (seq %d, %s) had completed",
						sess, op.Version, op.Seq, op.ServedBy, f.Version, f.Seq, f.ServedBy)
				}
			}
		}
	}
	if bad > 0 {
		return result(name, Safety, false, float64(bad), "count", nil, "%d backwards versions; first: %s", bad, first)
	}
	return result(name, Safety, true, 0, "count", nil, "%d sessions, versions never went backwards", len(bySess))
}

// AcksDurable fails when the runtime acknowledged messages before they were
// in the global store: whatever the measured loss, a region failure in that
// window loses them. window is the checkpoint interval as run, real the same
// in real time.
func AcksDurable(ops []history.Op, policy string, window, real time.Duration) Result {
	const name = "ack-implies-durable"
	acked, notDurable := 0, 0
	for _, op := range ops {
		if op.Kind == history.KindMessage && op.OK() && !op.Duplicate {
			acked++
			if !op.Durable {
				notDurable++
			}
		}
	}
	if notDurable > 0 {
		return result(name, Safety, false, float64(notDurable), "count", nil,
			"%d of %d acknowledged messages were not yet in the global store when acknowledged (checkpoint policy %s every %v, %v in real time): acknowledged messages between checkpoints are lost when a region fails",
			notDurable, acked, policy, window, real)
	}
	return result(name, Safety, true, 0, "count", nil, "all %d acknowledged messages were in the global store before the reply", acked)
}
