package check

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/topology"
)

// genRun is a generated chaos run: what one row's checks read. Every time is
// on the harness's clock, starting at genT0.
type genRun struct {
	N        int
	Ops      []history.Op            // completion order, Seq stamped as History.Add does
	Final    map[string]Conversation // read-back conversations (some sessions unread)
	Reported map[string]bool         // "session/message" reported overwritten
	Max      int                     // session.max_messages
	TTL      time.Duration

	Weights      map[string]int
	Fault        Fault // region genDown frozen
	Marked       time.Time
	Calm         time.Time // Marked + in-flight window
	Heal         Heal
	Until        time.Time // load stopped
	LB           []topology.Transition
	LBInRotation bool
	Views        []topology.RouterStatus
	Alerts       []topology.Alert
}

var genT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	genDown     = "us-east"
	genAlert    = "RegionDown"
	genInflight = 300 * time.Millisecond
)

var genRegions = []string{"us-east", "eu-west", "ap-south"}

// genSession is one user's sticky session while the generator drives it.
type genSession struct {
	id, user  string
	region    string // where the LB pins it
	quota     int    // ops left
	busy      time.Time
	version   int64
	next      int      // next message number
	pending   string   // message id being retried, "" none
	acked     []string // user message ids in version order
	versions  []int64
	lastStart time.Time // start of the last acknowledged write
	lossy     bool      // a periodic checkpoint loses its tail at the fault
	unread    bool
}

// genHistory builds a deterministic run of about n operations (seeded by n):
// n/20 sticky sessions of about 20 operations each (create, messages with
// increasing versions, reads, retries of failed sends, duplicates), about 5
// sessions per user, ~300 sessions in flight at once, one fault window that
// freezes genDown from 40% to 70% of the run (failed sends until the LB
// marks it down, its sessions moved to the others after), heal at 70%, LB
// and router transitions (background ejections plus the fault and the
// return) and alerts, both growing with n.
func genHistory(n int) *genRun {
	rng := rand.New(rand.NewPCG(uint64(n), 0x5eed))
	ms := func(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }
	// One op per 1ms of the run on average.
	span := time.Duration(n) * time.Millisecond
	g := &genRun{
		N: n, Final: map[string]Conversation{}, Reported: map[string]bool{}, Max: 24, TTL: time.Hour,
		Weights: map[string]int{"us-east": 50, "eu-west": 30, "ap-south": 20},
	}
	g.Fault = Fault{Start: genT0.Add(span * 4 / 10), End: genT0.Add(span*4/10 + ms(20))}
	g.Marked = g.Fault.End.Add(ms(400))
	g.Calm = g.Marked.Add(genInflight)
	g.Heal = Heal{Start: genT0.Add(span * 7 / 10), End: genT0.Add(span*7/10 + ms(30))}
	g.Until = genT0.Add(span + ms(100))
	pickRegion := func(now time.Time) string {
		down := !now.Before(g.Marked) && now.Before(g.Heal.End)
		for {
			x := rng.IntN(100)
			r := "ap-south"
			switch {
			case x < 50:
				r = "us-east"
			case x < 80:
				r = "eu-west"
			}
			if !(down && r == genDown) {
				return r
			}
		}
	}
	users := max(1, n/100)
	nsess := 0
	var all []*genSession
	newSession := func(now time.Time) *genSession {
		s := &genSession{id: fmt.Sprintf("s%07d", nsess), user: fmt.Sprintf("u%06d", rng.IntN(users)),
			quota: 14 + rng.IntN(13), busy: now, unread: rng.IntN(100) == 0}
		nsess++
		all = append(all, s)
		return s
	}
	active := make([]*genSession, 0, 300)
	for range min(300, max(1, n/20)) {
		active = append(active, newSession(genT0))
	}
	ops := make([]history.Op, 0, n+n/50)
	now := genT0
	for len(ops) < n {
		now = now.Add(ms(rng.ExpFloat64()))
		i := rng.IntN(len(active))
		s := active[i]
		start := now
		if s.busy.After(start) {
			start = s.busy
		}
		frozen := s.region == genDown && !start.Before(g.Fault.Start) && start.Before(g.Heal.End)
		if frozen && !start.Before(g.Marked) {
			// The LB moved the session: sticky to its new region from now on.
			s.region = pickRegion(start)
			frozen = false
		}
		lat := ms(2 + rng.Float64()*38)
		op := history.Op{User: s.user, Session: s.id, Client: genRegions[rng.IntN(3)], Start: start}
		switch {
		case s.version == 0:
			s.region = pickRegion(start)
			frozen = false
			op.Kind, op.Status, op.ServedBy = history.KindCreate, 201, s.region
			s.version = 1
			op.Version = 1
		case frozen:
			// Sent to a frozen region: no answer until the client's timeout.
			op.Kind, op.Status, op.Error = history.KindMessage, 0, "context deadline exceeded"
			if s.pending == "" {
				s.next++
				s.pending = fmt.Sprintf("m%d", s.next)
			}
			op.MessageID = s.pending
			lat = ms(250 + rng.Float64()*100)
			if rng.IntN(3) == 0 { // the LB answered for it
				op.Status, op.Code, op.Error, lat = 503, "NO_HEALTHY_UPSTREAM", "", ms(5)
			}
		case rng.IntN(5) == 0:
			op.Kind, op.Status, op.ServedBy, op.Version = history.KindRead, 200, s.region, s.version
			op.IDs = s.acked[max(0, len(s.acked)-g.Max/2):] // what the conversation bound keeps
		case rng.IntN(200) == 0 && len(s.acked) > 0:
			// A retry whose first answer was lost: a duplicate.
			k := rng.IntN(len(s.acked))
			op.Kind, op.Status, op.ServedBy, op.MessageID = history.KindMessage, 200, s.region, s.acked[k]
			op.Duplicate, op.Version, op.MessageVersion, op.Cache = true, s.version, s.versions[k], "hit"
		case rng.IntN(300) == 0:
			// A stray conflict: the system answering, not unavailable.
			s.next++
			op.Kind, op.Status, op.Code, op.ServedBy, op.MessageID = history.KindMessage, 409, "VERSION_CONFLICT", s.region, fmt.Sprintf("m%d", s.next)
			s.pending = op.MessageID
		default:
			id := s.pending
			if id == "" {
				s.next++
				id = fmt.Sprintf("m%d", s.next)
			}
			s.pending = ""
			s.version++
			op.Kind, op.Status, op.ServedBy, op.MessageID = history.KindMessage, 200, s.region, id
			op.Version, op.MessageVersion, op.Durable, op.Cache = s.version, s.version, true, "miss"
			if s.region == genDown && start.Before(g.Fault.Start) && start.After(g.Fault.Start.Add(-ms(200))) && rng.IntN(2) == 0 {
				// Acknowledged just before the freeze under a periodic
				// checkpoint: not durable, and lost with the region.
				op.Durable = false
				s.lossy = true
			}
			if rng.IntN(8) == 0 {
				op.Tools = []string{"search"}
			}
			s.acked = append(s.acked, id)
			s.versions = append(s.versions, s.version)
			s.lastStart = start
		}
		op.End = start.Add(lat)
		s.busy = op.End.Add(ms(rng.Float64() * 5))
		ops = append(ops, op)
		if s.quota--; s.quota <= 0 && s.pending == "" {
			active[i] = newSession(s.busy)
		}
	}
	// A history is in completion order (History.Add stamps Seq).
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].End.Before(ops[j].End) })
	for i := range ops {
		ops[i].Seq = int64(i)
	}
	g.Ops = ops

	// Read-back conversations: the newest Max/2 user messages are kept
	// (a reply each); a lossy session lost its last acknowledged message
	// (reported overwritten for every other one).
	for k, s := range all {
		if s.unread || s.version == 0 {
			continue
		}
		ids, vs := s.acked, s.versions
		if s.lossy && len(ids) > 0 {
			lost := ids[len(ids)-1]
			ids, vs = ids[:len(ids)-1], vs[:len(vs)-1]
			if k%2 == 0 {
				g.Reported[s.id+"/"+lost] = true
			}
		}
		if keep := g.Max / 2; len(ids) > keep {
			ids, vs = ids[len(ids)-keep:], vs[len(vs)-keep:]
		}
		g.Final[s.id] = Conversation{IDs: append([]string(nil), ids...), Versions: append([]int64(nil), vs...),
			Messages: 2 * len(ids), ReadAt: g.Until.Add(time.Second)}
	}

	// LB transitions: background ejections of every region (about n/200
	// transitions), the fault's down and the heal's return.
	var lb []topology.Transition
	events := max(2, n/400)
	for k := range events {
		r := genRegions[k%3]
		t := genT0.Add(time.Duration(rng.Int64N(int64(span))))
		if r == genDown && !t.Before(g.Fault.Start.Add(-time.Second)) && t.Before(g.Heal.End.Add(time.Second)) {
			continue
		}
		lb = append(lb, topology.Transition{Region: r, From: "active", To: "ejected", At: t},
			topology.Transition{Region: r, From: "ejected", To: "active", At: t.Add(ms(500))})
	}
	lb = append(lb, topology.Transition{Region: genDown, From: "active", To: "down", At: g.Marked},
		topology.Transition{Region: genDown, From: "down", To: "active", At: g.Heal.End.Add(ms(600))})
	sort.SliceStable(lb, func(i, j int) bool { return lb[i].At.Before(lb[j].At) })
	g.LB, g.LBInRotation = lb, true

	// Every region's router: its own log of the same story, a little later.
	for k, self := range genRegions {
		ts := make([]topology.Transition, len(lb))
		for i, t := range lb {
			t.At = t.At.Add(ms(float64(10 * (k + 1))))
			ts[i] = t
		}
		v := topology.RouterStatus{Self: self, Transitions: ts, TransitionsTotal: int64(len(ts)), ClockAligned: true, Now: g.Until}
		for _, r := range genRegions {
			v.Regions = append(v.Regions, struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			}{r, "active"})
		}
		g.Views = append(g.Views, v)
	}

	// Alerts: each background ejection's region pages and resolves; the
	// fault pages once and resolves after the return.
	for _, t := range lb {
		src := "region/" + t.Region
		switch {
		case t.To == "ejected" || t.To == "down":
			g.Alerts = append(g.Alerts, topology.Alert{At: t.At.Add(ms(50)), Source: src, Status: "firing", Name: genAlert})
		case t.From == "ejected" || t.From == "down":
			g.Alerts = append(g.Alerts, topology.Alert{At: t.At.Add(ms(50)), Source: src, Status: "resolved", Name: genAlert})
		}
	}
	return g
}

var (
	genMu    sync.Mutex
	genCache = map[int]*genRun{}
)

// genFor caches generated runs by size: a 10^6 history takes seconds to
// build and is read, never written, by the checkers.
func genFor(n int) *genRun {
	genMu.Lock()
	defer genMu.Unlock()
	if g, ok := genCache[n]; ok {
		return g
	}
	g := genHistory(n)
	genCache[n] = g
	return g
}

// fullCheck runs every checker of a row on g, as a row does, and judges.
func fullCheck(g *genRun) ([]Result, Verdict) {
	det := genBound(2 * time.Second)
	var out []Result
	l := Lost(g.Ops, g.Final, g.Max, g.Reported, g.TTL)
	out = append(out,
		LostAcked(l),
		VersionsMonotonic(g.Ops),
		Linearizable(g.Ops, LinearizableOptions{MaxMessages: g.Max}),
		RPO(l, bounds.RPOFor("periodic", 200*time.Millisecond)),
		NoSilentOverwrite(l, g.Reported, "last-write-wins"),
		AcksDurable(g.Ops, "periodic", 200*time.Millisecond, 200*time.Millisecond),
		DetectionTime(g.Fault, g.LB, genDown, false, det),
		EveryUserContinues(g.Ops, g.Fault.Start),
		RTO(g.Ops, g.Fault.Start, g.Until, genBound(5*time.Second)),
		ErrorRate(g.Ops, g.Calm, g.Until, 0.01, DefaultFalseAlarm),
		NoTrafficAfterDown(g.Ops, genDown, MarkedAt(g.LB, genDown, g.Fault.Start, false), genBound(genInflight)),
		ServedOnlyBy(g.Ops, "eu-west", g.Calm),
		WeightSplit(g.Ops, g.Weights, DefaultFalseAlarm),
		FailbackTime(g.Heal, g.LB, genDown, g.LBInRotation, det),
		NoFlapping(g.LB, genDown, g.Heal.Start, 10),
	)
	fb, flap := RouterFailback(g.Heal, g.Views, genDown, det, 10)
	out = append(out, fb, flap,
		AlertReceived(g.Alerts, genAlert, g.Fault, det),
		AlertOnce(g.Alerts, genAlert, g.Fault.Start, 10),
		AlertResolved(g.Alerts, genAlert, g.Fault.Start, ReturnedAt(g.LB, genDown, g.Heal.Start), det),
	)
	v, _ := Judge(out, Health{Slack: 1})
	return out, v
}

func genBound(d time.Duration) bounds.Duration {
	return bounds.Duration{Terms: []bounds.Term{{Name: "generated", D: d}}}
}

// The generator is deterministic and its runs look like a run: losses,
// evictions, failures in the fault window, traffic moved off the frozen
// region.
func TestGenHistoryRealistic(t *testing.T) {
	a, b := genHistory(20000), genHistory(20000)
	if len(a.Ops) != len(b.Ops) {
		t.Fatalf("not deterministic: %d vs %d ops", len(a.Ops), len(b.Ops))
	}
	for i := range a.Ops {
		if fmt.Sprint(a.Ops[i]) != fmt.Sprint(b.Ops[i]) {
			t.Fatalf("op %d differs:\n%v\n%v", i, a.Ops[i], b.Ops[i])
		}
	}
	kinds := map[string]int{}
	failed, sessions := 0, map[string]bool{}
	for _, op := range a.Ops {
		kinds[op.Kind]++
		if op.Unavailable() {
			failed++
		}
		sessions[op.Session] = true
	}
	l := Lost(a.Ops, a.Final, a.Max, a.Reported, a.TTL)
	t.Logf("ops %d, kinds %v, unavailable %d, sessions %d, lost %d, evicted %d, unread %d, reported %d, LB transitions %d, alerts %d",
		len(a.Ops), kinds, failed, len(sessions), l.Count(), l.Evicted, l.Unread, len(a.Reported), len(a.LB), len(a.Alerts))
	if failed == 0 || l.Count() == 0 || l.Evicted == 0 || l.Unread == 0 || kinds[history.KindRead] == 0 || len(sessions) < 20000/40 {
		t.Errorf("generated run lacks something a real run has")
	}
	res, v := fullCheck(a)
	for _, r := range res {
		t.Logf("%-40s %-9s ok=%v value=%g", r.Name, r.Class, r.OK, r.Value)
	}
	t.Logf("verdict %s", v)
	if !res[1].OK {
		t.Errorf("generated versions go backwards: %s", res[1].Reason)
	}
}
