package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/agentops/failover-harness/harness/topology"
)

// A row refused for what the topology lacks is SKIPPED with the reason,
// never passed; any other error stays a failure.
func TestUnsupportedRowIsSkipped(t *testing.T) {
	env := &Env{Defer: func(string, HealFunc) {}}
	o, err := Row{N: 4, Label: "plan-4", Spec: "needs a link", Body: func(context.Context, *Run) error {
		return fmt.Errorf("start external topology: link lb->a not carried: %w", topology.ErrUnsupported)
	}}.Run(context.Background(), env)
	if v, why := Verdict(o, err); v != "skipped" || !strings.Contains(why, "link lb->a not carried") {
		t.Fatalf("%s %q, want skipped with the reason", v, why)
	}
	o, err = Row{N: 4, Label: "plan-4", Spec: "breaks", Body: func(context.Context, *Run) error {
		return fmt.Errorf("start: boom")
	}}.Run(context.Background(), env)
	if v, _ := Verdict(o, err); v != "failed" {
		t.Fatalf("a plain error: %s, want failed", v)
	}
}
