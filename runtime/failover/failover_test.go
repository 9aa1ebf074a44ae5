package failover

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/alert"
	"github.com/agentops/failover-harness/runtime/region"
)

type fakeRegion struct {
	code atomic.Int32
	srv  *httptest.Server
}

func newFakeRegion(t *testing.T) *fakeRegion {
	f := &fakeRegion{}
	f.code.Store(200)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(f.code.Load()))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

type topo struct {
	us, eu, ap *fakeRegion
	router     *region.Router
}

func newTopo(t *testing.T) *topo {
	tp := &topo{us: newFakeRegion(t), eu: newFakeRegion(t), ap: newFakeRegion(t)}
	r, err := region.NewRouter(region.Config{
		Regions: []region.Region{
			{Name: "us-east-1", Endpoint: tp.us.srv.URL, Weight: 50, Priority: 0},
			{Name: "eu-west-1", Endpoint: tp.eu.srv.URL, Weight: 30, Priority: 1},
			{Name: "ap-southeast-1", Endpoint: tp.ap.srv.URL, Weight: 20, Priority: 2},
		},
		Self: "us-east-1", Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	tp.router = r
	return tp
}

type flusher struct {
	calls atomic.Int32
	n     int
	err   error
	// seenCurrent records the primary observed during the flush, proving the
	// flush completes before the switch.
	m           *Manager
	seenCurrent string
}

func (f *flusher) FlushAll(ctx context.Context) (int, error) {
	f.calls.Add(1)
	if f.m != nil {
		f.seenCurrent = f.m.Current()
	}
	return f.n, f.err
}

func TestInitialPrimaryAndValidation(t *testing.T) {
	tp := newTopo(t)
	if _, err := New(Config{Interval: time.Second}); err == nil || !strings.Contains(err.Error(), "router") {
		t.Fatalf("nil router: %v", err)
	}
	if _, err := New(Config{Router: tp.router}); err == nil || !strings.Contains(err.Error(), "interval") {
		t.Fatalf("zero interval: %v", err)
	}
	if _, err := New(Config{Router: tp.router, Interval: time.Second, Self: "nope"}); err == nil || !strings.Contains(err.Error(), "self") {
		t.Fatalf("bad self: %v", err)
	}
	m, err := New(Config{Router: tp.router, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if m.Current() != "us-east-1" {
		t.Fatalf("initial primary %q", m.Current())
	}
}

func TestManualFailoverAwaitsFlushAndLogsPrevious(t *testing.T) {
	tp := newTopo(t)
	var logBuf bytes.Buffer
	fl := &flusher{n: 7}
	m, err := New(Config{Router: tp.router, Self: "us-east-1", Interval: time.Second, Flusher: fl,
		Logger: slog.New(slog.NewJSONHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	fl.m = m
	var got []Event
	m.OnFailover(func(e Event) { got = append(got, e) })

	if _, err := m.Failover(context.Background(), "mars-1", ""); err == nil || !strings.Contains(err.Error(), "target") {
		t.Fatalf("unknown target: %v", err)
	}
	if _, err := m.Failover(context.Background(), "us-east-1", ""); err == nil {
		t.Fatal("failover to the current primary must fail")
	}
	ev, err := m.Failover(context.Background(), "eu-west-1", "drill")
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != 1 || ev.Kind != KindManual || ev.From != "us-east-1" || ev.To != "eu-west-1" || ev.Reason != "drill" || ev.Flushed != 7 || ev.Err != "" {
		t.Fatalf("event = %+v", ev)
	}
	if fl.calls.Load() != 1 || fl.seenCurrent != "us-east-1" {
		t.Fatalf("flush calls=%d seenCurrent=%q; want 1 flush before the switch", fl.calls.Load(), fl.seenCurrent)
	}
	if m.Current() != "eu-west-1" || len(got) != 1 || len(m.History()) != 1 {
		t.Fatalf("current=%s listeners=%d history=%d", m.Current(), len(got), len(m.History()))
	}
	// This region is no longer primary: failing over again needs no flush.
	if _, err := m.Failover(context.Background(), "ap-southeast-1", ""); err != nil {
		t.Fatal(err)
	}
	if fl.calls.Load() != 1 {
		t.Fatalf("flush called %d times, want only when self loses primary", fl.calls.Load())
	}
	// The first log line names the previous primary as "from".
	var first map[string]any
	if err := json.Unmarshal(bytes.SplitN(logBuf.Bytes(), []byte("\n"), 2)[0], &first); err != nil {
		t.Fatal(err)
	}
	if first["from"] != "us-east-1" || first["to"] != "eu-west-1" {
		t.Fatalf("first log line = %v", first)
	}
	if st := m.Stats(); st.Manual != 2 || st.Auto != 0 || st.Current != "ap-southeast-1" {
		t.Fatalf("stats = %+v", st)
	}
}

func TestFlushErrorRecorded(t *testing.T) {
	tp := newTopo(t)
	m, _ := New(Config{Router: tp.router, Self: "us-east-1", Interval: time.Second, Flusher: &flusher{n: 2, err: errors.New("store unreachable")}})
	ev, err := m.Failover(context.Background(), "eu-west-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.Err, "store unreachable") || m.Stats().Failed != 1 {
		t.Fatalf("event = %+v stats = %+v", ev, m.Stats())
	}
}

func TestManualFailoverRefusesInactiveTarget(t *testing.T) {
	tp := newTopo(t)
	m, _ := New(Config{Router: tp.router, Interval: time.Second})
	tp.eu.code.Store(503)
	tp.router.CheckAll(context.Background())
	tp.router.CheckAll(context.Background())
	if _, err := m.Failover(context.Background(), "eu-west-1", ""); err == nil || !strings.Contains(err.Error(), "degraded") {
		t.Fatalf("err = %v, want target not active", err)
	}
	if len(m.History()) != 0 {
		t.Fatal("refused failover was recorded")
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	tp := newTopo(t)
	m, _ := New(Config{Router: tp.router, Interval: time.Second, Auto: true})
	p := m.DryRun()
	if p.WouldFailover || p.Current != "us-east-1" || p.Target != "eu-west-1" || len(p.Regions) != 3 {
		t.Fatalf("plan = %+v", p)
	}
	tp.us.code.Store(503)
	tp.router.CheckAll(context.Background())
	tp.router.CheckAll(context.Background())
	p = m.DryRun()
	if !p.WouldFailover || p.Target != "eu-west-1" || !strings.Contains(p.Reason, "degraded") {
		t.Fatalf("plan = %+v", p)
	}
	if m.Current() != "us-east-1" || len(m.History()) != 0 {
		t.Fatal("dry run changed state")
	}
}

func TestAutoFailoverAndNoHealthyAlert(t *testing.T) {
	tp := newTopo(t)
	var mu sync.Mutex
	var statuses []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p alert.Payload
		_ = json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		statuses = append(statuses, p.Status)
		mu.Unlock()
	}))
	defer hook.Close()
	fl := &flusher{n: 3}
	m, _ := New(Config{Router: tp.router, Self: "us-east-1", Interval: time.Second, Auto: true, Flusher: fl,
		Alert: alert.NewSender(hook.URL, nil, "us-east-1")})
	ctx := context.Background()

	tp.us.srv.CloseClientConnections()
	tp.us.code.Store(500)
	if _, ev := m.Tick(ctx); ev != nil {
		t.Fatalf("failed over after one failed probe: %+v", ev)
	}
	_, ev := m.Tick(ctx)
	if ev == nil || ev.Kind != KindAuto || ev.From != "us-east-1" || ev.To != "eu-west-1" || ev.Flushed != 3 {
		t.Fatalf("auto failover event = %+v", ev)
	}
	if m.Current() != "eu-west-1" {
		t.Fatalf("current = %s", m.Current())
	}

	// Everything goes down: one alert, no failover storm.
	tp.eu.code.Store(503)
	tp.ap.code.Store(503)
	for i := 0; i < 4; i++ {
		m.Tick(ctx)
	}
	if m.Current() != "eu-west-1" || len(m.History()) != 1 {
		t.Fatalf("current=%s history=%d; must not fail over to a non-active region", m.Current(), len(m.History()))
	}
	tp.ap.code.Store(200)
	m.Tick(ctx)
	if m.Current() != "ap-southeast-1" {
		t.Fatalf("current = %s, want ap-southeast-1 after it recovered", m.Current())
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(statuses, ",") != "firing,resolved" {
		t.Fatalf("webhook statuses = %v, want one firing then one resolved", statuses)
	}
	if st := m.Stats(); st.Auto != 2 || st.Incidents != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestAutoDisabled(t *testing.T) {
	tp := newTopo(t)
	m, _ := New(Config{Router: tp.router, Interval: time.Second, Auto: false})
	tp.us.code.Store(503)
	for i := 0; i < 3; i++ {
		m.Tick(context.Background())
	}
	if m.Current() != "us-east-1" {
		t.Fatal("failed over with Auto=false")
	}
}

func TestStartLoopFailsOver(t *testing.T) {
	tp := newTopo(t)
	m, _ := New(Config{Router: tp.router, Interval: 10 * time.Millisecond, Auto: true})
	done := make(chan Event, 1)
	m.OnFailover(func(e Event) { done <- e })
	tp.us.code.Store(503)
	ctx, cancel := context.WithCancel(context.Background())
	m.Start(ctx)
	select {
	case e := <-done:
		if e.To != "eu-west-1" {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("loop did not fail over within 5s")
	}
	cancel()
	m.Wait()
}

// The dry run tells the truth: whatever the regions' health, the target it
// names is the region the next automatic failover picks, and never a region
// that is not active. Thresholds of 1 make the dry run's round and the
// tick's agree; the sequence is random but seeded.
func TestDryRunNamesTheNextAutoFailover(t *testing.T) {
	tp := newTopo(t)
	r, err := region.NewRouter(region.Config{Regions: tp.router.Regions(), Self: "us-east-1", Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := New(Config{Router: r, Self: "us-east-1", Interval: time.Second, Auto: true})
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(7, 11))
	fakes := []*fakeRegion{tp.us, tp.eu, tp.ap}
	failovers := 0
	for step := range 200 {
		for _, f := range fakes {
			f.code.Store([]int32{200, 200, 503}[rnd.IntN(3)])
		}
		r.CheckAll(ctx)
		plan := m.DryRun()
		if plan.Target != "" {
			if rg, _ := r.Get(plan.Target); rg.Status != region.StatusActive {
				t.Fatalf("step %d: dry run names %s, which is %s", step, plan.Target, rg.Status)
			}
		}
		_, ev := m.Tick(ctx)
		switch {
		case plan.WouldFailover != (ev != nil):
			t.Fatalf("step %d: dry run said would_failover=%v (%s), the tick failed over: %+v", step, plan.WouldFailover, plan.Reason, ev)
		case ev != nil && ev.To != plan.Target:
			t.Fatalf("step %d: dry run named %s, the failover went to %s", step, plan.Target, ev.To)
		case ev != nil:
			failovers++
		}
	}
	if failovers < 10 {
		t.Fatalf("only %d failovers in 200 random steps: the test did not exercise the rule", failovers)
	}
}

// The health loop records every round's timing, so a reader can tell a
// starved runtime from a slow system.
func TestStartRecordsRounds(t *testing.T) {
	tp := newTopo(t)
	m, _ := New(Config{Router: tp.router, Interval: 5 * time.Millisecond, Auto: true})
	if h := m.Rounds(); h.Enabled || h.Rounds != 0 {
		t.Fatalf("before Start: %+v", h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); m.Wait() }()
	m.Start(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for m.Rounds().Rounds < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("3 rounds not recorded within 10s: %+v", m.Rounds())
		}
		time.Sleep(5 * time.Millisecond)
	}
	h := m.Rounds()
	if !h.Enabled || h.IntervalSeconds != 0.005 || int64(len(h.Recent)) != h.Rounds {
		t.Fatalf("rounds %+v", h)
	}
	for i, rd := range h.Recent {
		if rd.LateSeconds < 0 || rd.TookSeconds <= 0 || rd.Started.IsZero() {
			t.Fatalf("round %d: %+v", i, rd)
		}
	}
}

// A flapping primary must not grow the history without limit: the last
// MaxHistory failovers are kept (default 1000) and the total still counts
// every one, so a reader knows the kept window is not the whole history.
func TestHistoryBounded(t *testing.T) {
	tp := newTopo(t)
	if _, err := New(Config{Router: tp.router, Interval: time.Second, MaxHistory: -1}); err == nil || !strings.Contains(err.Error(), "max_history") {
		t.Fatalf("negative max_history: %v", err)
	}
	for _, c := range []struct{ max, keep, runs int }{{0, DefaultMaxHistory, DefaultMaxHistory + 5}, {3, 3, 7}} {
		m, err := New(Config{Router: tp.router, Interval: time.Second, MaxHistory: c.max})
		if err != nil {
			t.Fatal(err)
		}
		targets := []string{"eu-west-1", "us-east-1"}
		for i := range c.runs {
			if _, err := m.Failover(context.Background(), targets[i%2], "flap"); err != nil {
				t.Fatal(err)
			}
		}
		h, total := m.Recorded()
		if len(h) != c.keep || total != c.runs || len(m.History()) != c.keep {
			t.Fatalf("max %d: kept %d of %d, want %d of %d", c.max, len(h), total, c.keep, c.runs)
		}
		if h[0].ID != c.runs-c.keep+1 || h[len(h)-1].ID != c.runs {
			t.Fatalf("max %d: kept ids %d..%d, want the newest %d..%d", c.max, h[0].ID, h[len(h)-1].ID, c.runs-c.keep+1, c.runs)
		}
	}
}
