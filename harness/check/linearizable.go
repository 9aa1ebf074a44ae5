package check

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/agentops/failover-harness/harness/history"
)

// LinearizableApplies says whether the configuration promises a
// linearizable session: every acknowledgement written to the global store
// first (on-ack) and every write conditional on the version it builds on
// (version-wins, or merge, which re-reads and writes the next version).
// Otherwise it says why not: last-write-wins overwrites by design (judged by
// no-silent-overwrite), and a periodic or on-mutation checkpoint acknowledges
// from a region's memory (judged by the RPO).
func LinearizableApplies(policy, strategy string) (bool, string) {
	if policy != "on-ack" {
		return false, fmt.Sprintf("checkpoint policy %s acknowledges before the global store has the message (the RPO check judges it)", policy)
	}
	if strategy == "last-write-wins" {
		return false, "last-write-wins overwrites concurrent writers by design (no-silent-overwrite judges it)"
	}
	return true, ""
}

// LinearizableOptions tunes Linearizable.
type LinearizableOptions struct {
	// MaxMessages is the conversation bound (session.max_messages): a read
	// shows the user messages among the newest MaxMessages messages.
	MaxMessages int
	// Dir, when set, receives porcupine's visualization of each failing
	// session (linearizability-<session>.html).
	Dir string
	// Timeout bounds the search; 0 means 60 s. A search that runs out is
	// not a verdict on the system: the result is then evidence missing.
	Timeout time.Duration
}

// One session as the model sees it: its version and every user message id
// stored, in conversation order, with the version each was stored at: a
// persistent list, newest first, so a step allocates one node. The id
// record outlives the conversation bound, so nothing is ever removed except
// by a re-create after expiry, which starts over.
type sessionState struct {
	version int64
	last    *idNode // newest stored message; nil: none
}

type idNode struct {
	id   string
	at   int64
	prev *idNode
	n    int    // messages up to and including this one
	h    uint64 // chained hash of the ids up to this one
}

func (s *sessionState) count() int {
	if s.last == nil {
		return 0
	}
	return s.last.n
}

func (s *sessionState) has(id string) (int64, bool) {
	for n := s.last; n != nil; n = n.prev {
		if n.id == id {
			return n.at, true
		}
	}
	return 0, false
}

func (s *sessionState) appended(id string, v int64) *sessionState {
	n := &idNode{id: id, at: v, prev: s.last, n: s.count() + 1, h: chain(s.last, id, v)}
	return &sessionState{version: v, last: n}
}

func chain(prev *idNode, id string, v int64) uint64 {
	h := uint64(14695981039346656037)
	if prev != nil {
		h = prev.h
	}
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	return (h ^ uint64(v)) * 1099511628211
}

// newest returns up to k ids, oldest first.
func (s *sessionState) newest(k int) []string {
	k = min(k, s.count())
	out := make([]string, k)
	n := s.last
	for i := k - 1; i >= 0; i-- {
		out[i] = n.id
		n = n.prev
	}
	return out
}

func (s *sessionState) equal(o *sessionState) bool {
	if s.version != o.version || s.count() != o.count() {
		return false
	}
	a, b := s.last, o.last
	if a != nil && a.h != b.h {
		return false
	}
	for ; a != nil && a != b; a, b = a.prev, b.prev {
		if a.id != b.id || a.at != b.at {
			return false
		}
	}
	return true
}

// linIn is an operation's input; linOut what the client saw (unknown: no
// answer, or a 5xx after which the write may still have happened).
type linIn struct {
	kind, msg string
}

type linOut struct {
	unknown          bool
	version, msgVer  int64
	duplicate        bool
	ids              []string // a read's user message ids
	seq              int64
	status           int
	servedBy, detail string
}

// sessionModel is one session under the conflict rules of version-wins
// and merge with on-ack checkpoints: a write builds on the version it read
// and the store takes it only as the next version. Nondeterministic where
// the client could not see the outcome.
func sessionModel(maxMessages int) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: partitionBySession,
		Init:      func() []any { return []any{&sessionState{}} },
		Step: func(st, in, out any) []any {
			return step(st.(*sessionState), in.(linIn), out.(linOut), maxMessages)
		},
		Equal: func(a, b any) bool { return a.(*sessionState).equal(b.(*sessionState)) },
		Hash: func(st any) uint64 {
			s := st.(*sessionState)
			h := uint64(s.version) * 0x9E3779B97F4A7C15
			if s.last != nil {
				h ^= s.last.h
			}
			return h
		},
		DescribeOperation: describeOp,
		DescribeState: func(st any) string {
			s := st.(*sessionState)
			if s.version == 0 {
				return "absent"
			}
			return fmt.Sprintf("version %d, %d messages%s", s.version, s.count(), lastIDs(s.newest(4), 3)) // four: the fourth says there are more
		},
	}
	return nm.ToModel()
}

func lastIDs(ids []string, n int) string {
	if len(ids) == 0 {
		return ""
	}
	if len(ids) > n {
		return " (…, " + strings.Join(ids[len(ids)-n:], ", ") + ")"
	}
	return " (" + strings.Join(ids, ", ") + ")"
}

// step returns every state the operation can leave behind (none: illegal).
func step(s *sessionState, in linIn, out linOut, maxMessages int) []any {
	switch in.kind {
	case history.KindCreate, history.KindReauth:
		fresh := &sessionState{version: 1}
		if out.unknown {
			if s.version == 0 || in.kind == history.KindReauth {
				return []any{s, fresh}
			}
			return []any{s}
		}
		var next []any
		if s.version == 0 {
			if out.version == 1 {
				next = append(next, fresh)
			}
			return next
		}
		if out.version == s.version { // an idempotent re-create by the owner
			next = append(next, s)
		}
		if out.version == 1 { // a re-create after the session expired
			next = append(next, fresh)
		}
		return next
	case history.KindMessage:
		if s.version == 0 {
			return nil // a message needs its session
		}
		at, stored := s.has(in.msg)
		if out.unknown {
			if stored {
				return []any{s}
			}
			return []any{s, s.appended(in.msg, s.version+1)}
		}
		mv := out.msgVer
		if mv == 0 && !out.duplicate {
			mv = out.version
		}
		if !out.duplicate {
			// a first acknowledgement stores the message at the next version
			if stored || s.version != mv-1 || out.version != mv {
				return nil
			}
			return []any{s.appended(in.msg, mv)}
		}
		if stored {
			if (mv != 0 && at != mv) || out.version != s.version {
				return nil
			}
			return []any{s}
		}
		// an earlier attempt of this very operation stored it (the LB's
		// retry answered duplicate): it took effect inside this operation
		if mv == 0 || s.version != mv-1 || out.version < mv {
			return nil
		}
		return []any{s.appended(in.msg, mv)}
	case history.KindRead:
		if out.version != s.version {
			return nil
		}
		k := s.count()
		if maxMessages > 0 {
			k = min(k, maxMessages/2)
		}
		if len(out.ids) != k {
			return nil
		}
		n := s.last
		for i := k - 1; i >= 0; i-- {
			if out.ids[i] != n.id {
				return nil
			}
			n = n.prev
		}
		return []any{s}
	}
	return nil
}

func describeOp(in, out any) string {
	i, o := in.(linIn), out.(linOut)
	var b strings.Builder
	switch i.kind {
	case history.KindMessage:
		fmt.Fprintf(&b, "append %s", i.msg)
	default:
		b.WriteString(i.kind)
	}
	switch {
	case o.unknown:
		fmt.Fprintf(&b, " → unknown (%s)", o.detail)
	case i.kind == history.KindRead:
		fmt.Fprintf(&b, " → version %d, %d messages%s", o.version, len(o.ids), lastIDs(o.ids, 3))
	case o.duplicate:
		fmt.Fprintf(&b, " → duplicate, stored at %d, version %d", o.msgVer, o.version)
	default:
		fmt.Fprintf(&b, " → version %d", o.version)
	}
	if o.servedBy != "" {
		fmt.Fprintf(&b, " by %s", o.servedBy)
	}
	if o.seq >= 0 {
		fmt.Fprintf(&b, " [seq %d]", o.seq)
	}
	return b.String()
}

// unanswered is the return time of an operation whose outcome the client never
// learned: it may take effect at any later point.
const unanswered = math.MaxInt64

// sessionMeta is how Partition finds an operation's session.
type sessionMeta struct{ session string }

func partitionBySession(ops []porcupine.Operation) [][]porcupine.Operation {
	by := map[string][]porcupine.Operation{}
	var order []string
	for _, op := range ops {
		s := op.Metadata.(sessionMeta).session
		if _, ok := by[s]; !ok {
			order = append(order, s)
		}
		by[s] = append(by[s], op)
	}
	out := make([][]porcupine.Operation, 0, len(order))
	for _, s := range order {
		out = append(out, by[s])
	}
	return out
}

// unknownOutcome: no answer, or a 5xx after which the request may still
// have been applied (a timed-out write the region completed). A 4xx is the
// system refusing: nothing was written.
func unknownOutcome(op *history.Op) bool { return op.Abandoned || op.Status == 0 || op.Status >= 500 }

// linOps turns the history into porcupine operations, one client (the
// history's single clock) for all. The attempts of one write (a user's
// retries of a message id, of a session create) are one operation from the
// first attempt's start to the first answer that acknowledged it: an
// earlier attempt may have stored it, so its effect can fall anywhere in
// that span; with no acknowledgement at all, the outcome is unknown and the
// span never ends. Folding only widens spans, so it never makes a history
// illegal.
func linOps(ops []history.Op) (map[string][]porcupine.Operation, int) {
	bySess := map[string][]int{} // indices into ops, in history order
	for i := range ops {
		if ops[i].Session != "" {
			bySess[ops[i].Session] = append(bySess[ops[i].Session], i)
		}
	}
	out := make(map[string][]porcupine.Operation, len(bySess))
	n := 0
	for sess, idx := range bySess {
		pops := sessionOps(ops, sess, idx)
		out[sess] = pops
		n += len(pops)
	}
	return out, n
}

// sessionOps is linOps for one session's operations.
func sessionOps(ops []history.Op, sess string, idx []int) []porcupine.Operation {
	meta := sessionMeta{sess}
	out := make([]porcupine.Operation, 0, len(idx))
	add := func(op *history.Op, in linIn, o linOut, call, ret int64) {
		o.seq, o.status, o.servedBy = op.Seq, op.Status, op.ServedBy
		out = append(out, porcupine.Operation{Input: in, Output: o, Call: call, Return: ret, Metadata: meta})
	}
	// The writes' attempts, grouped by message id (one group for the
	// session's creates), in order of first attempt.
	type group struct {
		key      string
		attempts []*history.Op
	}
	var groups []group
	where := map[string]int{}
	for _, i := range idx {
		op := &ops[i]
		switch op.Kind {
		case history.KindRead:
			if op.OK() && !op.Abandoned {
				add(op, linIn{kind: op.Kind}, linOut{version: op.Version, ids: op.IDs}, op.Start.UnixNano(), op.End.UnixNano())
			}
		case history.KindMessage, history.KindCreate, history.KindReauth:
			if !op.OK() && !unknownOutcome(op) {
				continue // refused: nothing written
			}
			key := "\x00create" // one create span per session id
			if op.Kind == history.KindMessage {
				key = op.MessageID
			}
			g, ok := where[key]
			if !ok {
				g = len(groups)
				where[key] = g
				groups = append(groups, group{key: key})
			}
			groups[g].attempts = append(groups[g].attempts, op)
		}
	}
	for _, g := range groups {
		as := g.attempts
		if len(as) > 1 {
			sort.SliceStable(as, func(i, j int) bool { return as[i].End.Before(as[j].End) })
		}
		first := as[0].Start
		for _, op := range as[1:] {
			if op.Start.Before(first) {
				first = op.Start
			}
		}
		msg := as[0].MessageID
		acked := false
		for _, op := range as {
			if !op.OK() || op.Abandoned {
				continue
			}
			o := linOut{version: op.Version, msgVer: op.MessageVersion, duplicate: op.Duplicate}
			call := op.Start.UnixNano()
			if !acked {
				// the first answer carries every earlier attempt's span
				call, acked = first.UnixNano(), true
			}
			add(op, linIn{kind: op.Kind, msg: msg}, o, call, op.End.UnixNano())
		}
		if !acked {
			last := as[len(as)-1]
			detail := fmt.Sprintf("%d attempts, last %s", len(as), outcomeText(last))
			add(last, linIn{kind: as[0].Kind, msg: msg}, linOut{unknown: true, detail: detail}, first.UnixNano(), unanswered)
		}
	}
	return out
}

func outcomeText(op *history.Op) string {
	switch {
	case op.Abandoned:
		return "cut off by the run's end"
	case op.Status == 0:
		return "no answer"
	default:
		return fmt.Sprintf("status %d %s", op.Status, op.Code)
	}
}

// Linearizable checks, with porcupine, that every session's history is
// linearizable against a model of one session: creates, acknowledged,
// duplicate and unanswered appends, and reads (the final reads included).
// Operations are judged on the harness's one clock, partitioned per
// session. A failure names the session and the smallest illegal sequence:
// the longest order porcupine could make legal, and the operations none of
// its extensions admits.
func Linearizable(ops []history.Op, opt LinearizableOptions) Result {
	const name = "linearizable"
	bySess, n := linOps(ops)
	if opt.Timeout <= 0 {
		opt.Timeout = time.Minute
	}
	model := sessionModel(opt.MaxMessages)
	// A session whose operations never overlap in time has one possible
	// order, the real-time one: it is checked by stepping the model along
	// it. The others go to porcupine's search. Same verdict, less work.
	var search []porcupine.Operation
	var suspects []string
	searched := 0
	for _, s := range sortedKeys(bySess) {
		switch sequentialLegal(model, bySess[s]) {
		case seqLegal:
		case seqIllegal:
			suspects = append(suspects, s)
		default:
			search = append(search, bySess[s]...)
			searched++
		}
	}
	if len(search) > 0 {
		switch porcupine.CheckOperationsTimeout(model, search, opt.Timeout) {
		case porcupine.Unknown:
			return result(name, Evidence, false, 0, "count", nil, "porcupine did not finish within %v on %d sessions with concurrent or unanswered operations: not judged", opt.Timeout, searched)
		case porcupine.Illegal:
			suspects = sortedKeys(bySess) // find them one by one below
		}
	}
	if len(suspects) == 0 {
		return result(name, Safety, true, 0, "count", nil, "%d sessions, %d operations: every session linearizable (porcupine searched the %d with concurrent or unanswered operations)", len(bySess), n, searched)
	}
	// Illegal: find and explain the sessions, each on its own.
	var bad []string
	var first, artifact string
	for _, s := range suspects {
		res, info := porcupine.CheckOperationsVerbose(model, bySess[s], opt.Timeout)
		if res != porcupine.Illegal {
			continue
		}
		bad = append(bad, s)
		if first != "" {
			continue
		}
		first = fmt.Sprintf("session %s: %s", s, explainIllegal(model, bySess[s], info))
		if opt.Dir != "" {
			file := "linearizability-" + safeFile(s) + ".html"
			if err := porcupine.VisualizePath(model, info, filepath.Join(opt.Dir, file)); err == nil {
				first += "; visualization " + file
				artifact = file
			} else {
				_ = os.Remove(filepath.Join(opt.Dir, file))
			}
		}
	}
	if len(bad) == 0 { // whole history illegal but no session alone: cannot be, partitions are independent
		first = "porcupine found the history illegal"
	}
	r := result(name, Safety, false, float64(len(bad)), "count", nil, "%d of %d sessions not linearizable; first: %s", len(bad), len(bySess), first)
	r.Artifact = artifact
	return r
}

type seqVerdict int

const (
	seqLegal seqVerdict = iota
	seqIllegal
	seqConcurrent // some operations overlap: porcupine must search
)

// sequentialLegal steps the model along ops in real-time order when no two
// of them overlap (each returns before the next is called).
func sequentialLegal(model porcupine.Model, ops []porcupine.Operation) seqVerdict {
	order := make([]int, len(ops))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return ops[order[a]].Call < ops[order[b]].Call })
	for k := 1; k < len(order); k++ {
		if ops[order[k-1]].Return >= ops[order[k]].Call {
			return seqConcurrent
		}
	}
	state := model.Init()
	for _, i := range order {
		ok, next := model.Step(state, ops[i].Input, ops[i].Output)
		if !ok {
			return seqIllegal
		}
		state = next
	}
	return seqLegal
}

// explainIllegal names the longest legal order porcupine found (its last
// few steps and the state it reached) and the operations that cannot follow.
func explainIllegal(model porcupine.Model, ops []porcupine.Operation, info porcupine.LinearizationInfo) string {
	parts := info.PartialLinearizations()
	var best []int
	for _, p := range parts {
		for _, lin := range p {
			if len(lin) > len(best) {
				best = lin
			}
		}
	}
	state := model.Init()
	for _, i := range best {
		_, state = model.Step(state, ops[i].Input, ops[i].Output)
	}
	done := map[int]bool{}
	for _, i := range best {
		done[i] = true
	}
	// The operations left, earliest call first; the first of them that the
	// reached state refuses is the illegal step.
	var left []int
	for i := range ops {
		if !done[i] {
			left = append(left, i)
		}
	}
	sort.SliceStable(left, func(a, b int) bool { return ops[left[a]].Call < ops[left[b]].Call })
	var prefix []string
	for _, i := range best[max(0, len(best)-3):] {
		prefix = append(prefix, model.DescribeOperation(ops[i].Input, ops[i].Output))
	}
	var refused string
	for _, i := range left {
		if ok, _ := model.Step(state, ops[i].Input, ops[i].Output); !ok {
			refused = model.DescribeOperation(ops[i].Input, ops[i].Output)
			break
		}
	}
	if refused == "" && len(left) > 0 {
		refused = model.DescribeOperation(ops[left[0]].Input, ops[left[0]].Output)
	}
	lead := "from the start"
	if len(prefix) > 0 {
		more := ""
		if len(best) > len(prefix) {
			more = "…, "
		}
		lead = fmt.Sprintf("after %d legal operations (%s%s)", len(best), more, strings.Join(prefix, "; "))
	}
	return fmt.Sprintf("%s reaching %s, no order admits %s", lead, model.DescribeState(state), refused)
}

func safeFile(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}
