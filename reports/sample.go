package reports

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/check"
)

// Sample returns a realistic, deterministic record of a run: the seven plan
// rows and the article's checklist, time-compressed 100x, every spec with
// its checks, their bounds (as enforced and projected to real time) and the
// harness's health. Plan row 3 is INCONCLUSIVE: the machine was starved, so
// its liveness checks were not judged (its detection time is over the bound,
// which is not held against the system); it took two attempts and kept its
// artifacts. Everything else passed. It is meant for demos and tests of the
// renderers.
func Sample() *Record { return sample(sampleInconclusive) }

// SamplePassed is Sample on a machine that kept time: every spec passed.
func SamplePassed() *Record { return sample(samplePassed) }

// SampleWithFailure is Sample with plan row 1 failed as well: an
// acknowledged message was lost and a user waited longer than the RTO bound,
// with the failed checks, the checker's reason and a history excerpt.
func SampleWithFailure() *Record { return sample(sampleFailed) }

type sampleKind int

const (
	samplePassed sampleKind = iota
	sampleInconclusive
	sampleFailed
)

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

// The sample's configuration, as the harness would turn it into bounds:
// LB health probes every 300ms (200ms timeout, 3 failures), two tries of
// 200ms per request, the default harness allowances.
var (
	sampleProbe    = bounds.Probe{Interval: 300 * time.Millisecond, Timeout: 200 * time.Millisecond, Threshold: 3}
	sampleRetry    = bounds.Retry{Enabled: true, Attempts: 2, PerTry: 200 * time.Millisecond}
	sampleHarness  = bounds.DefaultHarness
	sampleDetect   = bounds.LBDetection(sampleProbe, sampleHarness)
	sampleRTO      = bounds.RTO(sampleProbe, sampleRetry, sampleHarness)
	sampleInFlight = bounds.InFlight(sampleRetry).Plus(bounds.Term{Name: "scheduling slack", D: sampleHarness.Slack})
	// Row 3's region fails half its probes: detection is statistical.
	sampleRows3   = bounds.Rounds(sampleProbe, 8, "3 failing probes in a row at 50 %, all but 1e-4 of runs")
	sampleDetect3 = sampleHarness.Measured(sampleRows3, false)
	sampleRTO3    = sampleHarness.Measured(bounds.Recovery(sampleRows3, sampleRetry), true)
	sampleRPO     = bounds.RPOFor("on-ack", 0)
)

// timeBound is check.TimeBound projected to real time, built from exported
// fields only so that the sample survives a JSON round trip unchanged.
func timeBound(d bounds.Duration) *check.Bound {
	return &check.Bound{Limit: d.Total().Seconds(), Unit: "s", Text: d.String(),
		Projected: d.Project(sampleCompression).Seconds(), ProjectedText: d.Format(sampleCompression)}
}

func live(name string, ok bool, v float64, unit string, b *check.Bound, format string, args ...any) check.Result {
	return check.Result{Name: name, Class: check.Liveness, OK: ok, Value: v, Unit: unit, Bound: b, Reason: fmt.Sprintf(format, args...)}
}

func safe(name string, ok bool, v float64, unit string, b *check.Bound, format string, args ...any) check.Result {
	return check.Result{Name: name, Class: check.Safety, OK: ok, Value: v, Unit: unit, Bound: b, Reason: fmt.Sprintf(format, args...)}
}

func seen(name string, ok bool, v float64, format string, args ...any) check.Result {
	return check.Result{Name: name, Class: check.Evidence, OK: ok, Value: v, Reason: fmt.Sprintf(format, args...)}
}

func round(v float64) time.Duration {
	return bounds.Round(time.Duration(v * float64(time.Second)))
}

// detection is check.DetectionTime's result for a region taken out of
// rotation after v seconds.
func detection(region string, v float64, d bounds.Duration) check.Result {
	ok := v <= d.Total().Seconds()
	if !ok {
		return live("detection-time("+region+")", false, v, "s", timeBound(d), "detected after %s > bound %s", round(v), d)
	}
	return live("detection-time("+region+")", true, v, "s", timeBound(d), "detected after %s <= bound %s", round(v), bounds.Round(d.Total()))
}

// rto is check.RTO's result for a longest wait of v seconds.
func rto(v float64, d bounds.Duration, user string, n int) check.Result {
	if v > d.Total().Seconds() {
		return live("rto", false, v, "s", timeBound(d), "a user waited %s for an answer (%s) > bound %s; %d requests measured, 0 unanswered when the load stopped", round(v), user, d, n)
	}
	return live("rto", true, v, "s", timeBound(d), "longest wait for an answer %s (%s) <= bound %s; %d requests measured, 0 unanswered when the load stopped", round(v), user, bounds.Round(d.Total()), n)
}

// errorRate is check.ErrorRate's result for bad of total requests.
func errorRate(bad, total, critical int) check.Result {
	const p0, alpha = 0.05, 1e-4
	b := &check.Bound{Limit: p0, Unit: "ratio", Text: fmt.Sprintf("%.1f%% per request: fails at >= %d of %d (one-sided binomial test, false-alarm probability %g)", 100*p0, critical, total, alpha)}
	r := float64(bad) / float64(total)
	return live("client-error-rate", bad < critical, r, "ratio", b, "%d/%d requests unavailable (%.1f%%): below the critical count %d", bad, total, 100*r, critical)
}

func noTrafficAfterDown(region string) check.Result {
	return live("no-traffic-after-down("+region+")", true, 0, "count", timeBound(sampleInFlight),
		"no operation that started more than %s after %s left rotation reached it", bounds.Round(sampleInFlight.Total()), region)
}

// lossChecks are the safety checks of a row that reads every session back.
func lossChecks(acked int) []check.Result {
	return []check.Result{
		safe("no-acked-message-lost", true, 0, "count", nil, "every acknowledged message present or evicted by the bound (0 evicted, judged by stored version); 0 sessions not read back"),
		safe("versions-monotonic", true, 0, "count", nil, "24 sessions, versions never went backwards"),
		safe("rpo", true, 0, "s", &check.Bound{Limit: 0, Unit: "s", Text: fmt.Sprintf("%s (checkpoint policy: %s)", sampleRPO.Window, sampleRPO.Messages)},
			"0 acknowledged messages lost, spanning 0.000s of conversation; bound %s", sampleRPO.Window),
		safe("ack-implies-durable", true, 0, "count", nil, "all %d acknowledged messages were in the global store before the reply", acked),
	}
}

// health is the harness's measurement of its own timing during a spec.
func health(lag, at float64, samples int, lbLag float64, rounds int) *check.Health {
	h := check.Health{Slack: sampleHarness.Slack.Seconds(), HarnessLag: lag, HarnessLagAt: at, Samples: samples, LBLag: lbLag, LBRounds: rounds}
	h.Assess()
	return &h
}

// conclude does what the harness does once a spec's checks are in: judge
// them against its health, and take the figures, their bounds and their
// real-time projection from the checks.
func conclude(s *Spec) {
	h := check.Health{Slack: sampleHarness.Slack.Seconds()}
	if s.Health != nil {
		h = *s.Health
	}
	v, why := check.Judge(s.Checks, h)
	s.Verdict, s.Failure = Verdict(v), why
	if s.PlanRow() == 0 {
		return
	}
	s.FiguresFromChecks(sampleCompression)
}

func totals(s *Spec) {
	for _, p := range s.Timeline {
		s.Observed.Requests += p.OK + p.Errors
		s.Observed.ClientErrors += p.Errors
	}
}

func sample(kind sampleKind) *Record {
	rng := rand.New(rand.NewPCG(42, 7))
	all := [3]bool{true, true, true}
	noA := [3]bool{false, true, true}
	onlyC := [3]bool{false, false, true}
	const dur = 14.0
	const (
		a, b, c = "us-east-1", "eu-west-1", "ap-southeast-1"
		user    = "user u-07, message m-0007-033, 2 attempts"
	)
	kept := func() *check.Health { return health(0.006, 7.2, 312, 0.004, 46) }

	specs := []Spec{
		{
			Name: "Region A unresponsive: LB redirects to B", Labels: []string{"plan-1"}, Row: 1,
			Expected: Plan[0].Expected, DurationSeconds: 16.2,
			Faults: []Fault{{Name: "us-east-1 paused (SIGSTOP)", Start: 3, End: 9}},
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
			Health: kept(),
			Checks: append([]check.Result{
				seen("traffic-before-fault("+a+")", true, 58, "%s acknowledged 58 messages before the fault (want >= 20)", a),
				seen("requests-in-flight-at-fault("+a+")", true, 3, "3 requests to %s were in flight when it was paused", a),
				detection(a, 1.05, sampleDetect),
				live("every-session-continues", true, 0, "count", nil, "all 24 users continued"),
				rto(1.3, sampleRTO, user, 341),
				errorRate(0, 212, 22),
			}, lossChecks(412)...),
		},
		{
			Name: "Region A returns 503: marked degraded", Labels: []string{"plan-2"}, Row: 2,
			Expected: Plan[1].Expected, DurationSeconds: 15.1,
			Faults: []Fault{{Name: "us-east-1 answers 503", Start: 3, End: 9}},
			Events: []Event{{Name: "us-east-1 degraded", At: 3.95}, {Name: "us-east-1 active", At: 9.6}},
			Timeline: timeline(rng, dur, func(t float64) ([3]float64, float64) {
				switch {
				case between(t, 3, 3.95):
					return share(noA), 0.6 // retries on the next region hide most 503s
				case between(t, 3.95, 9.6):
					return share(noA), 0
				}
				return share(all), 0
			}),
			Health: health(0.008, 3.1, 301, 0.005, 44),
			Checks: append([]check.Result{
				seen("traffic-before-fault("+a+")", true, 61, "%s acknowledged 61 messages before the fault (want >= 20)", a),
				seen("region-answered-503("+a+")", true, 9, "the LB sent 9 tries to %s while it answered 503, before it left rotation", a),
				detection(a, 0.95, sampleDetect),
				noTrafficAfterDown(a),
				rto(0.4, sampleRTO, user, 318),
				errorRate(1, 230, 23),
			}, lossChecks(398)...),
		},
		{
			Name: "Region A half up: 50 % of requests fail", Labels: []string{"plan-3"}, Row: 3,
			Expected: Plan[2].Expected, DurationSeconds: 15.4,
			Faults: []Fault{{Name: "us-east-1 fails 50 %", Start: 3, End: 9}},
			Events: []Event{{Name: "us-east-1 ejected (outlier)", At: 3.6}, {Name: "us-east-1 degraded", At: 4.1}, {Name: "us-east-1 active", At: 9.7}},
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
			Health: health(0.007, 5.4, 305, 0.004, 45),
			Checks: append([]check.Result{
				seen("region-took-traffic-while-failing("+a+")", true, 14, "the LB sent 14 tries to %s while half its answers were 503", a),
				detection(a, 1.1, sampleDetect3),
				errorRate(4, 226, 23),
				rto(0.5, sampleRTO3, user, 322),
			}, lossChecks(405)...),
		},
		{
			Name: "Network partition: last-write-wins on restore", Labels: []string{"plan-4"}, Row: 4,
			Expected: Plan[3].Expected, DurationSeconds: 17.8,
			Faults: []Fault{{Name: "us-east-1 cut from store and peers", Start: 3, End: 8}},
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
			Health: health(0.009, 8.1, 350, 0.006, 52),
			Checks: []check.Result{
				seen("traffic-before-fault("+a+")", true, 57, "%s acknowledged 57 messages before the fault (want >= 20)", a),
				seen("split-brain-formed", true, 2, "2 sessions were written on both sides of the partition (want >= 1)"),
				detection(a, 1.15, sampleDetect),
				rto(1.4, sampleRTO, user, 377),
				safe("versions-monotonic", true, 0, "count", nil, "24 sessions, versions never went backwards"),
				safe("rpo", true, 0.35, "s", nil, "2 acknowledged messages (0.350s of conversation) lost; the checkpoint policy sets no bound (last-write-wins keeps the last writer's conversation: concurrent acknowledged messages are overwritten, and each must be reported)"),
				safe("no-silent-overwrite", true, 0, "count", nil, "2 acknowledged messages lost, every one reported by id as overwritten (2 overwrite reports); strategy last-write-wins"),
			},
		},
		{
			Name: "Both A and B down: C serves everyone, then 503 page", Labels: []string{"plan-5"}, Row: 5,
			Expected: Plan[4].Expected, DurationSeconds: 18.6,
			Observed: Observed{Alerts: 1},
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
			Health: health(0.011, 7.4, 371, 0.007, 58),
			Checks: []check.Result{
				detection(a, 1.0, sampleDetect),
				detection(b, 1.02, sampleDetect),
				noTrafficAfterDown(a),
				noTrafficAfterDown(b),
				live("served-only-by("+c+")", true, 0, "count", nil, "0 of 164 operations that started after the others left rotation were served by a region other than %s", c),
				live("every-session-continues", true, 0, "count", nil, "all 24 users continued"),
				live("status-page-when-all-down", true, 0, "", nil, "503 NO_HEALTHY_REGION as JSON and the HTML status page for Accept: text/html"),
				live("alert-received(NoHealthyRegion)", true, 0.9, "s", timeBound(sampleDetect), "the first NoHealthyRegion alert arrived 900ms after the condition began"),
				seen("alert-storm-watched", true, 12, "watched 12 LB health rounds with every region down after the alert (want 10)"),
				safe("alert-once(NoHealthyRegion)", true, 1, "count", nil, "1 firing NoHealthyRegion alert for the incident over 12 LB health rounds"),
			},
		},
		{
			Name: "Quick restart: cache warmed from peers", Labels: []string{"plan-6"}, Row: 6,
			Expected: Plan[5].Expected, DurationSeconds: 14.9,
			Faults: []Fault{{Name: "us-east-1 killed, cold Redis", Start: 3, End: 5}},
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
			Health: health(0.005, 4.0, 298, 0.004, 43),
			Checks: []check.Result{
				seen("traffic-before-fault("+a+")", true, 55, "%s acknowledged 55 messages before the fault (want >= 20)", a),
				seen("peers-cached-answers("+b+")", true, 12, "%s answered all 12 warm-up prompts from its cache", b),
				detection(a, 0.9, sampleDetect),
				rto(1.0, sampleRTO, user, 305),
				live("replicator-receives-entries("+a+")", true, 184, "count", nil, "%s pulled 184 cache entries from its peers after the cold restart", a),
				seen("entries-fresh-at-pull("+a+")", true, 171, "171 of the pulled entries were younger than cache.staleness when pulled"),
				live("warm-before-serving("+a+")", true, 1, "ratio", nil, "12/12 of the first requests %s served after its cold restart, sent the moment it answered again, were cache hits; 12 entries were fresh when it restarted, each must hit", a),
			},
		},
		{
			Name: "Long outage beyond TTL: sessions expire", Labels: []string{"plan-7"}, Row: 7,
			Expected: Plan[6].Expected, DurationSeconds: 19.3,
			Faults: []Fault{{Name: "us-east-1 down > session TTL", Start: 2, End: 10}},
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
			Health: health(0.010, 9.8, 402, 0.006, 61),
			Checks: []check.Result{
				seen("sessions-before-outage", true, 24, "24 returning users had sessions before the outage"),
				detection(a, 1.0, sampleDetect),
				seen("outage-outlasts-ttl", true, 8, "outage 8s vs session TTL 6s"),
				safe("returning-users-see-session-expired", true, 24, "count", nil, "24 of 24 returning users got 410 SESSION_EXPIRED"),
				live("returning-users-reauthenticate", true, 24, "count", nil, "24 of 24 returning users re-authenticated and were served"),
			},
		},
	}
	for i := range specs {
		totals(&specs[i])
		specs[i].Attempts, specs[i].Seed = 1, 42
	}

	if kind != samplePassed {
		// Row 3 ran twice, starved both times: its liveness checks are not
		// judged, whatever they measured (detection is over its bound here).
		s := &specs[2]
		s.Health = health(0.183, 4.41, 297, 0.061, 41)
		s.Checks[1] = detection(a, 2.9, sampleDetect3)
		s.Checks[3] = rto(1.9, sampleRTO3, user, 287)
		s.Attempts, s.Seed = 2, sampleRetrySeed
		s.Artifacts = "reports/out/artifacts/plan-3"
		s.HistoryExcerpt = []string{
			`{"t":3.000,"fault":"http-gate","region":"us-east-1","fail_ratio":0.5}`,
			`{"t":4.410,"harness":"timer-late","late":0.183}`,
			`{"t":5.900,"event":"region-degraded","region":"us-east-1"}`,
		}
	}
	if kind == sampleFailed {
		s := &specs[0]
		s.Checks[4] = rto(2.6, sampleRTO, "user u-07, message m-0007-032, 3 attempts", 339)
		s.Checks[6] = safe("no-acked-message-lost", false, 1, "count", nil,
			"1 acknowledged messages lost (m-0007-031); 0 evicted by the conversation bound; 0 sessions not read back")
		s.Checks[8] = safe("rpo", false, 0.031, "s", s.Checks[8].Bound,
			"1 acknowledged messages lost, spanning 0.031s of conversation; bound %s", sampleRPO.Window)
		s.Checks[9] = safe("ack-implies-durable", false, 1, "count", nil,
			"1 of 412 acknowledged messages was not in the global store before the reply (m-0007-031: acked by us-east-1 at 3.02 s with durable=false) under checkpoint policy on-ack")
		s.Artifacts = "reports/out/artifacts/plan-1"
		s.HistoryExcerpt = []string{
			`{"t":2.981,"op":"send","session":"s-0007","message_id":"m-0007-030","outcome":"ok","region":"us-east-1","version":30}`,
			`{"t":3.020,"op":"send","session":"s-0007","message_id":"m-0007-031","outcome":"ok","region":"us-east-1","version":31,"durable":false}`,
			`{"t":3.050,"fault":"pause","region":"us-east-1"}`,
			`{"t":4.051,"event":"region-down","region":"us-east-1"}`,
			`{"t":5.610,"op":"send","session":"s-0007","message_id":"m-0007-032","outcome":"ok","region":"eu-west-1","version":31}`,
			`{"t":13.90,"op":"read","session":"s-0007","outcome":"ok","region":"eu-west-1","version":31,"missing":["m-0007-031"]}`,
		}
	}
	for i := range specs {
		conclude(&specs[i])
		if specs[i].Verdict == Passed {
			specs[i].HistoryExcerpt = nil
		}
	}

	checklist := []struct {
		name   string
		checks []check.Result
	}{
		{"at least 2 regions configured", []check.Result{
			live("regions-in-rotation", true, 3, "count", nil, "3 of 3 regions in the LB's rotation"),
			live("regions-healthy", true, 3, "count", nil, "3 regions answer /health with 200")}},
		{"global store (DynamoDB) reachable from every region", []check.Result{
			live("store-reachable", true, 3, "count", nil, "3 of 3 regions report dynamodb ok in /health")}},
		{"checkpointing in the runtime", []check.Result{
			safe("ack-implies-durable", true, 0, "count", nil, "all 40 acknowledged messages were in the global store before the reply")}},
		{"cross-region cache warming", []check.Result{
			live("replicator-receives-entries("+a+")", true, 37, "count", nil, "%s pulled 37 cache entries from its peers after the cold restart", a)}},
		{"per-region /health endpoint", []check.Result{
			live("regions-healthy", true, 3, "count", nil, "3 regions answer /health with 200")}},
		{"LB with health checks", []check.Result{
			detection(a, 0.98, sampleDetect)}},
		{"failover tested dry-run → manual → automatic", []check.Result{
			safe("dry-run", true, 0, "", nil, "dry-run plan names %s as current and would not fail over", a),
			live("manual-failover-to-"+b, true, 200, "", nil, "manual failover to %s answered 200", b),
			safe("history-records-manual", true, 2, "count", nil, "2 manual failovers in %s's history", b),
			live("history-records-automatic", true, 1.01, "s", timeBound(sampleDetect), "the automatic failover was recorded 1.01s after the fault")}},
		{"session TTL (1 h default)", []check.Result{
			safe("session-ttl", true, 6, "s", nil, "expires_at is 6s after the last activity (configured 6s, tolerance 50ms)")}},
		{"failover history on the admin API", []check.Result{
			safe("admin-requires-token", true, 401, "", nil, "history without a token answered 401")}},
		{"alert when no healthy region remains", []check.Result{
			live("alert-received(NoHealthyRegion)", true, 0.92, "s", timeBound(sampleDetect), "the first NoHealthyRegion alert arrived 920ms after the condition began"),
			safe("alert-once(NoHealthyRegion)", true, 1, "count", nil, "1 firing NoHealthyRegion alert for the incident over 10 LB health rounds")}},
	}
	for i, item := range checklist {
		s := Spec{
			Name: item.name, Labels: []string{ChecklistLabel},
			DurationSeconds: 0.2 + 0.07*float64(i), Checks: item.checks, Health: kept(),
			Attempts: 1, Seed: 42,
		}
		conclude(&s)
		specs = append(specs, s)
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
			"lb.retry":                    "enabled true, attempts 2, per try 200ms",
			"harness.slack":               sampleHarness.Slack.String(),
			"checkpoint.policy":           "on-ack",
			"conflict_strategy":           "last-write-wins",
			"session.ttl":                 "6s (real 10m)",
			"cache.staleness":             "300ms (real 30s)",
			"traffic.users":               24,
			"real.detection_bound":        sampleDetect.Format(sampleCompression),
			"real.rto_bound":              sampleRTO.Format(sampleCompression),
		},
		Specs: specs,
	}
}

// sampleRetrySeed is the seed of a second attempt of a run with seed 42, as
// the harness derives it (plan.AttemptSeed).
const sampleRetrySeed = (42*6364136223846793005+1*1442695040888963407)&(1<<31-1) + 1
