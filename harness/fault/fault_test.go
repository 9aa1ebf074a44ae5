package fault

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

type fakeGate struct {
	status int
	rate   float64
}

func (g *fakeGate) SetStatus(c int)          { g.status = c }
func (g *fakeGate) SetFailureRate(p float64) { g.rate = p }
func (g *fakeGate) SetDelay(time.Duration)   {}
func (g *fakeGate) Reset()                   { g.status, g.rate = 0, 0 }

// fakeCluster implements only what these faults call; anything else panics
// through the nil embedded interface.
type fakeCluster struct {
	topology.Cluster
	gates    map[string]*fakeGate
	killed   map[string]bool
	startErr error
}

func newFake() *fakeCluster {
	return &fakeCluster{gates: map[string]*fakeGate{"a": {}, "b": {}}, killed: map[string]bool{}}
}

func (f *fakeCluster) Regions() []topology.Region {
	return []topology.Region{{Name: "a"}, {Name: "b"}}
}
func (f *fakeCluster) Links() []string { return nil }
func (f *fakeCluster) Gate(r string) topology.GateControl {
	if g, ok := f.gates[r]; ok {
		return g
	}
	return nil
}
func (f *fakeCluster) Kill(_ context.Context, r string) error { f.killed[r] = true; return nil }
func (f *fakeCluster) Start(_ context.Context, r string, _ bool) error {
	if f.startErr != nil {
		return f.startErr
	}
	f.killed[r] = false
	return nil
}

func TestTrackerHealAllAndWindows(t *testing.T) {
	c := newFake()
	tr := NewTracker(c)
	ctx := context.Background()
	recA, wA, err := tr.Inject(ctx, HTTPStatus{Region: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if wA.Name != "http-status(a,503)" || wA.Injected.Before(wA.Start) {
		t.Fatalf("window of a: %+v", wA)
	}
	if _, _, err := tr.Inject(ctx, RegionsDown{Regions: []string{"b"}, Fault: func(r string) Fault { return FailureRate{Region: r, Rate: 0.5} }}); err != nil {
		t.Fatal(err)
	}
	if c.gates["a"].status != 503 || c.gates["b"].rate != 0.5 {
		t.Fatalf("faults not applied: %+v %+v", c.gates["a"], c.gates["b"])
	}
	if err := recA(ctx); err != nil {
		t.Fatal(err)
	}
	c.gates["a"].status = 418 // a second recover must not touch the gate again
	if err := recA(ctx); err != nil || c.gates["a"].status != 418 {
		t.Fatalf("recover not idempotent: %v status %d", err, c.gates["a"].status)
	}
	if err := tr.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
	if c.gates["b"].rate != 0 {
		t.Fatal("HealAll left the failure rate on b")
	}
	ws := tr.Windows()
	if len(ws) != 2 || ws[0].End.IsZero() || ws[1].End.IsZero() || !strings.HasPrefix(ws[1].Name, "regions-down") {
		t.Fatalf("windows: %+v", ws)
	}
}

func TestUnavailableAndBadParameters(t *testing.T) {
	c := newFake()
	tr := NewTracker(c)
	for _, f := range []Fault{
		HTTPStatus{Region: "zz"},
		FailureRate{Region: "a", Rate: 1.5},
		Partition{Link: "a->dynamodb", Mode: "sideways"},
		KillRestart{Region: "a", Downtime: -time.Second},
		RegionsDown{},
	} {
		if _, _, err := tr.Inject(context.Background(), f); err == nil {
			t.Fatalf("%s: want an error", f.Name())
		}
	}
	if len(tr.Windows()) != 0 {
		t.Fatal("rejected faults must not be recorded")
	}
}

func TestKillRestartFailureLeftForHealAll(t *testing.T) {
	c := newFake()
	c.startErr = errors.New("port busy")
	tr := NewTracker(c)
	if _, _, err := tr.Inject(context.Background(), KillRestart{Region: "a"}); err == nil {
		t.Fatal("want restart error")
	}
	if !c.killed["a"] {
		t.Fatal("region not killed")
	}
	c.startErr = nil
	if err := tr.HealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.killed["a"] {
		t.Fatal("HealAll did not restart the region")
	}
}
