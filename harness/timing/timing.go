// Package timing measures whether the machine running a chaos run keeps
// time: how late this process's timers fire, and what a short local round
// trip costs. Liveness verdicts lean on these figures; a run whose own
// timers ran late cannot blame the system under test for being slow.
package timing

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Sample is one timer wake-up: when it was due and how late it fired.
type Sample struct {
	Due  time.Time
	Late time.Duration
}

// Monitor wakes up every Period and records how late it was. It keeps the
// last Keep samples. Safe for concurrent use.
type Monitor struct {
	period time.Duration
	keep   int

	mu      sync.Mutex
	samples []Sample // ring
	next    int
	full    bool

	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs a monitor until Stop. A period of 5 ms costs nothing
// measurable and resolves lateness well below any bound the plan uses.
func Start(period time.Duration, keep int) *Monitor {
	if period <= 0 {
		period = 5 * time.Millisecond
	}
	if keep <= 0 {
		keep = 1 << 16 // > 5 minutes at 5 ms
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Monitor{period: period, keep: keep, samples: make([]Sample, keep), cancel: cancel, done: make(chan struct{})}
	go m.loop(ctx)
	return m
}

func (m *Monitor) loop(ctx context.Context) {
	defer close(m.done)
	t := time.NewTimer(m.period)
	defer t.Stop()
	due := time.Now().Add(m.period)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		m.add(Sample{Due: due, Late: max(0, now.Sub(due))})
		due = now.Add(m.period)
		t.Reset(m.period)
	}
}

func (m *Monitor) add(s Sample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples[m.next] = s
	m.next++
	if m.next == m.keep {
		m.next, m.full = 0, true
	}
}

// Stop ends the monitor and waits for it.
func (m *Monitor) Stop() {
	m.cancel()
	<-m.done
}

// Window summarises the samples due in [from, to].
type Window struct {
	Max     time.Duration
	At      time.Time // when the worst one was due
	Samples int
}

// Worst returns the latest wake-up due in [from, to]. A monitor that could
// not wake up at all in a long window is itself the worst case: the gap
// between samples counts as lateness.
func (m *Monitor) Worst(from, to time.Time) Window {
	m.mu.Lock()
	var all []Sample
	if m.full {
		all = append(append(all, m.samples[m.next:]...), m.samples[:m.next]...)
	} else {
		all = append(all, m.samples[:m.next]...)
	}
	m.mu.Unlock()
	var w Window
	prev := time.Time{}
	for _, s := range all {
		if s.Due.Before(from) {
			prev = s.Due.Add(s.Late)
			continue
		}
		if s.Due.After(to) {
			break
		}
		w.Samples++
		late := s.Late
		if !prev.IsZero() {
			// a wake-up long after the previous one means the timer itself
			// was not scheduled for the gap
			late = max(late, s.Due.Add(s.Late).Sub(prev)-m.period)
		}
		if late > w.Max {
			w.Max, w.At = late, s.Due
		}
		prev = s.Due.Add(s.Late)
	}
	return w
}

// Calibration is what this machine can honour right now.
type Calibration struct {
	TimerLag time.Duration // worst timer lateness seen
	RTT      time.Duration // worst local HTTP round trip seen
	Samples  int
}

// Calibrate measures timer lateness and local HTTP round trips for about d.
func Calibrate(ctx context.Context, d time.Duration) (Calibration, error) {
	if d <= 0 {
		d = 300 * time.Millisecond
	}
	m := Start(time.Millisecond, 0)
	defer m.Stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Calibration{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	url := "http://" + ln.Addr().String() + "/"
	start := time.Now()
	var rtts []time.Duration
	for time.Since(start) < d && ctx.Err() == nil {
		t0 := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return Calibration{}, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		rtts = append(rtts, time.Since(t0))
		time.Sleep(2 * time.Millisecond)
	}
	w := m.Worst(start, time.Now())
	c := Calibration{TimerLag: w.Max, Samples: len(rtts)}
	if len(rtts) > 0 {
		c.RTT = slices.Max(rtts)
	}
	return c, ctx.Err()
}

// TimeoutFloor is the shortest timeout this machine honours: a probe that
// should take one round trip must not time out because a timer or a round
// trip ran late, so the floor is ten times the worst of both, and never
// below min.
func (c Calibration) TimeoutFloor(min time.Duration) time.Duration {
	return max(min, 10*(c.TimerLag+c.RTT))
}
