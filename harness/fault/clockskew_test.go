package fault

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// clockCluster is the fake cluster with a settable clock: it records each
// start with the offset and cache it started with.
type clockCluster struct {
	*fakeCluster
	spec    topology.Spec
	offsets map[string]time.Duration // applied at the next Start
	starts  []clockStart
}

type clockStart struct {
	region string
	offset time.Duration
	cold   bool
}

func newClockFake() *clockCluster {
	return &clockCluster{
		fakeCluster: newFake(),
		spec:        topology.Spec{Regions: []topology.RegionSpec{{Name: "a"}, {Name: "b", ClockOffset: 2 * time.Second}}},
		offsets:     map[string]time.Duration{},
	}
}

func (c *clockCluster) Spec() topology.Spec { return c.spec }
func (c *clockCluster) SetClockOffset(r string, d time.Duration) error {
	if err := topology.CheckClockOffset(r, d); err != nil {
		return err
	}
	c.offsets[r] = d
	return nil
}
func (c *clockCluster) Start(ctx context.Context, r string, cold bool) error {
	if err := c.fakeCluster.Start(ctx, r, cold); err != nil {
		return err
	}
	c.starts = append(c.starts, clockStart{r, c.offsets[r], cold})
	return nil
}

func TestClockSkewRestartsOnTheSkewedClockAndBack(t *testing.T) {
	c := newClockFake()
	tr := NewTracker(c)
	ctx := context.Background()
	f := ClockSkew{Region: "a", Offset: 10 * time.Second, ColdCache: true}
	if f.Name() != "clock-skew(a,+10s,cold)" || (ClockSkew{Region: "b", Offset: -10 * time.Second}).Name() != "clock-skew(b,-10s)" {
		t.Fatalf("names: %s, %s", f.Name(), ClockSkew{Region: "b", Offset: -10 * time.Second}.Name())
	}
	heal, w, err := tr.Inject(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.starts) != 1 || c.starts[0] != (clockStart{"a", 10 * time.Second, true}) {
		t.Fatalf("injected: starts %+v, want a on +10s, cold", c.starts)
	}
	if strings.Join(w.Stops, ",") != "a" {
		t.Fatalf("window stops %v, want [a]: the region is down while it restarts", w.Stops)
	}
	if err := heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := heal(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	if len(c.starts) != 2 || c.starts[1] != (clockStart{"a", 0, false}) || c.killed["a"] {
		t.Fatalf("healed: starts %+v, want a again on 0s with its cache", c.starts)
	}
	// A region the spec skews goes back to the spec's offset, not to 0.
	heal, _, err = tr.Inject(ctx, ClockSkew{Region: "b", Offset: -10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := heal(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.starts[len(c.starts)-1]; got != (clockStart{"b", 2 * time.Second, false}) {
		t.Fatalf("b healed on %+v, want its spec's +2s", got)
	}
}

// A restart on the skewed clock that fails leaves the region down: the
// recorder's HealAll starts it on its own clock.
func TestClockSkewFailedRestartLeftForHealAll(t *testing.T) {
	c := newClockFake()
	c.startErr = errors.New("port busy")
	tr := NewTracker(c)
	if _, _, err := tr.Inject(context.Background(), ClockSkew{Region: "a", Offset: 10 * time.Second}); err == nil || !strings.Contains(err.Error(), "+10s") {
		t.Fatalf("inject: %v, want the restart's error naming the clock", err)
	}
	if !c.killed["a"] {
		t.Fatal("region not killed")
	}
	c.startErr = nil
	if err := tr.HealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.killed["a"] || len(c.starts) != 1 || c.starts[0].offset != 0 {
		t.Fatalf("HealAll: killed %v, starts %+v; want a started once, on 0s", c.killed["a"], c.starts)
	}
}

// Available says what is missing: a cluster that cannot set clocks, an
// offset the runtime refuses (naming the field), an unknown region.
func TestClockSkewAvailable(t *testing.T) {
	plain := newFake() // no SetClockOffset
	if err := (ClockSkew{Region: "a", Offset: time.Second}).Available(plain); err == nil ||
		!errors.Is(err, topology.ErrUnsupported) || !strings.Contains(err.Error(), "SetClockOffset") {
		t.Fatalf("plain cluster: %v, want unsupported naming SetClockOffset", err)
	}
	c := newClockFake()
	for _, tc := range []struct {
		f    ClockSkew
		want string
	}{
		{ClockSkew{Region: "a", Offset: 25 * time.Hour}, "clock_offset"},
		{ClockSkew{Region: "a", Offset: -25 * time.Hour}, "clock_skew.offset"},
		{ClockSkew{Region: "zz", Offset: time.Second}, `"zz"`},
	} {
		if err := tc.f.Available(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.f.Name(), err, tc.want)
		}
	}
	tr := NewTracker(c)
	if _, _, err := tr.Inject(context.Background(), ClockSkew{Region: "a", Offset: 25 * time.Hour}); err == nil {
		t.Fatal("25h: want an error")
	}
	if len(c.starts) != 0 || c.killed["a"] || len(tr.Windows()) != 0 {
		t.Fatal("a refused skew must touch nothing and record nothing")
	}
}
