// Package region holds the RegionRouter: the set of regions a runtime knows,
// their weights, priorities and continents, and their health as seen through
// parallel, thresholded health checks (Route 53 semantics).
package region

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentops/failover-harness/runtime/healthlog"
)

// Status is a region's health as decided by this router.
type Status string

// Region statuses.
const (
	StatusActive   Status = "active"
	StatusDegraded Status = "degraded"
	StatusDown     Status = "down"
)

// ErrNoHealthyRegion is returned when no region is active.
var ErrNoHealthyRegion = errors.New("no healthy region")

// Region is one region as the router sees it.
type Region struct {
	Name             string    `json:"name"`
	Endpoint         string    `json:"endpoint"`
	Continent        string    `json:"continent"`
	Weight           int       `json:"weight"`
	Priority         int       `json:"priority"`
	Status           Status    `json:"status"`
	LastCheck        time.Time `json:"last_check"`
	LastError        string    `json:"last_error,omitempty"`
	ConsecutiveFails int       `json:"consecutive_fails"`
	ConsecutiveOKs   int       `json:"consecutive_oks"`
}

// Config configures a Router.
type Config struct {
	Regions []Region
	// Self is this process's region name; when set it must be one of Regions.
	Self string
	// Timeout bounds each region's health probe.
	Timeout time.Duration
	// HealthyThreshold is the number of consecutive OK probes that bring a
	// non-active region back to active.
	HealthyThreshold int
	// UnhealthyThreshold is the number of consecutive failed probes before an
	// active region leaves rotation.
	UnhealthyThreshold int
	// HealthPath is the probe path; default "/health".
	HealthPath string
	Client     *http.Client
	Now        func() time.Time
	// Rand drives weighted picks; pass a seeded one for replayable runs.
	// Default: a fixed-seed PCG. Guarded by the router's lock.
	Rand *rand.Rand
}

// Router routes by continent, priority and weight over regions whose status
// it maintains from health checks.
type Router struct {
	mu        sync.Mutex
	regions   []Region // sorted by priority, then name
	self      string
	timeout   time.Duration
	healthyN  int
	unhealthN int
	path      string
	client    *http.Client
	now       func() time.Time
	rnd       *rand.Rand
	listeners []func(name string, from, to Status)
	log       healthlog.Log // status changes, dated on now
}

// Continent maps an AWS-style region name to a coarse continent.
func Continent(region string) string {
	switch {
	case strings.HasPrefix(region, "us-"), strings.HasPrefix(region, "ca-"),
		strings.HasPrefix(region, "sa-"), strings.HasPrefix(region, "mx-"):
		return "americas"
	case strings.HasPrefix(region, "eu-"):
		return "europe"
	case strings.HasPrefix(region, "ap-"):
		return "asia-pacific"
	default:
		return "other"
	}
}

// NewRouter validates cfg and builds a Router. Regions start in the status
// they are given (empty means active).
func NewRouter(cfg Config) (*Router, error) {
	if len(cfg.Regions) == 0 {
		return nil, errors.New("regions: at least one region is required")
	}
	seen := map[string]bool{}
	regs := make([]Region, len(cfg.Regions))
	for i, rg := range cfg.Regions {
		if rg.Name == "" {
			return nil, fmt.Errorf("regions[%d].name: must not be empty", i)
		}
		if seen[rg.Name] {
			return nil, fmt.Errorf("regions[%d].name: duplicate region %q", i, rg.Name)
		}
		seen[rg.Name] = true
		if rg.Weight < 0 {
			return nil, fmt.Errorf("regions[%d].weight: must be >= 0", i)
		}
		switch rg.Status {
		case "":
			rg.Status = StatusActive
		case StatusActive, StatusDegraded, StatusDown:
		default:
			return nil, fmt.Errorf("regions[%d].status: must be one of active, degraded, down", i)
		}
		if rg.Continent == "" {
			rg.Continent = Continent(rg.Name)
		}
		regs[i] = rg
	}
	if cfg.Self != "" && !seen[cfg.Self] {
		return nil, fmt.Errorf("self: region %q is not in regions", cfg.Self)
	}
	if cfg.HealthyThreshold < 1 {
		return nil, errors.New("healthy_threshold: must be >= 1")
	}
	if cfg.UnhealthyThreshold < 1 {
		return nil, errors.New("unhealthy_threshold: must be >= 1")
	}
	if cfg.Timeout <= 0 {
		return nil, errors.New("timeout: must be > 0")
	}
	slices.SortStableFunc(regs, func(a, b Region) int {
		if a.Priority != b.Priority {
			return a.Priority - b.Priority
		}
		return strings.Compare(a.Name, b.Name)
	})
	r := &Router{
		regions: regs, self: cfg.Self, timeout: cfg.Timeout,
		healthyN: cfg.HealthyThreshold, unhealthN: cfg.UnhealthyThreshold,
		path: cfg.HealthPath, client: cfg.Client, now: cfg.Now, rnd: cfg.Rand,
	}
	if r.path == "" {
		r.path = "/health"
	}
	if r.client == nil {
		r.client = &http.Client{}
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.rnd == nil {
		r.rnd = rand.New(rand.NewPCG(1, 2))
	}
	return r, nil
}

// Self returns this router's own region name (may be empty).
func (r *Router) Self() string { return r.self }

// Regions returns copies of all regions, sorted by priority.
func (r *Router) Regions() []Region {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.regions)
}

// Get returns a copy of the named region.
func (r *Router) Get(name string) (Region, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.indexLocked(name)
	if i < 0 {
		return Region{}, false
	}
	return r.regions[i], true
}

// Transitions returns the last status changes this router made, oldest
// first, and how many it ever made (more than returned: the oldest were
// dropped). Each is dated on the router's clock at the end of the round
// that made it.
func (r *Router) Transitions() ([]healthlog.Transition, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.Snapshot()
}

// Now reads the router's clock.
func (r *Router) Now() time.Time { return r.now() }

// OnChange registers fn, called (outside the router lock) after every
// status change.
func (r *Router) OnChange(fn func(name string, from, to Status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listeners = append(r.listeners, fn)
}

func (r *Router) indexLocked(name string) int {
	for i := range r.regions {
		if r.regions[i].Name == name {
			return i
		}
	}
	return -1
}

// Resolve picks the region for a client in clientRegion: the active region on
// the same continent with the best priority, else a weighted pick among
// active regions, else ErrNoHealthyRegion (never a down region).
func (r *Router) Resolve(clientRegion string) (Region, error) {
	cont := Continent(clientRegion)
	r.mu.Lock()
	defer r.mu.Unlock()
	if clientRegion != "" {
		for _, rg := range r.regions { // already in priority order
			if rg.Status == StatusActive && rg.Continent == cont {
				return rg, nil
			}
		}
	}
	return r.pickLocked()
}

// Pick returns an active region chosen at random in proportion to weight.
// When every active region has weight 0 they are picked uniformly.
func (r *Router) Pick() (Region, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pickLocked()
}

func (r *Router) pickLocked() (Region, error) {
	var active []Region
	total := 0
	for _, rg := range r.regions {
		if rg.Status == StatusActive {
			active = append(active, rg)
			total += rg.Weight
		}
	}
	if len(active) == 0 {
		return Region{}, ErrNoHealthyRegion
	}
	if total == 0 {
		return active[r.rnd.IntN(len(active))], nil
	}
	n := r.rnd.IntN(total)
	for _, rg := range active {
		if n < rg.Weight {
			return rg, nil
		}
		n -= rg.Weight
	}
	return active[len(active)-1], nil // unreachable: n < total
}

// probe outcomes
type outcome int

const (
	probeOK       outcome = iota
	probeHTTPFail         // answered, non-2xx: region is degraded
	probeConnFail         // timeout or connection error: region is down
)

type probeResult struct {
	name string
	out  outcome
	err  string
}

// CheckAll probes every region in parallel, each bounded by Timeout, and
// applies the thresholds. It returns the resulting status of every region.
// Only the HTTP status code counts; the /health body is never trusted to set
// our view of a region.
func (r *Router) CheckAll(ctx context.Context) map[string]Status {
	r.mu.Lock()
	targets := make([]Region, len(r.regions))
	copy(targets, r.regions)
	r.mu.Unlock()

	results := make([]probeResult, len(targets))
	var wg sync.WaitGroup
	for i, rg := range targets {
		wg.Go(func() { results[i] = r.probe(ctx, rg) })
	}
	wg.Wait()

	type change struct {
		name     string
		from, to Status
	}
	var changes []change
	now := r.now()
	out := make(map[string]Status, len(results))
	r.mu.Lock()
	for _, res := range results {
		i := r.indexLocked(res.name)
		rg := &r.regions[i]
		rg.LastCheck = now
		rg.LastError = res.err
		prev := rg.Status
		if res.out == probeOK {
			rg.ConsecutiveOKs++
			rg.ConsecutiveFails = 0
			if rg.Status != StatusActive && rg.ConsecutiveOKs >= r.healthyN {
				rg.Status = StatusActive
			}
		} else {
			rg.ConsecutiveFails++
			rg.ConsecutiveOKs = 0
			if rg.ConsecutiveFails >= r.unhealthN {
				// Past the threshold the latest failure kind decides, so a
				// degraded region that stops answering becomes down.
				if res.out == probeConnFail {
					rg.Status = StatusDown
				} else {
					rg.Status = StatusDegraded
				}
			}
		}
		if rg.Status != prev {
			changes = append(changes, change{rg.Name, prev, rg.Status})
			r.log.Add(healthlog.Transition{Region: rg.Name, From: string(prev), To: string(rg.Status), At: now})
		}
		out[rg.Name] = rg.Status
	}
	listeners := slices.Clone(r.listeners)
	r.mu.Unlock()
	for _, c := range changes {
		for _, fn := range listeners {
			fn(c.name, c.from, c.to)
		}
	}
	return out
}

func (r *Router) probe(ctx context.Context, rg Region) probeResult {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res := probeResult{name: rg.Name}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(rg.Endpoint, "/")+r.path, nil)
	if err != nil {
		res.out, res.err = probeConnFail, err.Error()
		return res
	}
	resp, err := r.client.Do(req)
	if err != nil {
		res.out, res.err = probeConnFail, err.Error()
		return res
	}
	// Drain a bounded amount so the connection can be reused; the body's
	// content is deliberately ignored.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.out, res.err = probeHTTPFail, fmt.Sprintf("health: HTTP %d", resp.StatusCode)
		return res
	}
	res.out = probeOK
	return res
}
