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

func (g *fakeGate) SetStatus(c int) error          { g.status = c; return nil }
func (g *fakeGate) SetFailureRate(p float64) error { g.rate = p; return nil }
func (g *fakeGate) SetDelay(time.Duration) error   { return nil }
func (g *fakeGate) Reset() error                   { g.status, g.rate = 0, 0; return nil }

// fakeCluster implements only what these faults call; anything else panics
// through the nil embedded interface.
type fakeCluster struct {
	topology.Cluster
	gates    map[string]*fakeGate
	killed   map[string]bool
	paused   []string
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
func (f *fakeCluster) Pause(_ context.Context, r string) error {
	f.paused = append(f.paused, r)
	return nil
}
func (f *fakeCluster) Resume(context.Context, string) error { return nil }
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

// A fault that freezes or kills regions says which, in its window: their
// own loops run late while it is injected, and that is not starvation.
func TestWindowsNameTheStoppedRegions(t *testing.T) {
	c := newFake()
	tr := NewTracker(c)
	ctx := context.Background()
	for _, f := range []Fault{
		Pause{Region: "a"},
		RegionsDown{Regions: []string{"a", "b"}, Fault: func(r string) Fault { return Pause{Region: r} }},
		RegionsDown{Regions: []string{"a", "b"}}, // 503s: nothing stopped
		HTTPStatus{Region: "b", Code: 503},
	} {
		heal, _, err := tr.Inject(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		if err := heal(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ws := tr.Windows()
	want := [][]string{{"a"}, {"a", "b"}, nil, nil}
	for i, w := range ws {
		if strings.Join(w.Stops, ",") != strings.Join(want[i], ",") {
			t.Errorf("%s stops %v, want %v", w.Name, w.Stops, want[i])
		}
	}
	if got := (KillRestart{Region: "c"}).Stops(); len(got) != 1 || got[0] != "c" {
		t.Errorf("kill-restart stops %v", got)
	}
	if got := (LongOutage{Region: "c"}).Stops(); len(got) != 1 || got[0] != "c" {
		t.Errorf("long-outage stops %v", got)
	}
}

func TestWindowOverlaps(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	w := Window{Start: ms(100), End: ms(200)}
	for _, c := range []struct {
		from, to int
		want     bool
	}{{0, 99, false}, {0, 100, true}, {150, 160, true}, {200, 300, true}, {201, 300, false}} {
		if got := w.Overlaps(ms(c.from), ms(c.to)); got != c.want {
			t.Errorf("[%d,%d] overlaps [100,200]: %v, want %v", c.from, c.to, got, c.want)
		}
	}
	if !(Window{Start: ms(100)}).Overlaps(ms(5000), ms(6000)) {
		t.Error("a window still injected overlaps everything after its start")
	}
}

func TestKillLeavesRegionDownUntilRecover(t *testing.T) {
	c := newFake()
	f := Kill{Region: "a", ColdCache: true}
	if f.Name() != "kill(a,cold)" || f.Available(c) != nil || (Kill{Region: "zz"}).Available(c) == nil {
		t.Fatalf("name %q / availability wrong", f.Name())
	}
	heal, err := f.Inject(context.Background(), c)
	if err != nil || !c.killed["a"] {
		t.Fatalf("inject: %v, killed %v", err, c.killed)
	}
	c.startErr = errors.New("port busy")
	if err := heal(context.Background()); err == nil || !c.killed["a"] {
		t.Fatalf("failed start reported %v, killed %v", err, c.killed)
	}
	c.startErr = nil
	if err := heal(context.Background()); err != nil || c.killed["a"] {
		t.Fatalf("second recover: %v, killed %v", err, c.killed)
	}
}
