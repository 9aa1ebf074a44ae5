package check

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/agentops/failover-harness/harness/history"
)

// linHist builds a one-session history on one clock: each op spans
// [start, end] in milliseconds from t0.
type linHist struct {
	t0  time.Time
	ops []history.Op
}

func newLinHist() *linHist { return &linHist{t0: time.Unix(1_700_000_000, 0)} }

func (h *linHist) at(ms int) time.Time { return h.t0.Add(time.Duration(ms) * time.Millisecond) }

func (h *linHist) add(op history.Op, start, end int) *linHist {
	op.Seq = int64(len(h.ops))
	if op.Session == "" {
		op.Session = "s1"
	}
	op.Start, op.End = h.at(start), h.at(end)
	h.ops = append(h.ops, op)
	return h
}

func (h *linHist) create(start, end int) *linHist {
	return h.add(history.Op{Kind: history.KindCreate, Status: 201, Version: 1}, start, end)
}

func (h *linHist) ack(msg string, v int64, start, end int) *linHist {
	return h.add(history.Op{Kind: history.KindMessage, MessageID: msg, Status: 200, Version: v, MessageVersion: v}, start, end)
}

func (h *linHist) dup(msg string, at, v int64, start, end int) *linHist {
	return h.add(history.Op{Kind: history.KindMessage, MessageID: msg, Status: 200, Version: v, MessageVersion: at, Duplicate: true}, start, end)
}

func (h *linHist) fail(msg string, status int, start, end int) *linHist {
	return h.add(history.Op{Kind: history.KindMessage, MessageID: msg, Status: status}, start, end)
}

func (h *linHist) read(v int64, ids []string, start, end int) *linHist {
	return h.add(history.Op{Kind: history.KindRead, Status: 200, Version: v, IDs: ids}, start, end)
}

func TestLinearizableLegalHistories(t *testing.T) {
	cases := map[string]*linHist{
		"sequential appends and a read": newLinHist().create(0, 1).ack("m1", 2, 2, 3).ack("m2", 3, 4, 5).read(3, []string{"m1", "m2"}, 6, 7),
		// the first attempt timed out after the region stored it; the retry is a duplicate
		"timed-out attempt then duplicate": newLinHist().create(0, 1).fail("m1", 0, 2, 10).dup("m1", 2, 2, 11, 12).ack("m2", 3, 13, 14),
		// the LB retried on another region, which found the message stored
		"duplicate as the only answer": newLinHist().create(0, 1).dup("m1", 2, 2, 2, 3).read(2, []string{"m1"}, 4, 5),
		// a 504 whose write landed: the next ack builds on it
		"unanswered write applied": newLinHist().create(0, 1).fail("m1", 504, 2, 3).ack("m2", 3, 4, 5).read(3, []string{"m1", "m2"}, 6, 7),
		// a 503 whose write never happened
		"unanswered write not applied": newLinHist().create(0, 1).fail("m1", 503, 2, 3).ack("m2", 2, 4, 5).read(2, []string{"m2"}, 6, 7),
		// the run's end cut a request off; the final read saw it stored
		"abandoned write seen later": newLinHist().create(0, 1).add(history.Op{Kind: history.KindMessage, MessageID: "m1", Abandoned: true}, 2, 3).read(2, []string{"m1"}, 6, 7),
		// two writers at once: either order is legal
		"concurrent appends": newLinHist().create(0, 1).ack("a", 3, 2, 10).ack("b", 2, 3, 9).read(3, []string{"b", "a"}, 11, 12),
		// the conversation bound keeps the newest 4 messages: two user messages
		"trimmed conversation": newLinHist().create(0, 1).ack("m1", 2, 2, 3).ack("m2", 3, 4, 5).ack("m3", 4, 6, 7).read(4, []string{"m2", "m3"}, 8, 9),
		// refusals write nothing
		"refused writes": newLinHist().create(0, 1).fail("x", 409, 2, 3).fail("y", 413, 3, 4).ack("m1", 2, 5, 6),
		// a re-create after the session expired starts over
		"re-create after expiry": newLinHist().create(0, 1).ack("m1", 2, 2, 3).fail("m2", 410, 4, 5).
			add(history.Op{Kind: history.KindReauth, Status: 201, Version: 1}, 6, 7).ack("m2", 2, 8, 9).read(2, []string{"m2"}, 10, 11),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			r := Linearizable(h.ops, LinearizableOptions{MaxMessages: 4})
			if !r.OK || r.Class != Safety {
				t.Fatalf("legal history judged %+v", r)
			}
		})
	}
}

func TestLinearizableFailsOnBrokenHistories(t *testing.T) {
	cases := []struct {
		name string
		h    *linHist
		want string // in the reason
	}{
		{"acknowledged append disappears and reappears",
			newLinHist().create(0, 1).ack("m1", 2, 2, 3).ack("m2", 3, 4, 5).
				read(3, []string{"m1", "m2"}, 6, 7).read(3, []string{"m2"}, 8, 9).read(3, []string{"m1", "m2"}, 10, 11),
			"read → version 3, 1 messages (m2)"},
		{"two writers acknowledged at the same version",
			newLinHist().create(0, 1).ack("a", 2, 2, 5).ack("b", 2, 3, 6),
			"→ version 2"},
		{"version went back",
			newLinHist().create(0, 1).ack("m1", 2, 2, 3).ack("m2", 3, 4, 5).read(2, []string{"m1"}, 6, 7),
			"read → version 2"},
		{"acknowledged twice (not idempotent)",
			newLinHist().create(0, 1).ack("m1", 2, 2, 3).ack("m1", 3, 4, 5),
			"append m1 → version 3"},
		{"duplicate of a message never stored",
			newLinHist().create(0, 1).ack("m1", 2, 2, 3).dup("zz", 5, 5, 4, 5),
			"append zz → duplicate"},
		{"version skipped with nothing to explain it",
			newLinHist().create(0, 1).ack("m1", 2, 2, 3).ack("m2", 4, 4, 5),
			"append m2 → version 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := Linearizable(tc.h.ops, LinearizableOptions{MaxMessages: 50, Dir: dir})
			if r.OK || r.Class != Safety || r.Value != 1 {
				t.Fatalf("broken history judged %+v", r)
			}
			if !strings.Contains(r.Reason, "session s1") || !strings.Contains(r.Reason, tc.want) {
				t.Fatalf("reason does not name the session and %q: %s", tc.want, r.Reason)
			}
			if _, err := os.Stat(filepath.Join(dir, "linearizability-s1.html")); err != nil || !strings.Contains(r.Reason, "linearizability-s1.html") {
				t.Fatalf("visualization not kept or not named (%v): %s", err, r.Reason)
			}
			t.Log(r.Reason)
		})
	}
}

// Sessions are independent: one broken session fails the check and is the
// one named, whatever the others do.
func TestLinearizableNamesTheBrokenSession(t *testing.T) {
	h := newLinHist()
	for _, s := range []string{"a", "b", "c"} {
		h.add(history.Op{Session: s, Kind: history.KindCreate, Status: 201, Version: 1}, 0, 1)
		h.add(history.Op{Session: s, Kind: history.KindMessage, MessageID: "m", Status: 200, Version: 2, MessageVersion: 2}, 2, 3)
	}
	h.add(history.Op{Session: "b", Kind: history.KindRead, Status: 200, Version: 2, IDs: nil}, 4, 5)
	r := Linearizable(h.ops, LinearizableOptions{MaxMessages: 50})
	if r.OK || !strings.Contains(r.Reason, "1 of 3 sessions") || !strings.Contains(r.Reason, "session b:") {
		t.Fatalf("got %+v", r)
	}
}

func TestLinearizableApplies(t *testing.T) {
	for _, tc := range []struct {
		policy, strategy string
		want             bool
	}{
		{"on-ack", "version-wins", true}, {"on-ack", "merge", true},
		{"on-ack", "last-write-wins", false}, {"periodic", "version-wins", false}, {"on-mutation", "merge", false},
	} {
		if ok, why := LinearizableApplies(tc.policy, tc.strategy); ok != tc.want || (!ok && why == "") {
			t.Errorf("%s/%s: %v %q", tc.policy, tc.strategy, ok, why)
		}
	}
}

// A history kept on disk replays its verdict: the abandoned requests and
// read ids survive the JSON lines.
func TestLinearizableFromJSONL(t *testing.T) {
	h := history.New()
	src := newLinHist().create(0, 1).add(history.Op{Kind: history.KindMessage, MessageID: "m1"}, 2, 3).read(2, []string{"m1"}, 6, 7)
	h.Add(src.ops[0])
	h.Abandon(src.ops[1])
	h.Add(src.ops[2])
	var b strings.Builder
	if err := h.WriteJSONL(&b); err != nil {
		t.Fatal(err)
	}
	back, err := history.ReadJSONL(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Abandoned()) != 1 || len(back.Ops()) != 2 {
		t.Fatalf("abandoned %d ops %d", len(back.Abandoned()), len(back.Ops()))
	}
	if r := Linearizable(append(back.Ops(), back.Abandoned()...), LinearizableOptions{}); !r.OK {
		t.Fatalf("%+v", r)
	}
	// without the abandoned write the read is unexplained: red
	if r := Linearizable(back.Ops(), LinearizableOptions{}); r.OK {
		t.Fatalf("read of a message nobody wrote passed: %+v", r)
	}
}

// The fast path (a session whose operations never overlap is stepped
// along its one order) agrees with porcupine's search on random histories,
// legal and not.
func TestSequentialPathAgreesWithPorcupine(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 14))
	model := sessionModel(6)
	illegal := 0
	for trial := range 3000 {
		h := newLinHist().create(0, 1)
		v := int64(1)
		var acked []string
		at := 2
		for k := range 2 + rng.IntN(6) {
			id := fmt.Sprintf("m%d", k)
			switch rng.IntN(6) {
			case 0: // a read, sometimes wrong
				rv := v + int64(rng.IntN(3)) - 1
				h.read(rv, acked[max(0, len(acked)-3):], at, at+1)
			case 1: // a duplicate of something, sometimes never stored
				if len(acked) > 0 && rng.IntN(2) == 0 {
					j := rng.IntN(len(acked))
					h.dup(acked[j], int64(j+2), v, at, at+1)
				} else {
					h.dup("zz", v+1, v+1, at, at+1)
				}
			default: // an ack, sometimes at the wrong version
				nv := v + 1
				if rng.IntN(8) == 0 {
					nv += int64(rng.IntN(3)) - 1
				}
				h.ack(id, nv, at, at+1)
				if nv == v+1 {
					v = nv
					acked = append(acked, id)
				}
			}
			at += 2
		}
		ops, _ := linOps(h.ops)
		seq := sequentialLegal(model, ops["s1"])
		if seq == seqConcurrent {
			t.Fatalf("trial %d: a sequential history judged concurrent", trial)
		}
		if got, want := seq == seqLegal, porcupine.CheckOperations(model, ops["s1"]); got != want {
			t.Fatalf("trial %d: fast path says legal=%v, porcupine %v", trial, got, want)
		}
		if seq == seqIllegal {
			illegal++
		}
	}
	if illegal < 300 || illegal > 2700 {
		t.Fatalf("%d of 3000 random histories illegal: the generator does not test both sides", illegal)
	}
}
