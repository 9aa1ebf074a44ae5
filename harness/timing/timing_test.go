package timing

import (
	"context"
	"runtime"
	"testing"
	"time"
)

const ms = time.Millisecond

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// synthetic is a monitor with no goroutine: samples are fed through add.
func synthetic(period time.Duration, keep int, samples ...Sample) *Monitor {
	m := &Monitor{period: period, keep: keep, samples: make([]Sample, keep)}
	for _, s := range samples {
		m.add(s)
	}
	return m
}

// chain builds samples the way the monitor's loop does: each due time is
// the previous wake-up plus the period.
func chain(period time.Duration, start time.Time, lates ...time.Duration) []Sample {
	out := make([]Sample, 0, len(lates))
	due := start
	for _, l := range lates {
		out = append(out, Sample{Due: due, Late: l})
		due = due.Add(l).Add(period)
	}
	return out
}

func TestWorstOverSyntheticSamples(t *testing.T) {
	period := 5 * ms
	regular := chain(period, at(0), 1*ms, 3*ms, 0, 2*ms)
	// due: 0, 6, 14, 19
	gap := []Sample{{Due: at(0)}, {Due: at(5 * ms)}, {Due: at(100 * ms)}, {Due: at(105 * ms), Late: ms}}

	cases := []struct {
		name     string
		keep     int
		samples  []Sample
		from, to time.Time
		want     Window
	}{
		{"empty", 8, nil, at(0), at(time.Second), Window{}},
		{"worst lateness and when it was due", 8, regular, at(0), at(time.Second), Window{Max: 3 * ms, At: at(6 * ms), Samples: 4}},
		{"window bounds are inclusive", 8, regular, at(6 * ms), at(14 * ms), Window{Max: 3 * ms, At: at(6 * ms), Samples: 2}},
		{"samples outside the window are ignored", 8, regular, at(7 * ms), at(time.Second), Window{Max: 2 * ms, At: at(19 * ms), Samples: 2}},
		{"window with no sample", 8, regular, at(20 * ms), at(time.Second), Window{}},
		// a wake-up 95ms after the previous one, with a 5ms period, means
		// the timer was not served for 90ms even though Late says 0
		{"a gap between wake-ups counts as lateness", 8, gap, at(0), at(time.Second), Window{Max: 90 * ms, At: at(100 * ms), Samples: 4}},
		// the sample before the window still anchors the gap
		{"gap from a sample before the window", 8, gap, at(50 * ms), at(time.Second), Window{Max: 90 * ms, At: at(100 * ms), Samples: 2}},
		{"gap after the window is not seen", 8, gap, at(0), at(99 * ms), Window{Max: 0, At: time.Time{}, Samples: 2}},
		// the ring keeps the newest 3: the 50ms-late sample is gone
		{"ring keeps the newest samples", 3, chain(period, at(0), 50*ms, 1*ms, 2*ms, 1*ms), at(0), at(time.Second), Window{Max: 2 * ms, At: at(61 * ms), Samples: 3}},
		{"ring exactly full", 4, chain(period, at(0), 50*ms, 1*ms, 2*ms, 1*ms), at(0), at(time.Second), Window{Max: 50 * ms, At: at(0), Samples: 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := synthetic(period, c.keep, c.samples...)
			if got := m.Worst(c.from, c.to); got != c.want {
				t.Errorf("Worst = %+v, want %+v", got, c.want)
			}
		})
	}
}

// With samples made by the loop's rule, the gap term adds nothing: the
// worst is the worst Late.
func TestWorstGapTermMatchesLateOnARegularChain(t *testing.T) {
	lates := []time.Duration{0, 4 * ms, 1 * ms, 7 * ms, 0, 2 * ms, 7 * ms}
	m := synthetic(5*ms, 16, chain(5*ms, at(0), lates...)...)
	w := m.Worst(at(0), at(time.Hour))
	if w.Max != 7*ms || w.Samples != len(lates) {
		t.Fatalf("Worst = %+v, want 7ms over %d samples", w, len(lates))
	}
	// the first of equal maxima is reported
	if want := chain(5*ms, at(0), lates...)[3].Due; !w.At.Equal(want) {
		t.Errorf("At = %v, want %v", w.At, want)
	}
}

func TestStartDefaults(t *testing.T) {
	m := Start(0, 0)
	defer m.Stop()
	if m.period != 5*ms || m.keep != 1<<16 || len(m.samples) != 1<<16 {
		t.Errorf("Start(0, 0): period %v keep %d", m.period, m.keep)
	}
}

// waitGoroutines polls until at most n goroutines run; it asserts nothing
// about how long that takes beyond a generous deadline.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines still running, want <= %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * ms)
	}
}

func TestStartStopLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	m := Start(time.Millisecond, 64)
	start := time.Now()
	// wait for a few wake-ups (no bound on how long they take)
	deadline := time.Now().Add(10 * time.Second)
	for m.Worst(start.Add(-time.Hour), time.Now().Add(time.Hour)).Samples < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the monitor recorded no samples")
		}
		time.Sleep(2 * ms)
	}
	m.Stop()
	select {
	case <-m.done: // Stop returns only once the loop has ended
	default:
		t.Fatal("Stop returned while the monitor's loop was still running")
	}
	m.Stop() // idempotent
	waitGoroutines(t, before)

	w := m.Worst(start.Add(-time.Hour), time.Now().Add(time.Hour))
	if w.Samples < 3 || w.Samples > 64 || w.Max < 0 {
		t.Errorf("after Stop: %+v", w)
	}
	// nothing is recorded once stopped
	n := w.Samples
	time.Sleep(10 * ms)
	if got := m.Worst(start.Add(-time.Hour), time.Now().Add(time.Hour)).Samples; got != n {
		t.Errorf("samples grew from %d to %d after Stop", n, got)
	}
}

func TestTimeoutFloor(t *testing.T) {
	cases := []struct {
		c    Calibration
		min  time.Duration
		want time.Duration
	}{
		{Calibration{TimerLag: 1 * ms, RTT: 2 * ms}, 10 * ms, 30 * ms},
		{Calibration{TimerLag: 1 * ms, RTT: 2 * ms}, 50 * ms, 50 * ms},
		{Calibration{TimerLag: 3 * ms, RTT: 2 * ms}, 50 * ms, 50 * ms}, // exactly 10×: either
		{Calibration{}, 20 * ms, 20 * ms},
		{Calibration{TimerLag: 40 * ms}, 0, 400 * ms},
	}
	for _, c := range cases {
		if got := c.c.TimeoutFloor(c.min); got != c.want {
			t.Errorf("%+v.TimeoutFloor(%v) = %v, want %v", c.c, c.min, got, c.want)
		}
	}
}

func TestCalibrate(t *testing.T) {
	before := runtime.NumGoroutine()
	c, err := Calibrate(context.Background(), 50*ms)
	if err != nil {
		t.Fatal(err)
	}
	if c.Samples <= 0 || c.TimerLag < 0 || c.RTT <= 0 {
		t.Errorf("Calibrate = %+v: want samples, a positive round trip and a non-negative lag", c)
	}
	if f := c.TimeoutFloor(0); f < 10*c.RTT {
		t.Errorf("TimeoutFloor %v below 10 × RTT %v", f, c.RTT)
	}
	waitGoroutines(t, before)
}

func TestCalibrateCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := Calibrate(ctx, 50*ms)
	if err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if c.Samples != 0 {
		t.Errorf("a canceled calibration measured %d round trips", c.Samples)
	}
}
