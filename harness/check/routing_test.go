package check

import (
	"fmt"
	"slices"
	"testing"

	"github.com/agentops/failover-harness/harness/history"
)

var weights = map[string]int{"us-east-1": 50, "eu-west-1": 30, "ap-southeast-1": 20}

// sessions makes n sessions per region, each created once and then sending
// msgs messages served by that region.
func sessions(split map[string]int, msgs map[string]int) []history.Op {
	var ops []history.Op
	i := 0
	for _, r := range []string{"us-east-1", "eu-west-1", "ap-southeast-1"} {
		for j := 0; j < split[r]; j++ {
			s := fmt.Sprintf("s%04d", i)
			ops = append(ops, mk(history.KindCreate, s, "", i, 201, served(r)))
			for k := 0; k < msgs[r]; k++ {
				ops = append(ops, msg(s, fmt.Sprintf("m%d", k), i+k, 200, served(r)))
			}
			i++
		}
	}
	return ops
}

func TestWeightSplit(t *testing.T) {
	even := sessions(map[string]int{"us-east-1": 500, "eu-west-1": 300, "ap-southeast-1": 200}, nil)
	// the same sessions, but ap-southeast-1's send 30 messages each: were
	// requests the unit, ap-southeast-1 would hold most of them
	chatty := sessions(map[string]int{"us-east-1": 500, "eu-west-1": 300, "ap-southeast-1": 200}, map[string]int{"ap-southeast-1": 30, "us-east-1": 1})
	// every session re-created (a 200 for a live id), one create retried
	// after a 503 from another region, reads and failed creates around
	var noisy []history.Op
	for _, op := range even {
		noisy = append(noisy, op, op)
		noisy = append(noisy, mk(history.KindRead, op.Session, "", 0, 200, served("ap-southeast-1")))
	}
	noisy = append(noisy, mk(history.KindCreate, "x", "", 0, 503, served("ap-southeast-1")), mk(history.KindCreate, "s0000", "", 0, 200, served("ap-southeast-1")))
	for i := 0; i < 300; i++ {
		noisy = append(noisy, mk(history.KindCreate, fmt.Sprintf("f%d", i), "", 0, 503, served("ap-southeast-1")))
	}
	uniform := sessions(map[string]int{"us-east-1": 334, "eu-west-1": 333, "ap-southeast-1": 333}, nil)

	cases := []struct {
		name   string
		ops    []history.Op
		ok     bool
		reason []string
	}{
		{"500/300/200 against 50/30/20", even, true, []string{"1000 sessions (ap-southeast-1 200, eu-west-1 300, us-east-1 500)", "consistent with the weights", "sessions"}},
		{"a session's requests count once", chatty, true, []string{"1000 sessions"}},
		{"re-creates, retries, reads and failed creates do not count", noisy, true, []string{"1000 sessions (ap-southeast-1 200, eu-west-1 300, us-east-1 500)"}},
		{"334/333/333 against 50/30/20", uniform, false, []string{"1000 sessions", "split differs from the weights", "of 1000 sessions"}},
		{"no session", seq(msg("s", "m", 0, 200, served("us-east-1"))), false, []string{"no session was created"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := WeightSplit(seq(c.ops...), weights, DefaultFalseAlarm)
			if r.OK != c.ok || r.Class != Liveness || r.Name != "weight-split" {
				t.Errorf("%+v: want ok %v", r, c.ok)
			}
			wantReason(t, r, c.reason...)
			if c.ok && r.Value != 0 {
				t.Errorf("exact split deviates by %v", r.Value)
			}
		})
	}
	// a region with sessions but no weight is a failure
	r := WeightSplit(seq(append(slices.Clone(even), mk(history.KindCreate, "rogue", "", 0, 201, served("sa-east-1")))...), weights, DefaultFalseAlarm)
	if r.OK {
		t.Errorf("sessions on an unweighted region must fail: %+v", r)
	}
}
