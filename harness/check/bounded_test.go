package check

import (
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/history"
)

func TestLostAckedWindowByTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ack := func(id string, start int) history.Op {
		return history.Op{Kind: history.KindMessage, Session: "s", MessageID: id, Status: 200, Start: at(start), End: at(start + 5)}
	}
	ops := []history.Op{ack("m1", 0), ack("m2", 10), ack("m3", 20)}
	conv := func(ids []string, times ...int) map[string]Conversation {
		c := Conversation{IDs: ids}
		for _, ms := range times {
			c.Times = append(c.Times, at(ms))
		}
		return map[string]Conversation{"s": c}
	}
	cases := []struct {
		name   string
		final  map[string]Conversation
		window int
		lost   float64
	}{
		{"all present", conv([]string{"m1", "m2", "m3"}, 1, 11, 21), 2, 0},
		{"evicted: full, kept ones written after m1 started", conv([]string{"m2", "m3"}, 11, 21), 2, 0},
		{"lost: conversation not full", conv([]string{"m1", "m3"}, 1, 21), 3, 1},
		{"lost: full, but m3 started after the oldest kept one", conv([]string{"m1", "m2"}, 1, 11), 2, 1},
		{"lost: session came back empty", conv(nil), 2, 3},
	}
	for _, tc := range cases {
		r := LostAcked(ops, tc.final, tc.window)
		if r.Value != tc.lost || r.OK != (tc.lost == 0) {
			t.Errorf("%s: got ok=%v value=%v (%s), want lost %v", tc.name, r.OK, r.Value, r.Reason, tc.lost)
		}
	}
}
