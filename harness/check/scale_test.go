package check

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/history"
)

// The reference versions below are the checkers' code before issue 14
// item 5 made them sort indices instead of copies of 270-byte operations.
// TestScaledCheckersUnchanged holds the new ones to the same outputs.

func refByCompletion(ops []history.Op) []history.Op {
	s := append([]history.Op(nil), ops...)
	sort.SliceStable(s, func(i, j int) bool {
		if !s[i].End.Equal(s[j].End) {
			return s[i].End.Before(s[j].End)
		}
		return s[i].Seq < s[j].Seq
	})
	return s
}

func refAcks(ops []history.Op) map[string][]Ack {
	out := map[string][]Ack{}
	idx := map[string]int{}
	for _, op := range refByCompletion(ops) {
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

func refVersionsMonotonic(ops []history.Op) Result {
	const name = "versions-monotonic"
	bySess := map[string][]history.Op{}
	for _, op := range ops {
		if op.OK() && op.Session != "" && op.Version != 0 {
			bySess[op.Session] = append(bySess[op.Session], op)
		}
	}
	bad := 0
	var first string
	for _, sess := range sortedKeys(bySess) {
		ss := bySess[sess]
		byStart := append([]history.Op(nil), ss...)
		sort.SliceStable(byStart, func(i, j int) bool { return byStart[i].Start.Before(byStart[j].Start) })
		byEnd := refByCompletion(ss)
		var floor history.Op
		j := 0
		for _, op := range byStart {
			for ; j < len(byEnd) && byEnd[j].End.Before(op.Start); j++ {
				if byEnd[j].Version > floor.Version {
					floor = byEnd[j]
				}
			}
			if op.Version < floor.Version {
				bad++
				if first == "" {
					first = fmt.Sprintf("session %s: version %d (seq %d, %s) after %d (seq %d, %s) had completed",
						sess, op.Version, op.Seq, op.ServedBy, floor.Version, floor.Seq, floor.ServedBy)
				}
			}
		}
	}
	if bad > 0 {
		return result(name, Safety, false, float64(bad), "count", nil, "%d backwards versions; first: %s", bad, first)
	}
	return result(name, Safety, true, 0, "count", nil, "%d sessions, versions never went backwards", len(bySess))
}

func refWaits(ops []history.Op) []wait {
	idx := map[string]int{}
	var out []wait
	sorted := append([]history.Op(nil), ops...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Start.Before(sorted[j].Start) })
	for _, op := range sorted {
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
			continue
		}
		w.attempts++
		w.until = op.End
		w.ok = op.OK()
	}
	return out
}

// scaleVariants are generated histories plus harsher ones: times rounded
// to 10ms (ties everywhere, so sort stability decides), shuffled into
// start order, and with versions pushed backwards and message ids reused.
func scaleVariants(t *testing.T, n int) map[string][]history.Op {
	t.Helper()
	g := genHistory(n)
	out := map[string][]history.Op{"generated": g.Ops}
	coarse := append([]history.Op(nil), g.Ops...)
	for i := range coarse {
		coarse[i].Start = coarse[i].Start.Truncate(10 * time.Millisecond)
		coarse[i].End = coarse[i].End.Truncate(10 * time.Millisecond)
		if i%7 == 0 {
			coarse[i].Seq = int64(len(coarse) - i) // Seq no longer follows the slice
		}
	}
	out["coarse-times"] = coarse
	broken := append([]history.Op(nil), coarse...)
	for i := range broken {
		switch i % 97 {
		case 3:
			broken[i].Version -= 3 // a regression
		case 5:
			broken[i].MessageVersion = 0 // version from the session's
		case 11:
			broken[i].MessageID = "m1" // a reused id
		case 13:
			broken[i].Session = "" // no session
		}
	}
	out["broken"] = broken
	byStart := append([]history.Op(nil), broken...)
	sort.SliceStable(byStart, func(i, j int) bool { return byStart[i].Start.Before(byStart[j].Start) })
	out["start-order"] = byStart
	return out
}

func TestScaledCheckersUnchanged(t *testing.T) {
	for _, n := range []int{3_000, 30_000} {
		for name, ops := range scaleVariants(t, n) {
			t.Run(fmt.Sprintf("%s/n=%d", name, n), func(t *testing.T) {
				if got, want := Acks(ops), refAcks(ops); !reflect.DeepEqual(got, want) {
					t.Errorf("Acks differs from the reference")
				}
				if got, want := VersionsMonotonic(ops), refVersionsMonotonic(ops); !reflect.DeepEqual(got, want) {
					t.Errorf("VersionsMonotonic:\n got %+v\nwant %+v", got, want)
				}
				if got, want := waits(ops), refWaits(ops); !reflect.DeepEqual(got, want) {
					t.Errorf("waits differs from the reference")
				}
				if name == "broken" && refVersionsMonotonic(ops).OK {
					t.Errorf("the broken history's versions never go backwards: the comparison covers too little")
				}
			})
		}
	}
}

// A negative version with nothing completed before it is judged against
// the zero floor, as the reference does.
func TestVersionsMonotonicNoFloorUnchanged(t *testing.T) {
	ops := seq(msg("s", "m1", 0, 200, ver(-1)), msg("s", "m2", 10, 200, ver(2)), msg("s", "m3", 100, 200, ver(1)))
	if got, want := VersionsMonotonic(ops), refVersionsMonotonic(ops); !reflect.DeepEqual(got, want) || got.OK {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
