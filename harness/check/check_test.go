package check

import (
	"math"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/topology"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// op builds a completed op lasting 10ms from ms.
func op(seq int, kind, user, sess, mid string, ms, status int, served string, version int64) history.Op {
	return history.Op{Seq: int64(seq), Kind: kind, User: user, Session: sess, MessageID: mid,
		Start: at(ms), End: at(ms + 10), Status: status, ServedBy: served, Version: version}
}

func msg(seq int, sess, mid string, ms, status int, version int64) history.Op {
	return op(seq, history.KindMessage, "u-"+sess, sess, mid, ms, status, "us-east-1", version)
}

// convs is one session's final conversation, without times.
func convs(sess string, ids ...string) map[string]Conversation {
	return map[string]Conversation{sess: {IDs: ids}}
}

func TestLostAcked(t *testing.T) {
	ops := []history.Op{
		msg(0, "s1", "m1", 0, 200, 1),
		msg(1, "s1", "m2", 100, 503, 0), // never acked: may be missing
		msg(2, "s1", "m3", 200, 200, 2),
	}
	if r := LostAcked(ops, convs("s1", "m1", "m3"), 0); !r.OK {
		t.Fatalf("all acked present must pass: %+v", r)
	}
	r := LostAcked(ops, convs("s1", "m1"), 0)
	if r.OK || r.Value != 1 {
		t.Fatalf("m3 acked and missing must fail with 1: %+v", r)
	}
	// a full window of 1 whose kept message was written after m1 started: m1 was evicted
	if r := LostAcked(ops, map[string]Conversation{"s1": {IDs: []string{"m3"}, Times: []time.Time{at(205)}}}, 1); !r.OK {
		t.Fatalf("m1 evicted by a window of 1 must pass: %+v", r)
	}
	if r := LostAcked(ops, map[string]Conversation{"s1": {IDs: []string{"m3"}, Times: []time.Time{at(205)}}}, 2); r.OK {
		t.Fatalf("m1 within a window of 2 missing must fail: %+v", r)
	}
}

func TestVersionsMonotonic(t *testing.T) {
	good := []history.Op{msg(0, "s", "a", 0, 200, 1), msg(1, "s", "b", 100, 200, 2), msg(2, "s", "c", 150, 503, 0), msg(3, "s", "d", 200, 200, 2)}
	if r := VersionsMonotonic(good); !r.OK {
		t.Fatalf("must pass: %+v", r)
	}
	bad := append(good, msg(4, "s", "e", 300, 200, 1))
	if r := VersionsMonotonic(bad); r.OK || r.Value != 1 {
		t.Fatalf("version 2 -> 1 must fail: %+v", r)
	}
}

func TestNoTrafficAfterDown(t *testing.T) {
	ops := []history.Op{
		op(0, history.KindMessage, "u", "s", "a", 0, 200, "us-east-1", 1),
		op(1, history.KindMessage, "u", "s", "b", 500, 200, "eu-west-1", 2),
	}
	if r := NoTrafficAfterDown(ops, "us-east-1", at(100), 200*time.Millisecond); !r.OK {
		t.Fatalf("must pass: %+v", r)
	}
	ops = append(ops, op(2, history.KindMessage, "u", "s", "c", 400, 503, "us-east-1", 0))
	if r := NoTrafficAfterDown(ops, "us-east-1", at(100), 200*time.Millisecond); r.OK || r.Value != 1 {
		t.Fatalf("op at +300ms after a 200ms window must fail: %+v", r)
	}
}

func TestWeightSplit(t *testing.T) {
	w := map[string]int{"a": 50, "b": 30, "c": 20}
	var ops []history.Op
	add := func(region string, n int) {
		for i := 0; i < n; i++ {
			ops = append(ops, op(len(ops), history.KindCreate, "u", "", "", 0, 201, region, 0))
		}
	}
	add("a", 52)
	add("b", 29)
	add("c", 19)
	if r := WeightSplit(ops, w, 0.05); !r.OK {
		t.Fatalf("52/29/19 vs 50/30/20 must pass at 0.05: %+v", r)
	}
	add("c", 40)
	if r := WeightSplit(ops, w, 0.05); r.OK {
		t.Fatalf("c at 42%% must fail: %+v", r)
	}
}

func TestAlertsOnce(t *testing.T) {
	f := topology.Alert{Name: "NoHealthyRegion", Status: "firing"}
	res := topology.Alert{Name: "NoHealthyRegion", Status: "resolved"}
	if r := AlertsOnce([]topology.Alert{f, res}, "NoHealthyRegion"); !r.OK {
		t.Fatalf("one firing + resolved must pass: %+v", r)
	}
	if r := AlertsOnce(nil, "NoHealthyRegion"); r.OK {
		t.Fatal("no alert must fail")
	}
	if r := AlertsOnce([]topology.Alert{f, f, f}, "NoHealthyRegion"); r.OK || r.Value != 3 {
		t.Fatalf("storm must fail: %+v", r)
	}
}

func TestDetectionTime(t *testing.T) {
	tr := []topology.Transition{
		{Region: "a", From: "active", To: "degraded", At: at(-500)}, // before the fault
		{Region: "b", From: "active", To: "down", At: at(100)},
		{Region: "a", From: "active", To: "down", At: at(400)},
	}
	r := DetectionTime(at(0), tr, "a", time.Second)
	if !r.OK || math.Abs(r.Value-0.4) > 1e-9 {
		t.Fatalf("want 0.4s ok: %+v", r)
	}
	if r := DetectionTime(at(0), tr, "a", 300*time.Millisecond); r.OK {
		t.Fatalf("0.4s over a 0.3s bound must fail: %+v", r)
	}
	if r := DetectionTime(at(0), tr, "c", 0); r.OK {
		t.Fatalf("no transition must fail: %+v", r)
	}
}

func TestRTO(t *testing.T) {
	ops := []history.Op{
		op(0, history.KindMessage, "u1", "s1", "a", -100, 200, "a", 1),
		op(1, history.KindMessage, "u1", "s1", "b", 100, 503, "a", 0),
		op(2, history.KindMessage, "u1", "s1", "b", 300, 503, "a", 0),
		op(3, history.KindMessage, "u1", "s1", "b", 600, 200, "b", 2), // down 100..610
		op(4, history.KindMessage, "u2", "s2", "c", 200, 200, "b", 1),
	}
	r := RTO(ops, at(0), time.Second)
	if !r.OK || math.Abs(r.Value-0.51) > 1e-9 {
		t.Fatalf("want 0.51s ok: %+v", r)
	}
	if r := RTO(ops, at(0), 500*time.Millisecond); r.OK {
		t.Fatalf("0.51s over 0.5s must fail: %+v", r)
	}
	never := append(ops, op(5, history.KindMessage, "u2", "s2", "d", 900, 503, "a", 0))
	if r := RTO(never, at(0), 0); r.OK {
		t.Fatalf("unrecovered user must fail: %+v", r)
	}
}

func TestRPO(t *testing.T) {
	ops := []history.Op{
		msg(0, "s", "m1", 0, 200, 1),
		msg(1, "s", "m2", 1000, 200, 2),
		msg(2, "s", "m3", 2000, 200, 3),
	}
	m, s := RPO(ops, convs("s", "m1"), 0, 0, 5)
	if m.OK || m.Value != 2 {
		t.Fatalf("2 lost must fail at max 0: %+v", m)
	}
	if !s.OK || math.Abs(s.Value-1.01) > 1e-9 {
		t.Fatalf("want 1.01s lost within 5s: %+v", s)
	}
	m, s = RPO(ops, convs("s", "m1", "m2", "m3"), 0, 0, 0)
	if !m.OK || !s.OK || m.Value != 0 {
		t.Fatalf("nothing lost must pass: %+v %+v", m, s)
	}
}

func TestErrorRate(t *testing.T) {
	ops := []history.Op{msg(0, "s", "a", 0, 200, 1), msg(1, "s", "b", 10, 503, 0), msg(2, "s", "c", 20, 200, 2), msg(3, "s", "d", 30, 200, 3)}
	if r := ErrorRate(ops, at(0), at(100), 0.3); !r.OK || r.Value != 0.25 {
		t.Fatalf("25%% under 30%% must pass: %+v", r)
	}
	if r := ErrorRate(ops, at(0), at(100), 0.2); r.OK {
		t.Fatalf("25%% over 20%% must fail: %+v", r)
	}
}
