// Package check holds pure checkers over a recorded history (plus final
// conversations, LB transitions and alerts) and the rule that turns their
// results into a verdict. None talks to the system under test.
//
// Every result has a class. Safety results (acknowledged loss, version
// regression, silent overwrite, alert storm) are judged strictly. Liveness
// results (detection, RTO, error rates, cache hits, traffic shape) depend on
// the machine keeping time: when the harness measured that it was starved
// they are INCONCLUSIVE, never FAILED and never PASSED. Evidence results say
// whether the scenario's dangerous situation happened at all; without it a
// spec tested nothing and is INCONCLUSIVE.
package check

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
)

// Class says how a result is judged.
type Class string

// Classes.
const (
	Safety   Class = "safety"
	Liveness Class = "liveness"
	Evidence Class = "evidence"
)

// Verdict of one result or of a whole spec.
type Verdict string

// Verdicts.
const (
	Passed       Verdict = "passed"
	Failed       Verdict = "failed"
	Inconclusive Verdict = "inconclusive"
	// Skipped: the row needs something the topology cannot do (an external
	// target without the hook, link or setting); it judged nothing.
	Skipped Verdict = "skipped"
)

// Result is one checker's outcome. Value is the measured figure, in Unit.
type Result struct {
	Name    string  `json:"name"`
	Class   Class   `json:"class"`
	OK      bool    `json:"ok"`
	Verdict Verdict `json:"verdict,omitempty"` // set by Judge
	Value   float64 `json:"value"`
	Unit    string  `json:"unit,omitempty"` // s, ratio, count
	Bound   *Bound  `json:"bound,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	// Artifact names a file the check wrote among the spec's artifacts (a
	// linearizability visualization), linked from the report.
	Artifact string `json:"artifact,omitempty"`
}

// Bound is the limit a result was held to, as enforced and as shown.
type Bound struct {
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit"`
	Text  string  `json:"text"` // how the limit is made ("0.400s = ...")
	// Projected is the limit in real time when the run was time-compressed.
	Projected     float64 `json:"projected,omitempty"`
	ProjectedText string  `json:"projected_text,omitempty"`

	d *bounds.Duration
}

// TimeBound is the report form of a time bound.
func TimeBound(d bounds.Duration) *Bound {
	return &Bound{Limit: d.Total().Seconds(), Unit: "s", Text: d.String(), d: &d}
}

// Project fills the real-time projection of a time bound for a run
// compressed k times; other bounds are left alone.
func (b *Bound) Project(k float64) {
	if b == nil || b.d == nil || k <= 1 {
		return
	}
	b.Projected = b.d.Project(k).Seconds()
	b.ProjectedText = b.d.Format(k)
}

// Duration returns the time bound behind b, if it is one.
func (b *Bound) Duration() (bounds.Duration, bool) {
	if b == nil || b.d == nil {
		return bounds.Duration{}, false
	}
	return *b.d, true
}

// Never is the value of a time that never came (a region never detected):
// the largest finite float, so the record stays valid JSON.
const Never = math.MaxFloat64

func result(name string, class Class, ok bool, v float64, unit string, b *Bound, format string, args ...any) Result {
	if math.IsInf(v, 1) {
		v = Never
	} else if math.IsInf(v, -1) || math.IsNaN(v) {
		v = -1
	}
	return Result{Name: name, Class: class, OK: ok, Value: v, Unit: unit, Bound: b, Reason: fmt.Sprintf(format, args...)}
}

// Safe, Live and Seen build results of each class for checks written inline
// by a scenario.
func Safe(name string, ok bool, v float64, format string, args ...any) Result {
	return result(name, Safety, ok, v, "", nil, format, args...)
}

// Live builds a liveness result.
func Live(name string, ok bool, v float64, format string, args ...any) Result {
	return result(name, Liveness, ok, v, "", nil, format, args...)
}

// Seen builds an evidence result: did the scenario's situation happen?
func Seen(name string, ok bool, v float64, format string, args ...any) Result {
	return result(name, Evidence, ok, v, "", nil, format, args...)
}

// Health is the harness's measurement of its own timing while a spec ran:
// how late its own timers and the LB's health rounds fired, against the
// scheduling slack the liveness bounds include. Seconds throughout.
type Health struct {
	Slack        float64 `json:"slack_seconds"`
	HarnessLag   float64 `json:"harness_lag_seconds"` // worst lateness of the harness's timers
	HarnessLagAt float64 `json:"harness_lag_at"`      // seconds since the spec started
	Samples      int     `json:"samples"`
	LBLag        float64 `json:"lb_lag_seconds"` // worst lateness of an LB health round
	LBLagAt      float64 `json:"lb_lag_at"`      // seconds since the spec started
	LBRounds     int     `json:"lb_rounds"`
	// LBStall is how much of the window the LB's health loop ran no round
	// it should have run (a loop stalled now has no late round to show).
	LBStall float64 `json:"lb_stall_seconds,omitempty"`
	// RegionLag is the worst lateness of a round of a region runtime's
	// health loop (its failover manager), in RegionLagIn.
	RegionLag    float64 `json:"region_lag_seconds"`
	RegionLagAt  float64 `json:"region_lag_at"`
	RegionLagIn  string  `json:"region_lag_in,omitempty"`
	RegionRounds int     `json:"region_rounds"`
	Starved      bool    `json:"starved"`
	Reason       string  `json:"reason"`
}

// Assess decides whether the machine kept time. The slack must absorb the
// measured lateness of the harness and the LB plus what is not measured
// (timeouts firing late inside probes, round trips), so half of it is the
// most the measured part may take.
func (h *Health) Assess() {
	// The harness's timers and one process's loop are in series on a
	// measured path; the LB's and the regions' loops are alternatives.
	used := h.HarnessLag + max(h.LBLag, h.LBStall, h.RegionLag)
	h.Starved = used > h.Slack/2
	state := "kept time"
	if h.Starved {
		state = "was starved"
	}
	sec := func(v float64) time.Duration { return bounds.Round(time.Duration(v * float64(time.Second))) }
	stall := ""
	if h.LBStall > 0 {
		stall = fmt.Sprintf(", its loop %s behind schedule", sec(h.LBStall))
	}
	region := ""
	if h.RegionRounds > 0 {
		region = fmt.Sprintf(", region health rounds up to %s late (%s at +%.2fs, %d rounds)", sec(h.RegionLag), h.RegionLagIn, h.RegionLagAt, h.RegionRounds)
	}
	h.Reason = fmt.Sprintf("machine %s: harness timers up to %s late (at +%.2fs, %d samples), LB health rounds up to %s late (at +%.2fs, %d rounds%s)%s; at most %s of the %s scheduling slack may go to measured lateness",
		state, sec(h.HarnessLag), h.HarnessLagAt, h.Samples, sec(h.LBLag), h.LBLagAt, h.LBRounds, stall, region, sec(h.Slack/2), sec(h.Slack))
}

// Judge sets each result's verdict and returns the spec's verdict and why.
// A failed safety result fails the spec whatever else happened; a failed
// liveness result fails it only when the machine kept time; missing
// evidence makes an otherwise clean spec inconclusive.
func Judge(results []Result, h Health) (Verdict, string) {
	var failed, unsure []string
	starvedLive := 0
	for i := range results {
		r := &results[i]
		switch {
		case r.Class == Liveness && h.Starved:
			r.Verdict = Inconclusive
			starvedLive++
		case r.OK:
			r.Verdict = Passed
		case r.Class == Evidence:
			r.Verdict = Inconclusive
			unsure = append(unsure, r.Name+": "+r.Reason)
		default:
			r.Verdict = Failed
			failed = append(failed, r.Name+": "+r.Reason)
		}
	}
	switch {
	case len(failed) > 0:
		return Failed, strings.Join(failed, "\n")
	case starvedLive > 0:
		return Inconclusive, strings.Join(append([]string{fmt.Sprintf("%d liveness checks not judged: %s", starvedLive, h.Reason)}, unsure...), "\n")
	case len(unsure) > 0:
		return Inconclusive, "the scenario did not happen as planned: " + strings.Join(unsure, "\n")
	}
	return Passed, ""
}

// sortedKeys returns m's keys in order (stable reasons).
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
