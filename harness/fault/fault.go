// Package fault defines the failures a scenario can inject into a topology
// and a Tracker that records each one's window and heals everything left over.
package fault

import (
	"context"
	"errors"
	"fmt"
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

// Window is one injected fault's lifetime. End is zero while it is active.
type Window struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Tracker injects faults, records their windows and heals what is left.
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

// Inject applies f and records it; the returned recover also closes its window.
func (t *Tracker) Inject(ctx context.Context, f Fault) (func(context.Context) error, error) {
	if err := f.Available(t.c); err != nil {
		return nil, fmt.Errorf("fault %s: unavailable: %w", f.Name(), err)
	}
	start := time.Now()
	rec, err := f.Inject(ctx, t.c)
	if err != nil && rec == nil {
		return nil, fmt.Errorf("fault %s: %w", f.Name(), err)
	}
	t.mu.Lock()
	idx := len(t.windows)
	t.windows = append(t.windows, Window{Name: f.Name(), Start: start})
	t.active[idx] = rec
	t.mu.Unlock()
	recover := Once(func(ctx context.Context) error {
		err := rec(ctx)
		t.mu.Lock()
		delete(t.active, idx)
		t.windows[idx].End = time.Now()
		t.mu.Unlock()
		if err != nil {
			return fmt.Errorf("recover %s: %w", f.Name(), err)
		}
		return nil
	})
	if err != nil {
		// half-applied: HealAll will run rec
		return nil, fmt.Errorf("fault %s: %w", f.Name(), err)
	}
	return recover, nil
}

// Windows lists every fault injected so far.
func (t *Tracker) Windows() []Window {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Window(nil), t.windows...)
}

// HealAll recovers every fault still active, newest first, and returns every
// error. It is the backstop a scenario defers so faults never outlive it.
func (t *Tracker) HealAll(ctx context.Context) error {
	t.mu.Lock()
	var idx []int
	for i := range t.active {
		idx = append(idx, i)
	}
	t.mu.Unlock()
	// newest first: a later fault may sit on top of an earlier one
	for i := 0; i < len(idx); i++ {
		for j := i + 1; j < len(idx); j++ {
			if idx[j] > idx[i] {
				idx[i], idx[j] = idx[j], idx[i]
			}
		}
	}
	var errs []error
	for _, i := range idx {
		t.mu.Lock()
		rec, ok := t.active[i]
		name := t.windows[i].Name
		t.mu.Unlock()
		if !ok {
			continue
		}
		if err := rec(ctx); err != nil {
			errs = append(errs, fmt.Errorf("heal %s: %w", name, err))
		}
		t.mu.Lock()
		delete(t.active, i)
		if t.windows[i].End.IsZero() {
			t.windows[i].End = time.Now()
		}
		t.mu.Unlock()
	}
	return errors.Join(errs...)
}

func hasRegion(c topology.Cluster, name string) error {
	for _, r := range c.Regions() {
		if r.Name == name {
			return nil
		}
	}
	return fmt.Errorf("region %q: not in topology", name)
}

func hasLink(c topology.Cluster, name string) error {
	for _, l := range c.Links() {
		if l == name {
			return nil
		}
	}
	return fmt.Errorf("link %q: not in topology", name)
}
