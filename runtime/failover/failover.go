// Package failover holds the FailoverManager: it decides which region is
// primary, fails over automatically when the primary leaves "active",
// supports manual failover and dry runs, keeps a history, notifies
// listeners, and alerts once per incident when no region is healthy.
package failover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/agentops/failover-harness/runtime/alert"
	"github.com/agentops/failover-harness/runtime/healthlog"
	"github.com/agentops/failover-harness/runtime/region"
)

// Event kinds.
const (
	KindAuto   = "auto"
	KindManual = "manual"
)

// DefaultMaxHistory is the default Config.MaxHistory.
const DefaultMaxHistory = 1000

// AlertNoHealthyRegion is the alertname fired when no region is active.
const AlertNoHealthyRegion = "NoHealthyRegion"

// Event is one recorded failover. Dry runs are not recorded.
type Event struct {
	ID       int           `json:"id"`
	Kind     string        `json:"kind"`
	From     string        `json:"from"`
	To       string        `json:"to"`
	Reason   string        `json:"reason"`
	At       time.Time     `json:"at"`
	Duration time.Duration `json:"duration_ns"`
	Flushed  int           `json:"flushed"`
	Err      string        `json:"error,omitempty"`
}

// Flusher writes the final checkpoints of every dirty session and returns
// how many it wrote. Failover awaits it when this region loses primary.
type Flusher interface {
	FlushAll(ctx context.Context) (int, error)
}

// Config configures a Manager.
type Config struct {
	Router   *region.Router
	Self     string
	Interval time.Duration // health-check period of Start
	Auto     bool          // fail over automatically when the primary is not active
	Alert    *alert.Sender // optional
	Flusher  Flusher       // optional
	// MaxHistory bounds the kept history: the last MaxHistory failovers
	// (default DefaultMaxHistory). A flapping region must not grow it forever.
	MaxHistory int
	Now        func() time.Time
	Logger     *slog.Logger
}

// Plan is what a failover would do now; computing it changes nothing.
type Plan struct {
	Current       string          `json:"current"`
	Target        string          `json:"target"`
	Reason        string          `json:"reason"`
	WouldFailover bool            `json:"would_failover"`
	Regions       []region.Region `json:"regions"`
}

// FailoverStats counts failovers and no-healthy-region incidents.
type FailoverStats struct {
	Current   string `json:"current"`
	Auto      int    `json:"auto"`
	Manual    int    `json:"manual"`
	Failed    int    `json:"failed"`    // failovers whose final flush reported an error
	Incidents int    `json:"incidents"` // times no region was active
}

// Manager is the FailoverManager. Safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger

	op sync.Mutex // serialises failovers and ticks

	mu        sync.Mutex
	current   string
	history   []Event // the last cfg.MaxHistory, oldest first
	recorded  int     // every failover ever recorded, kept or dropped
	nextID    int
	listeners []func(Event)
	stats     FailoverStats
	noHealthy bool // inside a no-healthy-region incident
	rounds    healthlog.Ring
	looping   bool // Start's loop runs

	wg sync.WaitGroup
}

// New validates cfg and returns a Manager whose primary is the region with
// the lowest priority number.
func New(cfg Config) (*Manager, error) {
	if cfg.Router == nil {
		return nil, errors.New("router: must not be nil")
	}
	if cfg.Interval <= 0 {
		return nil, errors.New("interval: must be > 0")
	}
	if cfg.MaxHistory < 0 {
		return nil, fmt.Errorf("max_history: %d must be >= 0 (0: the default %d)", cfg.MaxHistory, DefaultMaxHistory)
	}
	if cfg.MaxHistory == 0 {
		cfg.MaxHistory = DefaultMaxHistory
	}
	if cfg.Self != "" {
		if _, ok := cfg.Router.Get(cfg.Self); !ok {
			return nil, fmt.Errorf("self: region %q is not known to the router", cfg.Self)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	regs := cfg.Router.Regions()
	return &Manager{cfg: cfg, log: lg, current: regs[0].Name, nextID: 1}, nil
}

// Start runs the health-check loop in the background until ctx is done:
// every Interval it checks all regions and applies Tick's rules, recording
// each round's timing (Rounds). Wait blocks until the loop has stopped.
func (m *Manager) Start(ctx context.Context) {
	m.mu.Lock()
	m.looping = true
	m.mu.Unlock()
	m.wg.Go(func() {
		t := time.NewTicker(m.cfg.Interval)
		defer t.Stop()
		var prevEnd time.Time
		for {
			var due time.Time
			select {
			case <-ctx.Done():
				return
			case due = <-t.C:
			}
			// Lateness is measured on the monotonic clock (the tick and
			// time.Now), whatever offset the runtime's own clock carries.
			ready := healthlog.ReadyAt(due, prevEnd)
			start, started := time.Now(), m.cfg.Now()
			m.Tick(ctx)
			if ctx.Err() != nil {
				return // an interrupted round says nothing about timing
			}
			prevEnd = time.Now()
			m.mu.Lock()
			m.rounds.Add(healthlog.Round{Started: started, LateSeconds: max(0, start.Sub(ready)).Seconds(), TookSeconds: prevEnd.Sub(start).Seconds()})
			m.mu.Unlock()
		}
	})
}

// Rounds reports the timing of the health loop's recent rounds (Tick calls
// made outside the loop are not counted).
func (m *Manager) Rounds() healthlog.Rounds {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rounds.Snapshot(m.looping, m.cfg.Interval)
}

// Wait blocks until the loop started by Start has returned.
func (m *Manager) Wait() { m.wg.Wait() }

// Tick runs one health-check round and acts on it: automatic failover when
// the primary is not active (if Auto), the no-healthy-region alert when no
// region is active, and its resolution when one returns. It returns the
// statuses seen and the failover it made, if any.
func (m *Manager) Tick(ctx context.Context) (map[string]region.Status, *Event) {
	m.op.Lock()
	defer m.op.Unlock()
	statuses := m.cfg.Router.CheckAll(ctx)
	m.syncAlert(ctx)
	if !m.cfg.Auto {
		return statuses, nil
	}
	plan := m.DryRun()
	if !plan.WouldFailover {
		return statuses, nil
	}
	ev := m.switchLocked(ctx, KindAuto, plan.Target, plan.Reason)
	return statuses, &ev
}

// syncAlert fires once when no region is active and resolves when one is.
func (m *Manager) syncAlert(ctx context.Context) {
	anyActive := false
	for _, rg := range m.cfg.Router.Regions() {
		if rg.Status == region.StatusActive {
			anyActive = true
			break
		}
	}
	m.mu.Lock()
	was := m.noHealthy
	m.noHealthy = !anyActive
	if !was && !anyActive {
		m.stats.Incidents++
	}
	m.mu.Unlock()
	switch {
	case !anyActive && !was:
		m.log.Error("no healthy region", "self", m.cfg.Self)
	case anyActive && was:
		m.log.Info("a region is healthy again", "self", m.cfg.Self)
	}
	if m.cfg.Alert == nil {
		return
	}
	// The sender dedupes; calling it on every unhealthy tick also retries a
	// notification whose POST failed.
	if !anyActive {
		if err := m.cfg.Alert.Fire(ctx, AlertNoHealthyRegion, "no healthy region remains", map[string]string{"region": m.cfg.Self}); err != nil {
			m.log.Error("alert fire failed", "err", err)
		}
	} else if m.cfg.Alert.Firing(AlertNoHealthyRegion) {
		if err := m.cfg.Alert.Resolve(ctx, AlertNoHealthyRegion); err != nil {
			m.log.Error("alert resolve failed", "err", err)
		}
	}
}

// Current returns the current primary region.
func (m *Manager) Current() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current
}

// Failover makes target the primary (manual failover). target must exist,
// be active and differ from the current primary. When this region is the one
// losing primary, its sessions' final checkpoints are awaited first.
func (m *Manager) Failover(ctx context.Context, target, reason string) (Event, error) {
	m.op.Lock()
	defer m.op.Unlock()
	rg, ok := m.cfg.Router.Get(target)
	if !ok {
		return Event{}, fmt.Errorf("target: unknown region %q", target)
	}
	if rg.Status != region.StatusActive {
		return Event{}, fmt.Errorf("target: region %q is %s, not active", target, rg.Status)
	}
	if target == m.Current() {
		return Event{}, fmt.Errorf("target: region %q is already primary", target)
	}
	if reason == "" {
		reason = "manual"
	}
	return m.switchLocked(ctx, KindManual, target, reason), nil
}

// switchLocked performs a failover; the caller holds m.op.
func (m *Manager) switchLocked(ctx context.Context, kind, target, reason string) Event {
	start := m.cfg.Now()
	from := m.Current()
	// Log the previous primary before anything changes it.
	m.log.Info("failover starting", "kind", kind, "from", from, "to", target, "reason", reason)
	ev := Event{Kind: kind, From: from, To: target, Reason: reason, At: start}
	if m.cfg.Flusher != nil && m.cfg.Self != "" && from == m.cfg.Self {
		n, err := m.cfg.Flusher.FlushAll(ctx)
		ev.Flushed = n
		if err != nil {
			// Fail over anyway (the primary is leaving), but make the loss
			// risk visible in history and logs.
			ev.Err = "final flush: " + err.Error()
			m.log.Error("failover final flush failed", "from", from, "flushed", n, "err", err)
		}
	}
	m.mu.Lock()
	m.current = target
	ev.ID = m.nextID
	m.nextID++
	ev.Duration = m.cfg.Now().Sub(start)
	if len(m.history) >= m.cfg.MaxHistory {
		m.history = slices.Delete(m.history, 0, len(m.history)-m.cfg.MaxHistory+1)
	}
	m.history = append(m.history, ev)
	m.recorded++
	if kind == KindAuto {
		m.stats.Auto++
	} else {
		m.stats.Manual++
	}
	if ev.Err != "" {
		m.stats.Failed++
	}
	listeners := slices.Clone(m.listeners)
	m.mu.Unlock()
	m.log.Info("failover done", "id", ev.ID, "kind", kind, "from", from, "to", target, "flushed", ev.Flushed, "duration", ev.Duration)
	for _, fn := range listeners {
		fn(ev)
	}
	return ev
}

// DryRun reports what an automatic failover would do now. Target is the
// best active region (by priority) other than the current primary.
func (m *Manager) DryRun() Plan {
	regs := m.cfg.Router.Regions()
	cur := m.Current()
	p := Plan{Current: cur, Regions: regs}
	curActive := false
	for _, rg := range regs {
		if rg.Name == cur {
			curActive = rg.Status == region.StatusActive
			continue
		}
		if p.Target == "" && rg.Status == region.StatusActive {
			p.Target = rg.Name
		}
	}
	switch {
	case curActive && p.Target != "":
		p.Reason = fmt.Sprintf("primary %s is active; a failover would go to %s", cur, p.Target)
	case curActive:
		p.Reason = fmt.Sprintf("primary %s is active; no other region is active", cur)
	case p.Target != "":
		st, _ := m.cfg.Router.Get(cur)
		p.Reason = fmt.Sprintf("primary %s is %s", cur, st.Status)
		p.WouldFailover = true
	default:
		p.Reason = "no region is active"
	}
	return p
}

// History returns the kept failovers (the last Config.MaxHistory), oldest
// first; Recorded also says how many there were in all.
func (m *Manager) History() []Event {
	h, _ := m.Recorded()
	return h
}

// Recorded returns the kept failovers, oldest first, and the number of
// failovers recorded in all: more than len(events) once the oldest were
// dropped, so no reader mistakes the kept window for the whole history.
func (m *Manager) Recorded() (events []Event, total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.history), m.recorded
}

// OnFailover registers fn, called after each failover is recorded.
func (m *Manager) OnFailover(fn func(Event)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = append(m.listeners, fn)
}

// Stats returns a snapshot of the counters.
func (m *Manager) Stats() FailoverStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Current = m.current
	return s
}
