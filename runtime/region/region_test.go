package region

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// switchable is a health endpoint whose answer the test controls.
type switchable struct {
	code atomic.Int32
	body atomic.Value
}

func newSwitchable(t *testing.T, code int) (*switchable, *httptest.Server) {
	s := &switchable{}
	s.code.Store(int32(code))
	s.body.Store(`{"status":"active"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(s.code.Load()))
		_, _ = w.Write([]byte(s.body.Load().(string)))
	}))
	t.Cleanup(srv.Close)
	return s, srv
}

func mustRouter(t *testing.T, cfg Config) *Router {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.HealthyThreshold == 0 {
		cfg.HealthyThreshold = 2
	}
	if cfg.UnhealthyThreshold == 0 {
		cfg.UnhealthyThreshold = 3
	}
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return r
}

func TestContinent(t *testing.T) {
	for in, want := range map[string]string{
		"us-east-1": "americas", "ca-central-1": "americas", "sa-east-1": "americas",
		"eu-west-1": "europe", "ap-southeast-1": "asia-pacific", "me-south-1": "other", "": "other",
	} {
		if got := Continent(in); got != want {
			t.Errorf("Continent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewRouterValidation(t *testing.T) {
	ok := []Region{{Name: "us-east-1", Weight: 1}, {Name: "eu-west-1", Weight: 1}}
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no regions", Config{Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1}, "regions:"},
		{"dup", Config{Regions: []Region{{Name: "a"}, {Name: "a"}}, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1}, "regions[1].name"},
		{"weight", Config{Regions: []Region{{Name: "a"}, {Name: "b", Weight: -1}}, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1}, "regions[1].weight: must be >= 0"},
		{"healthy", Config{Regions: ok, Timeout: time.Second, UnhealthyThreshold: 1}, "healthy_threshold"},
		{"unhealthy", Config{Regions: ok, Timeout: time.Second, HealthyThreshold: 1}, "unhealthy_threshold"},
		{"timeout", Config{Regions: ok, HealthyThreshold: 1, UnhealthyThreshold: 1}, "timeout"},
		{"self", Config{Regions: ok, Self: "x", Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1}, "self"},
	}
	for _, c := range cases {
		_, err := NewRouter(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestThresholdNoFlapAndRecovery(t *testing.T) {
	sw, srv := newSwitchable(t, 200)
	r := mustRouter(t, Config{Regions: []Region{{Name: "us-east-1", Endpoint: srv.URL, Weight: 1}}, UnhealthyThreshold: 3, HealthyThreshold: 2})
	var changes []string
	r.OnChange(func(name string, from, to Status) { changes = append(changes, name+":"+string(from)+"->"+string(to)) })
	ctx := context.Background()

	sw.code.Store(503)
	for i := 0; i < 2; i++ { // below threshold: one or two lost probes do not flap
		if st := r.CheckAll(ctx)["us-east-1"]; st != StatusActive {
			t.Fatalf("after %d failures status = %s, want active", i+1, st)
		}
	}
	sw.code.Store(200) // an OK resets the failure count
	r.CheckAll(ctx)
	sw.code.Store(503)
	r.CheckAll(ctx)
	r.CheckAll(ctx)
	if st := r.CheckAll(ctx)["us-east-1"]; st != StatusDegraded {
		t.Fatalf("after 3 consecutive non-2xx status = %s, want degraded", st)
	}
	sw.code.Store(200)
	if st := r.CheckAll(ctx)["us-east-1"]; st != StatusDegraded {
		t.Fatalf("after 1 OK status = %s, want still degraded", st)
	}
	if st := r.CheckAll(ctx)["us-east-1"]; st != StatusActive {
		t.Fatalf("after 2 OKs status = %s, want active (recovery)", st)
	}
	want := []string{"us-east-1:active->degraded", "us-east-1:degraded->active"}
	if strings.Join(changes, ",") != strings.Join(want, ",") {
		t.Fatalf("changes = %v, want %v", changes, want)
	}
}

func TestConnErrorMeansDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens: connection refused
	r := mustRouter(t, Config{Regions: []Region{{Name: "eu-west-1", Endpoint: url}}, UnhealthyThreshold: 1, HealthyThreshold: 1})
	if st := r.CheckAll(context.Background())["eu-west-1"]; st != StatusDown {
		t.Fatalf("status = %s, want down", st)
	}
	rg, _ := r.Get("eu-west-1")
	if rg.LastError == "" || rg.ConsecutiveFails != 1 {
		t.Fatalf("region = %+v, want LastError set and 1 failure", rg)
	}
}

func TestBodyCannotSetStatus(t *testing.T) {
	sw, srv := newSwitchable(t, 200)
	sw.body.Store(`{"region":"x","status":"down"}`)
	r := mustRouter(t, Config{Regions: []Region{{Name: "us-east-1", Endpoint: srv.URL}}, UnhealthyThreshold: 1, HealthyThreshold: 1})
	if st := r.CheckAll(context.Background())["us-east-1"]; st != StatusActive {
		t.Fatalf("200 with body status=down gave %s, want active", st)
	}
	sw.code.Store(500)
	sw.body.Store(`{"status":"active"}`)
	if st := r.CheckAll(context.Background())["us-east-1"]; st != StatusDegraded {
		t.Fatalf("500 with body status=active gave %s, want degraded", st)
	}
}

// TestChecksRunInParallel uses a barrier: every health handler blocks until
// all N probes have arrived. Sequential probing would never release it and
// every probe would time out.
func TestChecksRunInParallel(t *testing.T) {
	const n = 4
	var arrived atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == n {
			once.Do(func() { close(release) })
		}
		select {
		case <-release:
			w.WriteHeader(200)
		case <-r.Context().Done():
		}
	})
	var regs []Region
	for i := 0; i < n; i++ {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		regs = append(regs, Region{Name: "r" + string(rune('a'+i)), Endpoint: srv.URL, Priority: i})
	}
	r := mustRouter(t, Config{Regions: regs, Timeout: 5 * time.Second, UnhealthyThreshold: 1, HealthyThreshold: 1})
	r.CheckAll(context.Background())
	for _, rg := range r.Regions() {
		if rg.ConsecutiveOKs != 1 || rg.LastError != "" {
			t.Fatalf("region %s: oks=%d err=%q; probes were not concurrent", rg.Name, rg.ConsecutiveOKs, rg.LastError)
		}
	}
}

func TestProbeTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	r := mustRouter(t, Config{Regions: []Region{{Name: "us-east-1", Endpoint: srv.URL}}, Timeout: 50 * time.Millisecond, UnhealthyThreshold: 1, HealthyThreshold: 1})
	if st := r.CheckAll(context.Background())["us-east-1"]; st != StatusDown {
		t.Fatalf("timed-out probe gave %s, want down", st)
	}
}

func TestWeightedPickDistribution(t *testing.T) {
	regs := []Region{
		{Name: "us-east-1", Weight: 50, Priority: 0},
		{Name: "eu-west-1", Weight: 30, Priority: 1},
		{Name: "ap-southeast-1", Weight: 20, Priority: 2},
		{Name: "sa-east-1", Weight: 0, Priority: 3},
	}
	r := mustRouter(t, Config{Regions: regs, Rand: rand.New(rand.NewPCG(42, 42))})
	const n = 20000
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		rg, err := r.Pick()
		if err != nil {
			t.Fatal(err)
		}
		counts[rg.Name]++
	}
	if counts["sa-east-1"] != 0 {
		t.Fatalf("weight-0 region picked %d times", counts["sa-east-1"])
	}
	// Chi-square with 2 degrees of freedom; 13.8 is the p=0.001 critical value.
	chi := 0.0
	for _, rg := range regs[:3] {
		exp := float64(n) * float64(rg.Weight) / 100
		d := float64(counts[rg.Name]) - exp
		chi += d * d / exp
	}
	if chi > 13.8 || math.IsNaN(chi) {
		t.Fatalf("distribution %v does not follow weights 50/30/20 (chi2=%.2f)", counts, chi)
	}
}

func TestResolve(t *testing.T) {
	usSw, us := newSwitchable(t, 200)
	_, eu := newSwitchable(t, 200)
	euSw2, eu2 := newSwitchable(t, 200)
	regs := []Region{
		{Name: "us-east-1", Endpoint: us.URL, Weight: 50, Priority: 0},
		{Name: "eu-west-1", Endpoint: eu.URL, Weight: 30, Priority: 2},
		{Name: "eu-central-1", Endpoint: eu2.URL, Weight: 20, Priority: 1},
	}
	r := mustRouter(t, Config{Regions: regs, UnhealthyThreshold: 1, HealthyThreshold: 1})
	if rg, err := r.Resolve("eu-north-1"); err != nil || rg.Name != "eu-central-1" {
		t.Fatalf("Resolve(eu) = %v, %v; want eu-central-1 (same continent, best priority)", rg.Name, err)
	}
	euSw2.code.Store(503)
	r.CheckAll(context.Background())
	if rg, err := r.Resolve("eu-north-1"); err != nil || rg.Name != "eu-west-1" {
		t.Fatalf("Resolve(eu) = %v, %v; want eu-west-1", rg.Name, err)
	}
	if rg, err := r.Resolve("ap-south-1"); err != nil || rg.Status != StatusActive {
		t.Fatalf("Resolve(ap) = %+v, %v; want an active region", rg, err)
	}
	usSw.code.Store(503)
	eu.Close()
	r.CheckAll(context.Background())
	if rg, err := r.Resolve("us-west-2"); err != ErrNoHealthyRegion {
		t.Fatalf("all down: Resolve = %+v, %v; want ErrNoHealthyRegion", rg, err)
	}
	if _, err := r.Pick(); err != ErrNoHealthyRegion {
		t.Fatalf("all down: Pick err = %v", err)
	}
}

func TestRegionsSortedCopies(t *testing.T) {
	r := mustRouter(t, Config{Regions: []Region{{Name: "b", Priority: 2}, {Name: "a", Priority: 1}}})
	got := r.Regions()
	if got[0].Name != "a" || got[1].Name != "b" {
		t.Fatalf("Regions not sorted by priority: %v", got)
	}
	got[0].Status = StatusDown
	if rg, _ := r.Get("a"); rg.Status != StatusActive {
		t.Fatal("Regions returned a reference, not a copy")
	}
}

// Every status change is logged, dated on the router's clock at the end of
// the round that made it, so a reader can date a failback without polling.
func TestTransitionsAreLoggedOnTheRoutersClock(t *testing.T) {
	sw, srv := newSwitchable(t, 200)
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	r := mustRouter(t, Config{Regions: []Region{{Name: "us-east-1", Endpoint: srv.URL, Weight: 1}}, UnhealthyThreshold: 1, HealthyThreshold: 2,
		Now: func() time.Time { return clock }})
	ctx := context.Background()
	step := func(code int) {
		sw.code.Store(int32(code))
		clock = clock.Add(time.Second)
		r.CheckAll(ctx)
	}
	step(200) // no change: nothing logged
	step(503) // t+2s: degraded
	step(200) // one OK of two
	step(200) // t+4s: active
	ts, total := r.Transitions()
	if total != 2 || len(ts) != 2 {
		t.Fatalf("transitions %+v (total %d), want 2", ts, total)
	}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if ts[0].From != "active" || ts[0].To != "degraded" || !ts[0].At.Equal(base.Add(2*time.Second)) ||
		ts[1].From != "degraded" || ts[1].To != "active" || !ts[1].At.Equal(base.Add(4*time.Second)) {
		t.Fatalf("transitions %+v", ts)
	}
	if !r.Now().Equal(clock) {
		t.Fatalf("Now() = %v, want the configured clock %v", r.Now(), clock)
	}
}
