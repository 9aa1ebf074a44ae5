package local

import (
	"context"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/traffic"
)

// End to end through the real LB: traffic, read-back, and the loss and
// version checkers on the resulting history.
func TestTrafficThroughLBChecksPass(t *testing.T) {
	c := startCluster(t)
	h := history.New()
	cfg := traffic.Config{LBURL: c.LBURL(), Users: 3, Interval: 20 * time.Millisecond,
		Duration: 1500 * time.Millisecond, MaxMessages: 20, Seed: c.Spec().Seed}
	res, err := traffic.Run(context.Background(), cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if res.Acked == 0 {
		t.Fatalf("no message acknowledged: %+v", h.Ops())
	}
	convs, err := traffic.NewClient(cfg, h).ReadAll(context.Background(), res.All, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	final := map[string]check.Conversation{}
	for s, cv := range convs {
		final[s] = check.Conversation{IDs: cv.MessageIDs, Versions: cv.Versions, Messages: cv.Messages}
	}
	for _, r := range []check.Result{
		check.LostAcked(check.Lost(h.Ops(), final, 50, nil, 0)),
		check.VersionsMonotonic(h.Ops()),
	} {
		if !r.OK {
			t.Fatalf("%s: %s", r.Name, r.Reason)
		}
	}
	if r := check.ErrorRate(h.Ops(), time.Time{}, time.Now(), 0.001, check.DefaultFalseAlarm); !r.OK {
		t.Fatalf("healthy topology: %s", r.Reason)
	}
}
