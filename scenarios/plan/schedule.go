package plan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/explore"
)

// ScheduleRow runs a randomized fault schedule (chaos explore, chaos
// replay, or a schedule pasted as a regression row) under the users'
// traffic. Safety is judged on the whole history: nothing acknowledged
// lost, versions never backwards, every session linearizable, no silent
// overwrite, each incident paged once. Liveness at the end: after the last
// heal every region returns and stays, and every user is served again.
// name tells runs apart in the report and the artifacts (e.g. "run 3").
func ScheduleRow(name string, s explore.Schedule) engine.Row {
	return engine.Row{Label: "explore", Spec: name + ": " + s.Title(),
		Expected: "no acknowledged message lost, versions never go back, every session linearizable, each incident paged once; after the last heal every region returns and every user is served",
		Body:     body(func(ctx context.Context, r *run) error { return r.schedule(ctx, s) })}
}

func (r *run) schedule(ctx context.Context, s explore.Schedule) error {
	if err := s.Validate(r.Env.Spec); err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	_, ld, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer ld.Stop()
	r.Out.Event("schedule started")
	t0 := time.Now()
	var (
		mu   sync.Mutex // one injection or heal at a time: providers act on one region at once
		wg   sync.WaitGroup
		last check.Heal
		errs = make([]error, len(s.Steps))
	)
	for i, st := range s.Steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The schedule's own timing, not a wait for a condition.
			if !until(ctx, t0.Add(st.At.D())) {
				return
			}
			mu.Lock()
			heal, _, err := r.Inject(ctx, st.Fault())
			mu.Unlock()
			if err != nil {
				errs[i] = fmt.Errorf("inject %s: %w", st, err)
				return
			}
			until(ctx, t0.Add(st.End()))
			mu.Lock()
			defer mu.Unlock()
			h, err := r.Heal(ctx, heal)
			if err != nil {
				errs[i] = fmt.Errorf("heal %s: %w", st, err)
			}
			if h.End.After(last.End) {
				last = h
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	res, _ := ld.Stop()
	// After the last heal: every region back and staying, every user served.
	r.Failback(ctx, last, r.Spec.RegionNames()...)
	r.UsersReturn(ctx, res.All, engine.MarkDeadline(r.RTOBound()))
	r.Out.Add(check.EachIncidentPagedOnce(r.Cluster.Alerts(), "NoHealthyRegion"))
	return r.lossChecks(ctx, r.History.Ops(), res.All, r.Spec.ConflictStrategy == "last-write-wins")
}

// until waits for t or ctx's end; false when ctx ended first.
func until(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
