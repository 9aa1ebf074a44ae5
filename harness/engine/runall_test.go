package engine

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/agentops/failover-harness/reports"
)

// A row that panics after injecting a fault is reported failed, and the
// fault is still healed: RunAll heals on every path.
func TestRunAllHealsWhenARowPanics(t *testing.T) {
	healed := 0
	row := Row{Label: "plan-x", Spec: "panics mid-fault", Body: func(ctx context.Context, r *Run) error {
		r.Env.Defer("fake fault", func(context.Context) error { healed++; return nil })
		panic("boom")
	}}
	s := &Suite{outcomes: map[string]*Outcome{}, runs: map[string]specRun{}}
	res, err := s.RunAll(context.Background(), []Row{row}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Verdict != reports.Failed || !strings.Contains(res[0].Failure, "panic: boom") {
		t.Fatalf("want one failed result naming the panic, got %+v", res)
	}
	if healed != 1 {
		t.Fatalf("fault healed %d times, want 1", healed)
	}
}
