package check

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/history"
)

// conv is a final conversation: user message ids with the versions they
// were stored at, and the number of messages kept (replies included).
func conv(messages int, idv ...any) Conversation {
	c := Conversation{Messages: messages}
	for i := 0; i < len(idv); i += 2 {
		c.IDs = append(c.IDs, idv[i].(string))
		c.Versions = append(c.Versions, int64(idv[i+1].(int)))
	}
	return c
}

// fiveAcks: m1..m5 acknowledged in session s at versions 1..5.
func fiveAcks() []history.Op {
	var ops []history.Op
	for i := 1; i <= 5; i++ {
		id := "m" + string(rune('0'+i))
		ops = append(ops, msg("s", id, 100*i, 200, ver(int64(i)), mver(int64(i)), served("us-east-1")))
	}
	return seq(ops...)
}

func lostIDs(l Loss) string { return strings.Join(l.IDs(), ",") }

func TestLostEvictionByStoredVersion(t *testing.T) {
	ops := fiveAcks()
	cases := []struct {
		name    string
		final   map[string]Conversation
		max     int
		lost    string
		evicted int
		unread  int
	}{
		{"all present", map[string]Conversation{"s": conv(10, "m1", 1, "m2", 2, "m3", 3, "m4", 4, "m5", 5)}, 50, "", 0, 0},
		{"full, every kept message newer: evicted", map[string]Conversation{"s": conv(4, "m4", 4, "m5", 5)}, 4, "", 3, 0},
		{"over-full counts as full", map[string]Conversation{"s": conv(6, "m4", 4, "m5", 5)}, 4, "", 3, 0},
		{"not full: lost", map[string]Conversation{"s": conv(3, "m4", 4, "m5", 5)}, 4, "s/m1,s/m2,s/m3", 0, 0},
		{"no bound (max 0): lost", map[string]Conversation{"s": conv(1000, "m4", 4, "m5", 5)}, 0, "s/m1,s/m2,s/m3", 0, 0},
		// m2 is kept at version 2: m3 (3) cannot have been pushed out before it
		{"full, a kept message older than the missing one: lost", map[string]Conversation{"s": conv(4, "m2", 2, "m5", 5)}, 4, "s/m3,s/m4", 1, 0},
		{"full, kept versions not sorted", map[string]Conversation{"s": conv(4, "m5", 5, "m2", 2)}, 4, "s/m3,s/m4", 1, 0},
		// m3 is missing but m4 kept at version 3 (merge raised nothing; the
		// two share a version): an equal version is not older
		{"full, a kept message at the same version: lost", map[string]Conversation{"s": conv(4, "m4", 3, "m5", 5)}, 4, "s/m3", 2, 0},
		{"session read back empty (404/410): all lost", map[string]Conversation{"s": {}}, 4, "s/m1,s/m2,s/m3,s/m4,s/m5", 0, 0},
		{"empty but Messages says full: still all lost", map[string]Conversation{"s": {Messages: 4}}, 4, "s/m1,s/m2,s/m3,s/m4,s/m5", 0, 0},
		{"versions unknown (lengths differ): lost, not evicted", map[string]Conversation{"s": {IDs: []string{"m4", "m5"}, Messages: 4}}, 4, "s/m1,s/m2,s/m3", 0, 0},
		{"not read back: not judged", map[string]Conversation{}, 4, "", 0, 1},
		{"nil final map: not judged", nil, 4, "", 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := Lost(ops, c.final, c.max, nil, 0)
			if got := lostIDs(l); got != c.lost || l.Evicted != c.evicted || l.Unread != c.unread {
				t.Fatalf("lost %q evicted %d unread %d; want %q, %d, %d", got, l.Evicted, l.Unread, c.lost, c.evicted, c.unread)
			}
			r := LostAcked(l)
			if r.Class != Safety || r.OK != (c.lost == "") || int(r.Value) != l.Count() {
				t.Errorf("LostAcked = %+v", r)
			}
			if !r.OK {
				wantReason(t, r, strings.Split(c.lost, ",")[0])
			}
			if c.unread > 0 {
				wantReason(t, r, "1 sessions not read back")
			}
		})
	}
}

// Two messages acknowledged at one session version mean two lineages
// forked (a writer built on a stale copy): the kept messages may never have
// had the missing one below them, so a version below every kept one does
// not prove eviction.
func TestLostForkedVersionIsNotEvicted(t *testing.T) {
	cases := []struct {
		name    string
		ops     []history.Op
		final   Conversation
		lost    string
		evicted int
	}{
		{"distinct versions: evicted",
			seq(msg("s", "a", 0, 200, mver(1)), msg("s", "b", 100, 200, mver(2)), msg("s", "k", 200, 200, mver(5))),
			conv(2, "k", 5), "", 2},
		{"two missing acks at one version: both lost",
			seq(msg("s", "a", 0, 200, mver(2), served("us-east-1")), msg("s", "b", 100, 200, mver(2), served("eu-west-1")), msg("s", "k", 200, 200, mver(5))),
			conv(2, "k", 5), "s/a,s/b", 0},
		// b was acknowledged at 2 like a, then re-stored (merge) at 5
		{"a kept message acknowledged at the missing one's version: lost",
			seq(msg("s", "a", 0, 200, mver(2), served("us-east-1")), msg("s", "b", 100, 200, mver(2), served("eu-west-1"))),
			conv(2, "b", 5), "s/a", 0},
		{"only the forked version is lost",
			seq(msg("s", "x", 0, 200, mver(1)), msg("s", "a", 10, 200, mver(2)), msg("s", "b", 20, 200, mver(2)), msg("s", "k", 30, 200, mver(5))),
			conv(2, "k", 5), "s/a,s/b", 1},
		{"a duplicate answer for the same message is no fork",
			seq(msg("s", "a", 0, 200, mver(2)), msg("s", "a", 100, 200, mver(2), dup()), msg("s", "k", 200, 200, mver(5))),
			conv(2, "k", 5), "", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := Lost(c.ops, map[string]Conversation{"s": c.final}, 2, nil, 0)
			if got := lostIDs(l); got != c.lost || l.Evicted != c.evicted {
				t.Errorf("lost %q evicted %d; want %q, %d", got, l.Evicted, c.lost, c.evicted)
			}
		})
	}
}

// Last-write-wins: two writers stored a and b at version 2; b was reported
// overwritten, so a's lineage went on and the bound evicted a later. b is
// lost (and reported). Without the report, a cannot be shown evicted.
func TestLostForkResolvedByOverwriteReport(t *testing.T) {
	ops := seq(msg("s", "a", 0, 200, mver(2), served("eu-west-1")), msg("s", "b", 100, 200, mver(2), served("us-east-1")), msg("s", "k", 200, 200, mver(5)))
	final := map[string]Conversation{"s": conv(2, "k", 5)}
	l := Lost(ops, final, 2, map[string]bool{"s/b": true}, 0)
	if got := lostIDs(l); got != "s/b" || l.Evicted != 1 {
		t.Fatalf("with b reported overwritten: lost %q evicted %d; want s/b lost, a evicted", got, l.Evicted)
	}
	if r := NoSilentOverwrite(l, map[string]bool{"s/b": true}, "last-write-wins"); !r.OK {
		t.Fatalf("the one lost message was reported: %s", r.Reason)
	}
	l = Lost(ops, final, 2, map[string]bool{"s/x": true}, 0)
	if got := lostIDs(l); got != "s/a,s/b" {
		t.Fatalf("without a report on b: lost %q; want both", got)
	}
}

func TestLostOnlyJudgesAcknowledgedMessages(t *testing.T) {
	ops := seq(
		msg("s", "ok", 0, 200, ver(1)),
		msg("s", "failed", 100, 503),
		msg("s", "noanswer", 200, 0),
		msg("s", "conflict", 300, 409),
		msg("s", "", 400, 200, ver(2)), // no id: not a message the user can look for
		mk(history.KindCreate, "s", "", 0, 201, ver(1)),
		mk(history.KindRead, "s", "ok", 500, 200, ver(2)),
	)
	l := Lost(ops, map[string]Conversation{"s": conv(2, "ok", 1)}, 50, nil, 0)
	if l.Count() != 0 {
		t.Fatalf("unacknowledged messages judged lost: %v", l.IDs())
	}
	l = Lost(ops, map[string]Conversation{"s": {}}, 50, nil, 0)
	if got := lostIDs(l); got != "s/ok" {
		t.Fatalf("lost %q, want only s/ok", got)
	}
}

func TestAcksVersionSource(t *testing.T) {
	cases := []struct {
		name string
		ops  []history.Op
		want int64
	}{
		{"message version wins over the session version", seq(msg("s", "m", 0, 200, ver(9), mver(3))), 3},
		{"no message version: the first-time answer's session version", seq(msg("s", "m", 0, 200, ver(3))), 3},
		{"duplicate-only ack with a message version", seq(msg("s", "m", 0, 200, ver(9), mver(3), dup())), 3},
		{"duplicate-only ack without one: unknown", seq(msg("s", "m", 0, 200, ver(9), dup())), 0},
		// the resend's duplicate answer completed first; the original's
		// answer, later, tells the version
		{"first ack a bare duplicate, version from a later answer", seq(msg("s", "m", 50, 200, ver(9), dup()), msg("s", "m", 0, 200, ver(3), took(100))), 3},
		{"first ack a bare duplicate, later duplicate says", seq(msg("s", "m", 0, 200, ver(9), dup()), msg("s", "m", 100, 200, ver(9), mver(4), dup())), 4},
		{"a known version is not replaced by a later answer", seq(msg("s", "m", 0, 200, ver(3)), msg("s", "m", 100, 200, ver(9), mver(8), dup())), 3},
		{"failed answers tell nothing", seq(msg("s", "m", 0, 503, ver(7), mver(7)), msg("s", "m", 100, 200, ver(2))), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			acks := Acks(c.ops)
			if len(acks["s"]) != 1 {
				t.Fatalf("acks %+v: want one", acks)
			}
			if a := acks["s"][0]; a.ID != "m" || a.Version != c.want {
				t.Errorf("ack %+v, want version %d", a, c.want)
			}
		})
	}
}

func TestAcksFirstAnswerAndOrder(t *testing.T) {
	ops := seq(
		msg("s", "b", 0, 200, ver(2), took(300)), // completes at 300
		msg("s", "a", 100, 200, ver(1)),          // completes at 110
		msg("s", "a", 200, 200, ver(5), dup()),   // a later duplicate
		msg("t", "c", 0, 200, ver(1)),
	)
	acks := Acks(ops)
	s := acks["s"]
	if len(s) != 2 || s[0].ID != "a" || s[1].ID != "b" {
		t.Fatalf("acks %+v: want a then b (completion order)", s)
	}
	if !s[0].Start.Equal(at(100)) || !s[0].End.Equal(at(110)) {
		t.Errorf("a's ack %+v: want the first answer's times", s[0])
	}
	if len(acks["t"]) != 1 {
		t.Errorf("session t: %+v", acks["t"])
	}
}

func TestLostVersionSourceDecidesEviction(t *testing.T) {
	full := map[string]Conversation{"s": conv(2, "k", 5)}
	cases := []struct {
		name string
		op   history.Op
		lost bool
	}{
		{"message version 3 < kept 5: evicted (session version 9 ignored)", msg("s", "m", 0, 200, ver(9), mver(3)), false},
		{"session version 3 < kept 5: evicted", msg("s", "m", 0, 200, ver(3)), false},
		{"duplicate-only with message version 3: evicted", msg("s", "m", 0, 200, ver(9), mver(3), dup()), false},
		{"duplicate-only, version unknown: lost, never evicted", msg("s", "m", 0, 200, ver(1), dup()), true},
		{"version unknown (0): lost, never evicted", msg("s", "m", 0, 200), true},
		{"message version 6 > kept 5: lost", msg("s", "m", 0, 200, ver(6), mver(6)), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := Lost(seq(c.op), full, 2, nil, 0)
			if (l.Count() == 1) != c.lost || l.Evicted != map[bool]int{true: 0, false: 1}[c.lost] {
				t.Errorf("lost %v evicted %d, want lost=%v", l.IDs(), l.Evicted, c.lost)
			}
		})
	}
}

// Lost is clock-free. The final conversation carries no region's time (its
// regions' clocks cannot enter the judgement; ReadAt is the harness's own
// clock, when a 410 arrived, for the TTL idle test only), the stored order of kept
// messages does not matter, only their versions, and moving the harness's
// op times changes nothing.
func TestLostIsClockFree(t *testing.T) {
	timeType := reflect.TypeOf(time.Time{})
	ct := reflect.TypeOf(Conversation{})
	for i := 0; i < ct.NumField(); i++ {
		f := ct.Field(i).Type
		if ct.Field(i).Name == "ReadAt" {
			continue
		}
		for f.Kind() == reflect.Slice || f.Kind() == reflect.Pointer || f.Kind() == reflect.Array {
			f = f.Elem()
		}
		if f == timeType || f == reflect.TypeOf(time.Duration(0)) {
			t.Errorf("Conversation.%s is a time (%s): eviction must be judged by version, never by a region's clock", ct.Field(i).Name, ct.Field(i).Type)
		}
	}

	// Two regions wrote this session: eu's messages (versions 4, 6) and
	// us's (5, 7). m1..m3 were pushed out.
	var ops []history.Op
	for i, r := range []string{"us-east-1", "us-east-1", "eu-west-1", "eu-west-1", "us-east-1", "eu-west-1", "us-east-1"} {
		id := "m" + string(rune('1'+i))
		ops = append(ops, msg("s", id, 100*i, 200, ver(int64(i+1)), mver(int64(i+1)), served(r)))
	}
	ops = append(ops, msg("s", "m8", 800, 200, ver(8), mver(8), served("eu-west-1"))) // lost: not kept
	ops = seq(ops...)
	kept := [][2]any{{"m4", 4}, {"m5", 5}, {"m6", 6}, {"m7", 7}}
	build := func(order []int) map[string]Conversation {
		c := Conversation{Messages: 8}
		for _, i := range order {
			c.IDs = append(c.IDs, kept[i][0].(string))
			c.Versions = append(c.Versions, int64(kept[i][1].(int)))
		}
		return map[string]Conversation{"s": c}
	}
	want := Lost(ops, build([]int{0, 1, 2, 3}), 8, nil, 0)
	if lostIDs(want) != "s/m8" || want.Evicted != 3 {
		t.Fatalf("baseline: lost %v evicted %d, want s/m8 and 3 evicted", want.IDs(), want.Evicted)
	}
	same := func(name string, l Loss) {
		t.Helper()
		if lostIDs(l) != lostIDs(want) || l.Evicted != want.Evicted || l.Unread != want.Unread {
			t.Errorf("%s: lost %v evicted %d unread %d; want %v, %d, %d", name, l.IDs(), l.Evicted, l.Unread, want.IDs(), want.Evicted, want.Unread)
		}
	}
	for _, order := range [][]int{{3, 2, 1, 0}, {1, 0, 3, 2}, {2, 3, 0, 1}, {0, 2, 1, 3}} {
		same("kept order permuted", Lost(ops, build(order), 8, nil, 0))
	}
	for _, d := range []time.Duration{-5 * time.Second, 5 * time.Second, 24 * time.Hour} {
		shifted := slices.Clone(ops)
		for i := range shifted {
			shift(d)(&shifted[i])
		}
		same("all op times shifted "+d.String(), Lost(shifted, build([]int{0, 1, 2, 3}), 8, nil, 0))
	}
	// Even times that disagree per serving region (which the harness's one
	// clock never produces) do not move the judgement: it reads versions.
	for _, d := range []time.Duration{-5 * time.Second, 5 * time.Second} {
		skewed := slices.Clone(ops)
		for i := range skewed {
			if skewed[i].ServedBy == "eu-west-1" {
				shift(d)(&skewed[i])
			}
		}
		same("eu-west-1's ops shifted "+d.String(), Lost(skewed, build([]int{3, 1, 2, 0}), 8, nil, 0))
	}
}

func TestLostAckedReason(t *testing.T) {
	var ops []history.Op
	for i := 0; i < 7; i++ {
		ops = append(ops, msg("s", "m"+string(rune('a'+i)), 10*i, 200, ver(int64(i+1))))
	}
	l := Lost(seq(ops...), map[string]Conversation{"s": {}}, 50, nil, 0)
	r := LostAcked(l)
	if r.OK || r.Value != 7 || r.Unit != "count" {
		t.Fatalf("%+v", r)
	}
	wantReason(t, r, "7 acknowledged messages lost", "s/ma, s/mb, s/mc, s/md, s/me, ...", "0 evicted")
	ok := LostAcked(Loss{BySession: map[string][]Ack{}, Evicted: 2, Unread: 1})
	if !ok.OK || ok.Value != 0 {
		t.Fatalf("%+v", ok)
	}
	wantReason(t, ok, "2 evicted", "1 sessions not read back")
}

// loss builds a Loss directly: session -> acks as [start, end] ms pairs.
func loss(spans map[string][][2]int) Loss {
	l := Loss{BySession: map[string][]Ack{}}
	for s, sp := range spans {
		for i, x := range sp {
			l.BySession[s] = append(l.BySession[s], Ack{ID: s + "-m" + string(rune('0'+i)), Start: at(x[0]), End: at(x[1])})
		}
	}
	return l
}

func TestRPO(t *testing.T) {
	onAck := bounds.RPOFor("on-ack", 0)
	periodic := bounds.RPOFor("periodic", 5*time.Second)
	onMutation := bounds.RPOFor("on-mutation", 0)
	cases := []struct {
		name  string
		l     Loss
		rpo   bounds.RPO
		ok    bool
		span  float64
		limit float64 // -1: no bound
	}{
		{"on-ack, nothing lost", loss(nil), onAck, true, 0, 0},
		{"on-ack fails on any loss", loss(map[string][][2]int{"s": {{0, 10}}}), onAck, false, 0.01, 0},
		{"on-ack fails even on a zero span", loss(map[string][][2]int{"s": {{0, 0}}}), onAck, false, 0, 0},
		{"periodic within the window", loss(map[string][][2]int{"s": {{0, 10}, {1000, 1010}}}), periodic, true, 1.01, 5},
		{"periodic at the window", loss(map[string][][2]int{"s": {{0, 10}, {4990, 5000}}}), periodic, true, 5, 5},
		{"periodic past the window", loss(map[string][][2]int{"s": {{0, 10}, {6000, 6010}}}), periodic, false, 6.01, 5},
		// each session lost a moment; the moments are far apart, but the
		// span is per session
		{"span is per session", loss(map[string][][2]int{"a": {{0, 10}}, "b": {{9000, 9010}}}), periodic, true, 0.01, 5},
		{"worst session decides", loss(map[string][][2]int{"a": {{0, 10}}, "b": {{1000, 1100}, {7000, 7010}}}), periodic, false, 6.01, 5},
		{"acks in any order", loss(map[string][][2]int{"s": {{3000, 3010}, {0, 10}, {1000, 1010}}}), periodic, true, 3.01, 5},
		{"unbounded never fails but reports", loss(map[string][][2]int{"s": {{0, 10}, {100000, 100010}}}), onMutation, true, 100.01, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := RPO(c.l, c.rpo)
			if r.OK != c.ok || !near(r.Value, c.span) || r.Class != Safety || r.Unit != "s" {
				t.Errorf("RPO = ok %v value %v (%s); want ok %v span %v", r.OK, r.Value, r.Reason, c.ok, c.span)
			}
			if c.limit < 0 {
				if r.Bound != nil {
					t.Errorf("unbounded policy held to %+v", r.Bound)
				}
				wantReason(t, r, "sets no bound")
			} else if r.Bound == nil || r.Bound.Limit != c.limit || r.Bound.Unit != "s" {
				t.Errorf("bound %+v, want limit %v s", r.Bound, c.limit)
			}
			wantReason(t, r, strconv.Itoa(c.l.Count())+" acknowledged messages")
		})
	}
}

func TestRPOFromLost(t *testing.T) {
	ops := seq(msg("s", "m1", 0, 200, ver(1)), msg("s", "m2", 1000, 200, ver(2)), msg("s", "m3", 2000, 200, ver(3)))
	l := Lost(ops, map[string]Conversation{"s": conv(2, "m1", 1)}, 50, nil, 0)
	r := RPO(l, bounds.RPOFor("periodic", 5*time.Second))
	if !r.OK || !near(r.Value, 1.01) {
		t.Errorf("m2..m3 lost spans 1.01s within 5s: %+v", r)
	}
	if r := RPO(l, bounds.RPOFor("on-ack", 0)); r.OK {
		t.Errorf("on-ack with 2 lost must fail: %+v", r)
	}
}

func TestNoSilentOverwrite(t *testing.T) {
	l := loss(map[string][][2]int{"s": {{0, 10}, {20, 30}}, "t": {{0, 10}}})
	all := map[string]bool{"s/s-m0": true, "s/s-m1": true, "t/t-m0": true, "x/other": true}
	cases := []struct {
		name     string
		l        Loss
		reported map[string]bool
		ok       bool
		value    float64
		names    []string
	}{
		{"nothing lost", loss(nil), nil, true, 0, []string{"0 acknowledged messages lost"}},
		{"every lost id reported", l, all, true, 0, []string{"3 acknowledged messages lost, every one reported", "4 overwrite reports", "strategy merge"}},
		{"one missing", l, map[string]bool{"s/s-m0": true, "t/t-m0": true}, false, 1, []string{"1 of 3", "s/s-m1", "strategy merge"}},
		{"none reported", l, nil, false, 3, []string{"3 of 3", "s/s-m0, s/s-m1, t/t-m0"}},
		{"reported under another session", l, map[string]bool{"s-m0": true, "s/s-m1": true, "t/t-m0": true}, false, 1, []string{"s/s-m0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NoSilentOverwrite(c.l, c.reported, "merge")
			if r.OK != c.ok || r.Value != c.value || r.Class != Safety {
				t.Errorf("%+v: want ok %v value %v", r, c.ok, c.value)
			}
			wantReason(t, r, c.names...)
		})
	}
}

func TestVersionsMonotonic(t *testing.T) {
	cases := []struct {
		name string
		ops  []history.Op
		bad  float64
	}{
		{"increasing", seq(msg("s", "a", 0, 200, ver(1)), msg("s", "b", 100, 200, ver(2)), msg("s", "c", 200, 200, ver(3))), 0},
		{"equal is not backwards", seq(msg("s", "a", 0, 200, ver(2)), mk(history.KindRead, "s", "", 100, 200, ver(2))), 0},
		{"backwards on a later op", seq(msg("s", "a", 0, 200, ver(3)), msg("s", "b", 100, 200, ver(2))), 1},
		{"backwards on a later read", seq(msg("s", "a", 0, 200, ver(3)), mk(history.KindRead, "s", "", 100, 200, ver(1))), 1},
		// b started (5) before a completed (10): no real-time order
		{"overlapping ops not compared", seq(msg("s", "a", 0, 200, ver(3)), msg("s", "b", 5, 200, ver(2))), 0},
		{"starting exactly at the other's end is not after it", seq(msg("s", "a", 0, 200, ver(3)), msg("s", "b", 10, 200, ver(2))), 0},
		{"different sessions not compared", seq(msg("s", "a", 0, 200, ver(3)), msg("t", "b", 100, 200, ver(1))), 0},
		{"failed answers and unknown versions skipped", seq(msg("s", "a", 0, 200, ver(3)), msg("s", "b", 100, 503, ver(1)), msg("s", "c", 200, 409, ver(1)), msg("s", "d", 300, 200)), 0},
		{"every later backwards op counted against the highest", seq(msg("s", "a", 0, 200, ver(5)), msg("s", "b", 100, 200, ver(4)), msg("s", "c", 200, 200, ver(3)), msg("s", "d", 300, 200, ver(6))), 2},
		// completion order, not slice order, decides what is later
		{"history out of order", seq(msg("s", "b", 100, 200, ver(2)), msg("s", "a", 0, 200, ver(3))), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := VersionsMonotonic(c.ops)
			if r.OK != (c.bad == 0) || r.Value != c.bad || r.Class != Safety {
				t.Errorf("%+v: want %v backwards", r, c.bad)
			}
		})
	}
	r := VersionsMonotonic(seq(msg("s", "a", 0, 200, ver(3), served("us-east-1")), msg("s", "b", 100, 200, ver(2), served("eu-west-1"))))
	wantReason(t, r, "session s: version 2", "after 3", "eu-west-1", "us-east-1")
}

func TestVersionsMonotonicAfterConcurrentLowerVersion(t *testing.T) {
	ops := seq(
		msg("s", "a", 0, 200, ver(5)),
		msg("s", "b", 5, 200, ver(3), took(15)),
		msg("s", "c", 30, 200, ver(4)),
	)
	if r := VersionsMonotonic(ops); r.OK || r.Value != 1 {
		t.Errorf("c saw version 4 after a completed at version 5: %+v", r)
	}
}

func TestAcksDurable(t *testing.T) {
	cases := []struct {
		name string
		ops  []history.Op
		bad  float64
	}{
		{"every ack durable", seq(msg("s", "a", 0, 200, durable()), msg("s", "b", 100, 200, durable())), 0},
		{"no acks", nil, 0},
		{"one ack not durable", seq(msg("s", "a", 0, 200, durable()), msg("s", "b", 100, 200)), 1},
		{"duplicate answers do not count", seq(msg("s", "a", 0, 200, durable()), msg("s", "a", 100, 200, dup())), 0},
		{"failed answers do not count", seq(msg("s", "a", 0, 503), msg("s", "b", 100, 0)), 0},
		{"creates do not count", seq(mk(history.KindCreate, "s", "", 0, 201)), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := AcksDurable(c.ops, "periodic", 100*time.Millisecond, time.Second)
			if r.OK != (c.bad == 0) || r.Value != c.bad || r.Class != Safety {
				t.Errorf("%+v: want %v not durable", r, c.bad)
			}
			if !r.OK {
				wantReason(t, r, "1 of 2", "periodic", "100ms", "1s in real time")
			}
		})
	}
}

// A session read back expired after idling for its TTL kept the configured
// contract (its user re-authenticates); expired any sooner, it lost every
// acknowledged message. Idle runs from the last acknowledged write's start
// to the 410's arrival, both on the harness's clock.
func TestLostExpiredByTTL(t *testing.T) {
	ops := fiveAcks() // the last acknowledged write started at +500ms
	const ttl = 3 * time.Second
	cases := []struct {
		name    string
		conv    Conversation
		ttl     time.Duration
		lost    int
		expired int
	}{
		{"410 once idle for the TTL: expired, not lost", Conversation{Expired: true, ReadAt: at(3500)}, ttl, 0, 1},
		{"410 long after: expired", Conversation{Expired: true, ReadAt: at(60000)}, ttl, 0, 1},
		{"410 a millisecond early: every acknowledged message lost", Conversation{Expired: true, ReadAt: at(3499)}, ttl, 5, 0},
		{"404 however late: lost", Conversation{ReadAt: at(60000)}, ttl, 5, 0},
		{"no TTL known: lost", Conversation{Expired: true, ReadAt: at(60000)}, 0, 5, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := Lost(ops, map[string]Conversation{"s": c.conv}, 50, nil, c.ttl)
			if l.Count() != c.lost || l.Expired != c.expired {
				t.Fatalf("lost %d expired %d; want %d, %d", l.Count(), l.Expired, c.lost, c.expired)
			}
			r := LostAcked(l)
			if r.OK != (c.lost == 0) {
				t.Fatalf("LostAcked %+v", r)
			}
			wantReason(t, r, fmt.Sprintf("%d expired after idling for their TTL", c.expired))
		})
	}
}
