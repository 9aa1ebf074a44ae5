// Package bounds is the one place where a failover configuration becomes
// the time bounds its checks enforce. The same function serves `chaos
// validate` (real time), a time-compressed run (the scaled config) and the
// report's real-time projection, so each bound is one number everywhere.
//
// A bound is a sum of named terms. Terms that come from the configuration
// are compressed with the run (Scaled) and projected back with its time
// scale; harness allowances (scheduling slack, the simulated users' pause)
// are the same at every scale and are never projected.
package bounds

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Term is one named part of a bound.
type Term struct {
	Name   string
	D      time.Duration
	Scaled bool // a configuration duration, compressed with the run
}

// Duration is a time bound made of terms.
type Duration struct {
	Terms []Term
}

// Total is the bound a check enforces.
func (d Duration) Total() time.Duration {
	var t time.Duration
	for _, x := range d.Terms {
		t = satAdd(t, x.D)
	}
	return t
}

// Project is the bound in real time for a run compressed k times: scaled
// terms times k, allowances as they are.
func (d Duration) Project(k float64) time.Duration {
	if !(k >= 1) || math.IsInf(k, 0) {
		k = 1
	}
	var t time.Duration
	for _, x := range d.Terms {
		v := x.D
		if x.Scaled {
			v = scale(x.D, k)
		}
		t = satAdd(t, v)
	}
	return t
}

// Allowance is the part of a bound that is not configuration.
func (d Duration) Allowance() time.Duration {
	var t time.Duration
	for _, x := range d.Terms {
		if !x.Scaled {
			t = satAdd(t, x.D)
		}
	}
	return t
}

// Plus returns d with more terms.
func (d Duration) Plus(terms ...Term) Duration {
	return Duration{Terms: append(append([]Term(nil), d.Terms...), terms...)}
}

// String renders "400ms = 100ms first probe interval + 150ms ...".
func (d Duration) String() string { return d.Format(1) }

// Format renders the bound with its terms; k > 1 renders the real-time
// projection (scaled terms times k).
func (d Duration) Format(k float64) string {
	if !(k >= 1) || math.IsInf(k, 0) {
		k = 1
	}
	parts := make([]string, 0, len(d.Terms))
	for _, x := range d.Terms {
		v := x.D
		if x.Scaled {
			v = scale(x.D, k)
		}
		parts = append(parts, fmt.Sprintf("%s %s", Round(v), x.Name))
	}
	return fmt.Sprintf("%s = %s", Round(d.Project(k)), strings.Join(parts, " + "))
}

// Round keeps a duration readable: milliseconds below a minute.
func Round(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Minute:
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// Probe describes a periodic health check with thresholds (the LB's, or a
// region runtime's router).
type Probe struct {
	Interval  time.Duration
	Timeout   time.Duration
	Threshold int // consecutive failures before the verdict changes
}

// Detection is the worst case from a fault to the checker's verdict. The
// checker runs a round every Interval; a round waits for its slowest probe,
// at most Timeout; a tick that fires while a round runs starts the next one
// right after it. The fault begins just after a passing round started, so
// the first failing round starts up to one Interval later, the rounds that
// follow start max(Interval, Timeout) apart, and the last one ends a Timeout
// after it started:
//
//	Interval + (Threshold-1) × max(Interval, Timeout) + Timeout
//
// (the textbook Interval × Threshold + Timeout is short by Timeout-Interval
// per round when a probe may take longer than the interval).
func Detection(p Probe, prefix string) Duration {
	n := max(p.Threshold, 1)
	d := Duration{Terms: []Term{{Name: prefix + "interval (first failing round)", D: p.Interval, Scaled: true}}}
	if n > 1 {
		d.Terms = append(d.Terms, Term{Name: fmt.Sprintf("%d × %s round (max of interval, timeout)", n-1, strings.TrimSuffix(prefix, ".")), D: satMul(max(p.Interval, p.Timeout), n-1), Scaled: true})
	}
	d.Terms = append(d.Terms, Term{Name: prefix + "timeout (last probe)", D: p.Timeout, Scaled: true})
	return d
}

// Failback is the worst case from a heal to the checker's verdict that the
// region is back: a round already running at the heal may still fail, and
// the next starts up to max(Interval, Timeout) after it; from then on
// Threshold consecutive passing rounds, Interval apart, bring it back, the
// last one's probe answering within Timeout (a region just resumed can be
// slow to answer; a make chaos on docker returned two regions 9 ms past a
// bound that left this to the slack):
//
//	max(Interval, Timeout) + (Threshold-1) × Interval + Timeout
//
// With an ejection (the region was ejected for failing real traffic), it
// may also be kept out for the ejection's length, begun as late as ej.Late
// after the heal: a try sent into the fault just before the heal fails,
// and counts towards ejection, only when it times out.
// p.Threshold is the success threshold.
func Failback(p Probe, ej Ejection, prefix string) Duration {
	n := max(p.Threshold, 1)
	d := Duration{Terms: []Term{{Name: prefix + "round in flight at the heal (max of interval, timeout)", D: max(p.Interval, p.Timeout), Scaled: true}}}
	if n > 1 {
		d.Terms = append(d.Terms, Term{Name: fmt.Sprintf("%d × %sinterval (passing rounds to the success threshold)", n-1, prefix), D: satMul(p.Interval, n-1), Scaled: true})
	}
	d.Terms = append(d.Terms, Term{Name: prefix + "timeout (last passing probe)", D: p.Timeout, Scaled: true})
	if ej.For > 0 {
		if ej.Late > 0 {
			d.Terms = append(d.Terms, Term{Name: "lb.retry.per_try_timeout (a try sent into the fault fails, and may eject, that long after the heal)", D: ej.Late, Scaled: true})
		}
		d.Terms = append(d.Terms, Term{Name: "lb.outlier.ejection", D: ej.For, Scaled: true})
	}
	return d
}

// Ejection is an outlier ejection a failback may have to wait out: For is
// its length, Late how long after the heal it may still begin.
type Ejection struct {
	For, Late time.Duration
}

// Retry describes the LB's retry of idempotent requests.
type Retry struct {
	Enabled  bool
	Attempts int // every try, the first included
	PerTry   time.Duration
}

// tries is how many per-try timeouts one client request may spend.
func (r Retry) tries() int {
	if !r.Enabled {
		return 1
	}
	return max(r.Attempts, 1)
}

// DefaultHarness is what `chaos run` and `make chaos` add to a
// configuration's worst cases: 100 ms of scheduling slack and the
// simulated users' 40 ms resend pause.
var DefaultHarness = Harness{Slack: 100 * time.Millisecond, ClientPause: 40 * time.Millisecond}

// Harness is what a measurement adds to a configuration's worst case.
type Harness struct {
	// Slack absorbs scheduling and round trips on the machine running the
	// topology; the harness measures its own lag against it and calls a
	// liveness verdict INCONCLUSIVE when the lag used it up.
	Slack time.Duration
	// ClientPause is how long a simulated user waits before resending a
	// failed request.
	ClientPause time.Duration
}

// Measured adds the harness's allowances to a configuration bound: the
// scheduling slack always, the client's resend pause when the bound is
// about what a user waits.
func (h Harness) Measured(d Duration, user bool) Duration {
	if user && h.ClientPause > 0 {
		d = d.Plus(Term{Name: "client resend pause", D: h.ClientPause})
	}
	if h.Slack > 0 {
		d = d.Plus(Term{Name: "scheduling slack", D: h.Slack})
	}
	return d
}

// Recovery bounds how long one user can wait for a successful answer (from
// the first attempt of a request to its acknowledgement) once detection
// takes up to det: the dead region stays in rotation that long; a request
// sent just before may spend a per-try timeout on each of its tries (every
// one may meet a dead region when several are down); the next attempt is
// served by a healthy region.
func Recovery(det Duration, r Retry) Duration {
	n := r.tries()
	return det.Plus(Term{Name: fmt.Sprintf("%d × lb.retry.per_try_timeout (tries of a request in flight)", n), D: satMul(r.PerTry, n), Scaled: true})
}

// InFlight is how long after a region leaves rotation a request routed to it
// before that may still be outstanding: every try of it.
func InFlight(r Retry) Duration {
	return Duration{Terms: []Term{{Name: fmt.Sprintf("%d × lb.retry.per_try_timeout (requests already in flight)", r.tries()), D: satMul(r.PerTry, r.tries()), Scaled: true}}}
}

// Rounds bounds the time for n checker rounds and the last probe: a
// statistical detection bound, n being the rounds within which the verdict
// comes with the stated probability.
func Rounds(p Probe, n int, why string) Duration {
	return Duration{Terms: []Term{
		{Name: fmt.Sprintf("%d × lb.health round (%s)", n, why), D: satMul(max(p.Interval, p.Timeout), n), Scaled: true},
		{Name: "lb.health.timeout (last probe)", D: p.Timeout, Scaled: true},
	}}
}

// LBDetection is how long a dead region can stay in the LB's rotation, as measured.
func LBDetection(lb Probe, h Harness) Duration {
	return h.Measured(Detection(lb, "lb.health."), false)
}

// Alertmanager is what an Alertmanager between the alert's sender and
// on-call adds to the alert's bounds (zero: the sender notifies on-call
// itself). Its intervals are the topology's (topology.Spec), not the
// failover config's: a compressed run does not compress them, so their
// terms are not projected (Scaled false).
type Alertmanager struct {
	GroupWait     time.Duration // a new group's first notification waits this long
	GroupInterval time.Duration // a group's later changes (its resolution too) wait for its next flush
}

// Firing is the terms a first notification adds: group_wait.
func (a Alertmanager) Firing() []Term {
	if a.GroupWait <= 0 {
		return nil
	}
	return []Term{{Name: "alertmanager.group_wait (a new group's first notification)", D: a.GroupWait}}
}

// Resolving is the terms a resolved notification adds: group_interval.
func (a Alertmanager) Resolving() []Term {
	if a.GroupInterval <= 0 {
		return nil
	}
	return []Term{{Name: "alertmanager.group_interval (the group's next flush sends the resolution)", D: a.GroupInterval}}
}

// LBAlert is how long after the last region's failure on-call may wait for
// the LB's no-healthy-region page, as measured: the LB fires after the
// round that takes the last region out of rotation, and an Alertmanager
// holds a new group's first notification for group_wait.
func LBAlert(lb Probe, am Alertmanager, h Harness) Duration {
	return h.Measured(Detection(lb, "lb.health.").Plus(am.Firing()...), false)
}

// LBAlertResolve is how long after a region's return on-call may wait for
// the resolved notification, as measured: the LB syncs its alert after
// every health round, so one round, and an Alertmanager sends it at the
// group's next flush, up to group_interval later.
func LBAlertResolve(lb Probe, am Alertmanager, h Harness) Duration {
	d := Duration{Terms: []Term{{Name: "lb.health round (the alert syncs after each)", D: max(lb.Interval, lb.Timeout), Scaled: true}}}
	return h.Measured(d.Plus(am.Resolving()...), false)
}

// RTO is the longest a user can wait for an answer when one or more regions
// die, as measured.
func RTO(lb Probe, r Retry, h Harness) Duration {
	return h.Measured(Recovery(Detection(lb, "lb.health."), r), true)
}

// LBFailback is how long a healed region can stay out of the LB's rotation,
// as measured; lb.Threshold is the success threshold.
func LBFailback(lb Probe, ej Ejection, h Harness) Duration {
	return h.Measured(Failback(lb, ej, "lb.health."), false)
}

// RegionFailback is how long a region runtime's router can take to see a
// healed peer as active again, as measured (the router logs the change at
// the end of the round that made it).
func RegionFailback(p Probe, h Harness) Duration {
	return h.Measured(Failback(p, Ejection{}, "region_health."), false)
}

// RegionDetection is how long a region runtime's failover manager takes to
// see a peer as down, as measured.
func RegionDetection(p Probe, h Harness) Duration {
	return h.Measured(Detection(p, "region_health."), false)
}

// RPO is the acknowledged-conversation window a region failure can lose.
type RPO struct {
	Window    time.Duration // 0: nothing acknowledged is lost
	Unbounded bool
	Messages  string // in words
}

// RPOFor gives the RPO of a checkpoint policy.
func RPOFor(policy string, interval time.Duration) RPO {
	switch policy {
	case "on-ack":
		return RPO{Messages: "none: every message is checkpointed to the global store before it is acknowledged"}
	case "periodic":
		return RPO{Window: interval, Messages: "messages acknowledged in the last " + interval.String() + " before the failure"}
	case "on-mutation":
		return RPO{Unbounded: true, Messages: "unbounded between mutations: every message acknowledged since the last mutating tool call"}
	}
	return RPO{Unbounded: true, Messages: "unknown: checkpoint.policy is invalid"}
}

// scale multiplies d by k, saturating: float64(MaxInt64) rounds up to 2^63,
// which would wrap negative if converted back unchecked.
func scale(d time.Duration, k float64) time.Duration {
	p := float64(d) * k
	switch {
	case p >= math.MaxInt64:
		return math.MaxInt64
	case p <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(p)
}

func satMul(d time.Duration, n int) time.Duration {
	if d == 0 || n <= 0 {
		return 0
	}
	p := float64(d) * float64(n)
	if p >= math.MaxInt64 {
		return math.MaxInt64
	}
	return d * time.Duration(n)
}

func satAdd(a, b time.Duration) time.Duration {
	s := a + b
	if a > 0 && b > 0 && s < 0 {
		return math.MaxInt64
	}
	return s
}
