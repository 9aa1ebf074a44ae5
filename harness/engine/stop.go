package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agentops/failover-harness/harness/history"
)

// StopConditions abort a row and heal it when the harm it does passes the
// SRE's limit (as AWS FIS stop conditions do): on a real system the blast
// radius is bounded even when the system under test misbehaves. Zero
// values are off.
type StopConditions struct {
	// MaxErrorRate stops the row when the users' requests answered 5xx or
	// not at all, over the last Window, exceed this fraction (0 < r <= 1)
	// of at least MinRequests requests.
	MaxErrorRate float64
	Window       time.Duration // default 5s
	MinRequests  int           // default 20
	// MaxRowTime stops a row that runs longer.
	MaxRowTime time.Duration
	// Every is how often the error rate is read (default 250ms).
	Every time.Duration
}

// ErrStopped wraps the reason a stop condition gave.
var ErrStopped = errors.New("stop condition")

// Validate names the field that cannot work.
func (s StopConditions) Validate() error {
	switch {
	case s.MaxErrorRate < 0 || s.MaxErrorRate > 1:
		return fmt.Errorf("stop.max_error_rate: %v not in (0,1]", s.MaxErrorRate)
	case s.Window < 0:
		return fmt.Errorf("stop.window: negative %v", s.Window)
	case s.MinRequests < 0:
		return fmt.Errorf("stop.min_requests: negative %d", s.MinRequests)
	case s.MaxRowTime < 0:
		return fmt.Errorf("stop.max_row_time: negative %v", s.MaxRowTime)
	}
	return nil
}

// guard returns the row's context, cancelled with an ErrStopped cause when
// a condition trips, and the function that stops watching.
func (s StopConditions) guard(ctx context.Context, h *history.History, extra func(context.Context) error) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	var stops []func() bool
	if s.MaxRowTime > 0 {
		t := time.AfterFunc(s.MaxRowTime, func() {
			cancel(fmt.Errorf("%w: the row ran longer than its limit %v; aborted and healed", ErrStopped, s.MaxRowTime))
		})
		stops = append(stops, t.Stop)
	}
	done := make(chan struct{})
	if s.MaxErrorRate > 0 || extra != nil {
		window, minN, every := s.Window, s.MinRequests, s.Every
		if window <= 0 {
			window = 5 * time.Second
		}
		if minN <= 0 {
			minN = 20
		}
		if every <= 0 {
			every = 250 * time.Millisecond
		}
		go func() {
			tk := time.NewTicker(every)
			defer tk.Stop()
			for {
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				case now := <-tk.C:
					if extra != nil {
						if err := extra(ctx); err != nil {
							cancel(err)
							return
						}
					}
					if s.MaxErrorRate <= 0 {
						continue
					}
					bad, n := ErrorRate(h.Ops(), now.Add(-window))
					if n >= minN && float64(bad) > s.MaxErrorRate*float64(n) {
						cancel(fmt.Errorf("%w: %d of the users' last %d requests (%.0f%%, over %v) failed, above the limit %.0f%%; aborted and healed",
							ErrStopped, bad, n, 100*float64(bad)/float64(n), window, 100*s.MaxErrorRate))
						return
					}
				}
			}
		}()
	}
	return ctx, func() {
		close(done)
		for _, st := range stops {
			st()
		}
		cancel(nil)
	}
}

// ErrorRate counts the writes that ended after since, and those of them
// the users saw fail (5xx or no answer).
func ErrorRate(ops []history.Op, since time.Time) (bad, n int) {
	for _, op := range ops {
		if op.Kind == history.KindRead || op.End.Before(since) {
			continue
		}
		n++
		if op.Unavailable() {
			bad++
		}
	}
	return bad, n
}
