package lb

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/healthlog"
)

// statusJSON is /lb/status as a client decodes it, times as sent.
type statusJSON struct {
	Now     string `json:"now"`
	Regions []struct {
		Name         string  `json:"name"`
		EjectedUntil *string `json:"ejected_until"`
	} `json:"regions"`
	Transitions []struct {
		Region, From, To, At string
	} `json:"transitions"`
	Health *struct {
		Enabled         *bool    `json:"enabled"`
		IntervalSeconds *float64 `json:"interval_seconds"`
		Rounds          *int64   `json:"rounds"`
		Recent          []struct {
			Started     string   `json:"started"`
			LateSeconds *float64 `json:"late_seconds"`
			TookSeconds *float64 `json:"took_seconds"`
		} `json:"recent"`
	} `json:"health"`
}

func (fx *fixture) statusJSON(t *testing.T) statusJSON {
	t.Helper()
	resp, body := fx.do(t, http.MethodGet, "/lb/status", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/lb/status: %d %s", resp.StatusCode, body)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/lb/status: %v: %s", err, body)
	}
	if st.Health == nil || st.Health.Enabled == nil || st.Health.IntervalSeconds == nil || st.Health.Rounds == nil || st.Health.Recent == nil {
		t.Fatalf("/lb/status lacks health fields: %s", body)
	}
	return st
}

func parseNano(t *testing.T, what, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s %q: %v", what, s, err)
	}
	return v
}

// within fails unless lo <= v <= hi on the wall clock (JSON times carry no
// monotonic reading, so compare wall times throughout).
func within(t *testing.T, what string, v, lo, hi time.Time) {
	t.Helper()
	v, lo, hi = v.Round(0), lo.Round(0), hi.Round(0)
	if v.Before(lo) || v.After(hi) {
		t.Fatalf("%s = %s, want within [%s, %s]", what, v.Format(time.RFC3339Nano), lo.Format(time.RFC3339Nano), hi.Format(time.RFC3339Nano))
	}
}

func waitRounds(t *testing.T, l *LB, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Status().Health.Rounds < n {
		if time.Now().After(deadline) {
			t.Fatalf("health loop completed %d rounds in 10s, want %d", l.Status().Health.Rounds, n)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

func TestStatusCarriesNowAndHealthRounds(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 1}, func(c *Config) { c.Health.Interval = 5 * time.Millisecond })
	st := fx.statusJSON(t)
	if *st.Health.Rounds != 0 || len(st.Health.Recent) != 0 || !*st.Health.Enabled || *st.Health.IntervalSeconds != 0.005 {
		t.Fatalf("before Start: health %+v", *st.Health)
	}
	fx.checkRounds(2) // manual rounds have no schedule: not counted
	if n := fx.lb.Status().Health.Rounds; n != 0 {
		t.Fatalf("CheckNow counted as %d loop rounds", n)
	}

	before := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	fx.lb.Start(ctx)
	waitRounds(t, fx.lb, 5)
	cancel()
	fx.lb.Wait()
	st = fx.statusJSON(t)
	after := time.Now()

	now := parseNano(t, "now", st.Now)
	within(t, "now", now, before, after)
	h := st.Health
	if *h.Rounds < 5 || int64(len(h.Recent)) != min(*h.Rounds, healthlog.MaxRounds) {
		t.Fatalf("rounds %d with %d recent", *h.Rounds, len(h.Recent))
	}
	prev := before
	for i, r := range h.Recent {
		started := parseNano(t, "started", r.Started)
		within(t, "recent[].started", started, prev, now)
		prev = started
		if r.LateSeconds == nil || r.TookSeconds == nil || *r.LateSeconds < 0 || *r.TookSeconds < 0 {
			t.Fatalf("recent[%d] = %+v: late and took must be present and >= 0", i, r)
		}
	}
	if *h.Recent[0].LateSeconds != 0 {
		t.Fatalf("first round late %v, want 0", *h.Recent[0].LateSeconds)
	}
}

func TestHealthDisabledReportsNoRounds(t *testing.T) {
	fx := newFixture(t, map[string]int{"us-east-1": 1}, func(c *Config) { c.Health.Enabled = false })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fx.lb.Start(ctx) // a no-op when disabled
	st := fx.statusJSON(t)
	if *st.Health.Enabled || *st.Health.Rounds != 0 || len(st.Health.Recent) != 0 || *st.Health.IntervalSeconds != Default().Health.Interval.Seconds() {
		t.Fatalf("disabled: health %+v", *st.Health)
	}
}

// Rounds slower than the interval run back to back and are recorded with
// their duration; lateness stays non-negative.
func TestSlowRoundsAreRecorded(t *testing.T) {
	const interval = 5 * time.Millisecond
	const probe = 25 * time.Millisecond
	region := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(probe)
	}))
	defer region.Close()
	cfg := Default()
	cfg.Regions = []RegionConfig{{Name: "us-east-1", URL: region.URL, Weight: 1}}
	cfg.Health.Interval = interval
	cfg.Health.Timeout = 10 * time.Second
	l, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	l.Start(ctx)
	waitRounds(t, l, 4)
	cancel()
	l.Wait()
	rec := l.Status().Health.Recent
	for i := range rec {
		if rec[i].LateSeconds < 0 {
			t.Fatalf("round %d late %.6fs: want >= 0", i, rec[i].LateSeconds)
		}
		if rec[i].TookSeconds < probe.Seconds() {
			t.Fatalf("round %d took %.6fs, but its probe sleeps %v", i, rec[i].TookSeconds, probe)
		}
	}
}

func TestClockOffsetShiftsEveryReportedTime(t *testing.T) {
	for _, off := range []time.Duration{90 * time.Minute, -90 * time.Minute} {
		t.Run(off.String(), func(t *testing.T) {
			const ejection = time.Second
			fx := newFixture(t, map[string]int{"us-east-1": 1, "eu-west-1": 1}, func(c *Config) {
				c.ClockOffset = off
				c.Health.Interval = time.Hour // one round at Start, none after
				c.Outlier.ConsecutiveFailures = 1
				c.Outlier.Ejection = ejection
			})
			before := time.Now()
			fx.regions["eu-west-1"].srv.Close()
			fx.checkRounds(2) // eu-west-1 goes down (threshold 2)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fx.lb.Start(ctx)
			waitRounds(t, fx.lb, 1)
			fx.regions["us-east-1"].reqCode.Store(500)
			fx.do(t, http.MethodPost, "/v1/sessions", `{"user_id":"u"}`, nil) // ejects us-east-1
			st := fx.statusJSON(t)
			after := time.Now()

			within(t, "now", parseNano(t, "now", st.Now), before.Add(off), after.Add(off))
			if len(st.Transitions) != 2 {
				t.Fatalf("transitions %+v", st.Transitions)
			}
			for _, tr := range st.Transitions {
				within(t, "transition "+tr.Region+" at", parseNano(t, "at", tr.At), before.Add(off), after.Add(off))
			}
			within(t, "round started", parseNano(t, "started", st.Health.Recent[0].Started), before.Add(off), after.Add(off))
			var until *string
			for _, r := range st.Regions {
				if r.Name == "us-east-1" {
					until = r.EjectedUntil
				}
			}
			if until == nil {
				t.Fatal("us-east-1 not ejected")
			}
			within(t, "ejected_until", parseNano(t, "ejected_until", *until), before.Add(off+ejection), after.Add(off+ejection))

			// The deadline is compared with the same shifted clock: the
			// ejection still ends after its duration.
			deadline := time.Now().Add(5 * time.Second)
			for !fx.regionStatus("us-east-1").InRotation {
				if time.Now().After(deadline) {
					t.Fatal("ejection did not end")
				}
				time.Sleep(10 * time.Millisecond) // polling interval
			}
		})
	}
}
