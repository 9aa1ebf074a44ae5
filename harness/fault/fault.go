// Package fault defines the failures a scenario can inject into a topology
// (one file per fault) and the Tracker every injection goes through: it
// records each fault's window and heals everything left over, newest first.
package fault

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// Fault is one injectable failure.
type Fault interface {
	Name() string
	// Available reports why the fault cannot run on c (nil when it can).
	Available(c topology.Cluster) error
	// Inject applies the fault. The returned recover undoes it and is
	// idempotent. A fault that is left half-applied returns both an error and
	// a non-nil recover, which the Tracker keeps for HealAll.
	Inject(ctx context.Context, c topology.Cluster) (recover func(context.Context) error, err error)
}

// Once makes a recover function idempotent: the first call's result is kept.
func Once(f func(context.Context) error) func(context.Context) error {
	var (
		mu   sync.Mutex
		done bool
		err  error
	)
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			err = f(ctx)
			done = true
		}
		return err
	}
}

// Window is one injected fault's lifetime on the harness's clock: Start
// when injection began, Injected when it returned (the fault took effect
// somewhere in between), End when it was healed (zero while active).
type Window struct {
	Name     string    `json:"name"`
	Start    time.Time `json:"start"`
	Injected time.Time `json:"injected"`
	End      time.Time `json:"end"`
	// Stops names the regions whose process the fault froze or killed (see
	// Stopper).
	Stops []string `json:"stops,omitempty"`
}

// Stopper is a fault that freezes or kills region processes: while it is
// injected their own loops cannot keep time, which is the fault at work,
// not a starved machine.
type Stopper interface {
	Stops() []string
}

// Overlaps reports whether the window, healed or not, overlaps [from, to].
func (w Window) Overlaps(from, to time.Time) bool {
	return !to.Before(w.Start) && (w.End.IsZero() || !from.After(w.End))
}

// Tracker is the one recorder every injection goes through: it records each
// fault's window, and heals whatever is still injected newest first (a
// later fault may sit on top of an earlier one).
type Tracker struct {
	c topology.Cluster

	mu      sync.Mutex
	windows []Window
	active  map[int]func(context.Context) error // index in windows -> recover
}

// NewTracker returns a tracker for c.
func NewTracker(c topology.Cluster) *Tracker {
	return &Tracker{c: c, active: map[int]func(context.Context) error{}}
}

// Inject applies f and records it. The returned recover heals f and closes
// its window; it is idempotent, and HealAll runs it if nobody else does. A
// half-applied fault returns an error and no recover: HealAll undoes it.
func (t *Tracker) Inject(ctx context.Context, f Fault) (func(context.Context) error, Window, error) {
	if err := f.Available(t.c); err != nil {
		return nil, Window{}, fmt.Errorf("fault %s not available: %w", f.Name(), err)
	}
	start := time.Now()
	rec, err := f.Inject(ctx, t.c)
	w := Window{Name: f.Name(), Start: start, Injected: time.Now()}
	if s, ok := f.(Stopper); ok {
		w.Stops = s.Stops()
	}
	if rec == nil {
		if err == nil {
			err = errors.New("no recover returned")
		}
		return nil, Window{}, fmt.Errorf("inject %s: %w", f.Name(), err)
	}
	t.mu.Lock()
	idx := len(t.windows)
	t.windows = append(t.windows, w)
	t.mu.Unlock()
	recover := Once(func(ctx context.Context) error {
		err := rec(ctx)
		t.mu.Lock()
		delete(t.active, idx)
		t.windows[idx].End = time.Now()
		t.mu.Unlock()
		if err != nil {
			return fmt.Errorf("heal %s: %w", f.Name(), err)
		}
		return nil
	})
	t.mu.Lock()
	t.active[idx] = recover
	t.mu.Unlock()
	if err != nil {
		// half-applied: HealAll will run rec
		return nil, Window{}, fmt.Errorf("inject %s: %w", f.Name(), err)
	}
	return recover, w, nil
}

// Windows lists every fault injected so far, in injection order.
func (t *Tracker) Windows() []Window {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Window(nil), t.windows...)
}

// HealAll heals every fault still injected, newest first, and returns every
// error. It is the backstop a run registers so faults never outlive it.
func (t *Tracker) HealAll(ctx context.Context) error {
	t.mu.Lock()
	idx := make([]int, 0, len(t.active))
	for i := range t.active {
		idx = append(idx, i)
	}
	t.mu.Unlock()
	sort.Sort(sort.Reverse(sort.IntSlice(idx)))
	var errs []error
	for _, i := range idx {
		t.mu.Lock()
		rec, ok := t.active[i]
		t.mu.Unlock()
		if ok {
			errs = append(errs, rec(ctx))
		}
	}
	return errors.Join(errs...)
}

// healNewestFirst undoes the parts of a composite fault in reverse order of
// application, as the Tracker heals whole faults.
func healNewestFirst(recs *[]func(context.Context) error) func(context.Context) error {
	return Once(func(ctx context.Context) error {
		var errs []error
		for i := len(*recs) - 1; i >= 0; i-- {
			errs = append(errs, (*recs)[i](ctx))
		}
		return errors.Join(errs...)
	})
}

func hasRegion(c topology.Cluster, name string) error {
	for _, r := range c.Regions() {
		if r.Name == name {
			return nil
		}
	}
	return fmt.Errorf("region %q: not in topology", name)
}

// hasLink: a link the topology does not carry through toxiproxy is
// something it lacks (an external target may proxy only some links).
func hasLink(c topology.Cluster, name string) error {
	for _, l := range c.Links() {
		if l == name {
			return nil
		}
	}
	return fmt.Errorf("link %q: not carried by this topology's toxiproxy: %w", name, topology.ErrUnsupported)
}

// canKill: a region can be killed when it can also be started again, warm
// or cold as the fault's heal will ask.
func canKill(c topology.Cluster, region string, cold bool) error {
	if err := hasRegion(c, region); err != nil {
		return err
	}
	start := topology.OpStart
	if cold {
		start = topology.OpStartCold
	}
	return errors.Join(topology.Can(c, topology.OpKill, region), topology.Can(c, start, region))
}

// Active counts the faults injected and not yet healed.
func (t *Tracker) Active() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.active)
}
