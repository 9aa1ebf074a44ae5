package reports

import (
	"math"
	"math/rand/v2"
	"time"
)

// Sample returns a realistic, deterministic record of a green run: the seven
// plan rows and the article's checklist, time-compressed 100x. It is meant for
// demos and tests of the renderers.
func Sample() *Record { return sample(false) }

// SampleWithFailure is Sample with plan row 1 failed: an acknowledged message
// was lost, with the checker's reason and a history excerpt.
func SampleWithFailure() *Record { return sample(true) }

var sampleRegions = [3]string{"us-east-1", "eu-west-1", "ap-southeast-1"}
var sampleWeights = [3]float64{50, 30, 20}

const (
	sampleBucket      = 0.5  // seconds per timeline bucket
	sampleLoad        = 40.0 // operations per bucket across all regions
	sampleCompression = 100.0
)

// share spreads the load over the regions that are in rotation, by weight.
func share(in [3]bool) [3]float64 {
	var sum float64
	for i, ok := range in {
		if ok {
			sum += sampleWeights[i]
		}
	}
	var out [3]float64
	if sum == 0 {
		return out
	}
	for i, ok := range in {
		if ok {
			out[i] = sampleLoad * sampleWeights[i] / sum
		}
	}
	return out
}

// shape gives, for a time t, the expected ok count per region and the error
// count in that bucket.
type shape func(t float64) (ok [3]float64, errs float64)

func timeline(rng *rand.Rand, dur float64, f shape) []Point {
	var pts []Point
	for i := 0; float64(i)*sampleBucket < dur; i++ {
		t := float64(i) * sampleBucket
		ok, errs := f(t)
		for r, v := range ok {
			pts = append(pts, Point{T: t, Region: sampleRegions[r], OK: jitter(rng, v)})
		}
		if errs > 0 {
			pts = append(pts, Point{T: t, Region: "", Errors: jitter(rng, errs)})
		}
	}
	return pts
}

// jitter adds ±10 % noise so the charts look like real traffic.
func jitter(rng *rand.Rand, v float64) int {
	if v <= 0 {
		return 0
	}
	return int(math.Round(v * (0.9 + 0.2*rng.Float64())))
}

func between(t, a, b float64) bool { return t >= a && t < b }

func project(o Observed) *Projected {
	return &Projected{
		DetectionSeconds: o.DetectionSeconds * sampleCompression,
		RTOSeconds:       o.RTOSeconds * sampleCompression,
		RPOSeconds:       o.RPOSeconds * sampleCompression,
	}
}

func totals(s *Spec) {
	for _, p := range s.Timeline {
		s.Observed.Requests += p.OK + p.Errors
		s.Observed.ClientErrors += p.Errors
	}
}

func sample(withFailure bool) *Record {
	rng := rand.New(rand.NewPCG(42, 7))
	all := [3]bool{true, true, true}
	noA := [3]bool{false, true, true}
	onlyC := [3]bool{false, false, true}
	const dur = 14.0

	specs := []Spec{
		{
			Name: "Region A unresponsive: LB redirects to B", Labels: []string{"plan-1"}, Row: 1,
			Expected: Plan[0].Expected, DurationSeconds: 16.2,
			Observed: Observed{DetectionSeconds: 1.05, RTOSeconds: 1.3},
			Bounds:   Bounds{DetectionSeconds: 1.2, RTOSeconds: 2.0},
			Faults:   []Fault{{Name: "us-east-1 paused (SIGSTOP)", Start: 3, End: 9}},
			Events: []Event{{Name: "us-east-1 marked down", At: 4.05}, {Name: "sessions moved to eu-west-1", At: 4.3},
				{Name: "fault healed", At: 9}, {Name: "us-east-1 back in rotation", At: 9.65}},
			Timeline: timeline(rng, dur, func(t float64) ([3]float64, float64) {
				switch {
				case between(t, 3, 4.05):
					s := share(all)
					s[0] = 0
					return s, 2.5
				case between(t, 4.05, 9.65):
					return share(noA), 0
				}
				return share(all), 0
			}),
		},
		{
			Name: "Region A returns 503: marked degraded", Labels: []string{"plan-2"}, Row: 2,
			Expected: Plan[1].Expected, DurationSeconds: 15.1,
			Observed: Observed{DetectionSeconds: 0.95, RTOSeconds: 0.4},
			Bounds:   Bounds{DetectionSeconds: 1.2, RTOSeconds: 2.0},
			Faults:   []Fault{{Name: "us-east-1 answers 503", Start: 3, End: 9}},
			Events:   []Event{{Name: "us-east-1 degraded", At: 3.95}, {Name: "us-east-1 active", At: 9.6}},
			Timeline: timeline(rng, dur, func(t float64) ([3]float64, float64) {
				switch {
				case between(t, 3, 3.95):
					return share(noA), 0.6 // retries on the next region hide most 503s
				case between(t, 3.95, 9.6):
					return share(noA), 0
				}
				return share(all), 0
			}),
		},
		{
			Name: "Region A half up: 50 % of requests fail", Labels: []string{"plan-3"}, Row: 3,
			Expected: Plan[2].Expected, DurationSeconds: 15.4,
			Observed: Observed{DetectionSeconds: 1.1, RTOSeconds: 0.5},
			Bounds:   Bounds{DetectionSeconds: 1.5, RTOSeconds: 2.0},
			Faults:   []Fault{{Name: "us-east-1 fails 50 %", Start: 3, End: 9}},
			Events:   []Event{{Name: "us-east-1 ejected (outlier)", At: 3.6}, {Name: "us-east-1 degraded", At: 4.1}, {Name: "us-east-1 active", At: 9.7}},
			Timeline: timeline(rng, dur, func(t float64) ([3]float64, float64) {
				switch {
				case between(t, 3, 3.6):
					s := share(all)
					s[0] /= 2
					return s, 1
				case between(t, 3.6, 9.7):
					return share(noA), 0
				}
				return share(all), 0
			}),
		},
		{
			Name: "Network partition: last-write-wins on restore", Labels: []string{"plan-4"}, Row: 4,
			Expected: Plan[3].Expected, DurationSeconds: 17.8,
			Observed: Observed{DetectionSeconds: 1.2, RTOSeconds: 1.4},
			Bounds:   Bounds{DetectionSeconds: 1.5, RTOSeconds: 2.5},
			Faults:   []Fault{{Name: "us-east-1 cut from store and peers", Start: 3, End: 8}},
			Events: []Event{{Name: "health check timed out", At: 4.2}, {Name: "partition healed", At: 8},
				{Name: "2 overwrites reported (LWW)", At: 8.4}},
			Timeline: timeline(rng, dur, func(t float64) ([3]float64, float64) {
				switch {
				case between(t, 3, 4.2):
					s := share(all)
					s[0] = 0
					return s, 2.5
				case between(t, 4.2, 8.7):
					return share(noA), 0
				}
				return share(all), 0
			}),
		},
		{
			Name: "Both A and B down: C serves everyone, then 503 page", Labels: []string{"plan-5"}, Row: 5,
			Expected: Plan[4].Expected, DurationSeconds: 18.6,
			Observed: Observed{DetectionSeconds: 1.0, RTOSeconds: 2.1, Alerts: 1},
			Bounds:   Bounds{DetectionSeconds: 1.2},
			Faults: []Fault{{Name: "us-east-1 + eu-west-1 paused", Start: 2, End: 11},
				{Name: "ap-southeast-1 paused (all down)", Start: 7, End: 9}},
			Events: []Event{{Name: "A and B marked down", At: 3}, {Name: "no healthy region: alert fired", At: 7.9},
				{Name: "alert resolved", At: 9.6}, {Name: "all regions active", At: 11.7}},
			Timeline: timeline(rng, dur, func(t float64) ([3]float64, float64) {
				switch {
				case between(t, 2, 3):
					s := share(all)
					s[0], s[1] = 0, 0
					return s, 6
				case between(t, 3, 7):
					return share(onlyC), 0
				case between(t, 7, 9.6):
					return [3]float64{}, sampleLoad
				case between(t, 9.6, 11.7):
					return share(onlyC), 0
				}
				return share(all), 0
			}),
		},
		{
			Name: "Quick restart: cache warmed from peers", Labels: []string{"plan-6"}, Row: 6,
			Expected: Plan[5].Expected, DurationSeconds: 14.9,
			Observed: Observed{DetectionSeconds: 0.9, RTOSeconds: 1.0},
			Bounds:   Bounds{DetectionSeconds: 1.2, RTOSeconds: 2.0},
			Faults:   []Fault{{Name: "us-east-1 killed, cold Redis", Start: 3, End: 5}},
			Events: []Event{{Name: "us-east-1 marked down", At: 3.9}, {Name: "184 cache entries pulled", At: 5.4},
				{Name: "us-east-1 back in rotation", At: 5.9}},
			Timeline: timeline(rng, dur, func(t float64) ([3]float64, float64) {
				switch {
				case between(t, 3, 3.9):
					s := share(all)
					s[0] = 0
					return s, 2
				case between(t, 3.9, 5.9):
					return share(noA), 0
				}
				return share(all), 0
			}),
		},
		{
			Name: "Long outage beyond TTL: sessions expire", Labels: []string{"plan-7"}, Row: 7,
			Expected: Plan[6].Expected, DurationSeconds: 19.3,
			Observed: Observed{DetectionSeconds: 1.0, RTOSeconds: 0.9},
			Bounds:   Bounds{DetectionSeconds: 1.2},
			Faults:   []Fault{{Name: "us-east-1 down > session TTL", Start: 2, End: 10}},
			Events: []Event{{Name: "us-east-1 marked down", At: 3}, {Name: "session TTL elapsed", At: 8},
				{Name: "410 SESSION_EXPIRED, users re-authenticate", At: 10.5}},
			Timeline: timeline(rng, dur, func(t float64) ([3]float64, float64) {
				switch {
				case between(t, 2, 3):
					s := share(all)
					s[0] = 0
					return s, 2
				case between(t, 3, 10.5):
					return share(noA), 0
				case between(t, 10.5, 11.5):
					return share(all), 6 // expected 410s before re-authentication
				}
				return share(all), 0
			}),
		},
	}
	for i := range specs {
		totals(&specs[i])
		specs[i].Verdict = Passed
		specs[i].Projected = project(specs[i].Observed)
	}
	if withFailure {
		s := &specs[0]
		s.Verdict = Failed
		s.Observed.RPOMessages = 1
		s.Observed.RPOSeconds = 2.4
		s.Observed.RTOSeconds = 2.6
		s.Projected = project(s.Observed)
		s.Failure = "acknowledged message lost: session s-0007 message m-0007-031 was acked by us-east-1 at 3.02 s " +
			"(durable=false, checkpoint policy periodic) and is absent from the final conversation (version 30); " +
			"RTO 2.6 s exceeds bound 2.0 s"
		s.HistoryExcerpt = []string{
			`{"t":2.981,"op":"send","session":"s-0007","message_id":"m-0007-030","outcome":"ok","region":"us-east-1","version":30}`,
			`{"t":3.020,"op":"send","session":"s-0007","message_id":"m-0007-031","outcome":"ok","region":"us-east-1","version":31,"durable":false}`,
			`{"t":3.050,"fault":"pause","region":"us-east-1"}`,
			`{"t":4.051,"event":"region-down","region":"us-east-1"}`,
			`{"t":5.610,"op":"send","session":"s-0007","message_id":"m-0007-032","outcome":"ok","region":"eu-west-1","version":31}`,
			`{"t":13.90,"op":"read","session":"s-0007","outcome":"ok","region":"eu-west-1","version":31,"missing":["m-0007-031"]}`,
		}
	}

	checklist := []string{
		"at least 2 regions configured",
		"global store (DynamoDB) reachable from every region",
		"checkpointing in the runtime",
		"cross-region cache warming",
		"per-region /health endpoint",
		"LB with health checks",
		"failover tested dry-run → manual → automatic",
		"session TTL (1 h default)",
		"failover history on the admin API",
		"alert when no healthy region remains",
	}
	for i, name := range checklist {
		specs = append(specs, Spec{
			Name: name, Labels: []string{ChecklistLabel},
			Verdict: Passed, DurationSeconds: 0.2 + 0.07*float64(i),
		})
	}

	var wall float64
	for _, s := range specs {
		wall += s.DurationSeconds
	}
	return &Record{
		SchemaVersion: SchemaVersion,
		StartedAt:     time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC),
		WallSeconds:   math.Round((wall+6.4)*10) / 10, // plus topology start-up and teardown
		Seed:          42,
		Provider:      "local",
		Command:       "make chaos SEED=42",
		Machine:       Machine{OS: "linux", Arch: "amd64", CPUs: 2, Go: "go1.26.0"},
		Config: map[string]any{
			"regions":                     "us-east-1 (50), eu-west-1 (30), ap-southeast-1 (20)",
			"time_compression":            sampleCompression,
			"health.interval":             "300ms (real 30s)",
			"health.timeout":              "200ms",
			"health.unhealthy_threshold":  3,
			"lb.health.failure_threshold": 3,
			"checkpoint.policy":           "on-ack",
			"conflict_strategy":           "last-write-wins",
			"session.ttl":                 "6s (real 10m)",
			"cache.staleness":             "300ms (real 30s)",
			"traffic.users":               24,
		},
		Specs: specs,
	}
}
