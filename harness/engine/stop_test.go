package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/history"
)

// A row whose users' requests fail past the limit is aborted (its context
// cancelled, so its waits end and its heals run) and judged FAILED with the
// stop condition's reason; below the limit it runs to its end.
func TestStopConditionErrorRateAbortsTheRow(t *testing.T) {
	body := func(failing bool) func(ctx context.Context, r *Run) error {
		return func(ctx context.Context, r *Run) error {
			now := time.Now()
			for i := range 40 {
				st := 200
				if failing && i%2 == 0 {
					st = 503
				}
				r.History.Add(history.Op{Kind: history.KindMessage, Start: now, End: now, Status: st})
			}
			r.Out.Add(check.Safe("ok", true, 0, "ok"))
			select {
			case <-ctx.Done(): // a stop condition ends the row's waits
				return ctx.Err()
			case <-time.After(2 * time.Second):
				return nil
			}
		}
	}
	env := &Env{Defer: func(string, HealFunc) {}, Stop: StopConditions{MaxErrorRate: 0.3, Window: time.Minute, MinRequests: 20, Every: 10 * time.Millisecond}}
	o, _ := Row{N: 1, Label: "plan-1", Spec: "stopped", Body: body(true)}.Run(context.Background(), env)
	if o.Verdict != check.Failed || !strings.Contains(o.Why, "stop condition: 20 of the users' last 40 requests") {
		t.Fatalf("half the requests failing against a 30%% limit: %s %q, want FAILED by the stop condition", o.Verdict, o.Why)
	}
	o, _ = Row{N: 1, Label: "plan-1", Spec: "kept", Body: body(false)}.Run(context.Background(), env)
	if o.Verdict != check.Passed {
		t.Fatalf("no request failing: %s %q, want PASSED", o.Verdict, o.Why)
	}
}

func TestStopConditionRowTime(t *testing.T) {
	env := &Env{Defer: func(string, HealFunc) {}, Stop: StopConditions{MaxRowTime: 50 * time.Millisecond}}
	o, _ := Row{N: 2, Label: "plan-2", Spec: "slow", Body: func(ctx context.Context, r *Run) error {
		<-ctx.Done()
		return ctx.Err()
	}}.Run(context.Background(), env)
	if o.Verdict != check.Failed || !strings.Contains(o.Why, "ran longer than its limit 50ms") {
		t.Fatalf("%s %q, want FAILED by the row-time stop condition", o.Verdict, o.Why)
	}
}

func TestStopConditionsValidate(t *testing.T) {
	for _, s := range []StopConditions{{MaxErrorRate: 1.5}, {MaxErrorRate: -0.1}, {Window: -time.Second}, {MaxRowTime: -1}} {
		if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), "stop.") {
			t.Errorf("%+v: %v, want an error naming the field", s, err)
		}
	}
}
