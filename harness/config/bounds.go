package config

import (
	"math"
	"reflect"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
)

// Bounds are the worst-case figures a config implies, in the config's own
// time (call Bounds on a Scaled config for compressed-time figures). They
// come from harness/bounds, the functions a run's checks use, so `chaos
// validate`, the checks and the report's projection show one number.
type Bounds struct {
	// Detection: how long a dead region can stay in the LB's rotation
	// (lb.health: interval + (threshold-1) × max(interval, timeout) + timeout).
	Detection bounds.Duration
	// RTO: the longest a user may wait for an answer: detection plus a
	// per-try timeout for each try of a request in flight.
	RTO bounds.Duration
	// RuntimeDetection: when a region runtime's failover manager sees a peer down.
	RuntimeDetection bounds.Duration
	// Failback: how long a healed region can stay out of the LB's rotation
	// (max(interval, timeout) + (success_threshold-1) × interval); an
	// ejection may add lb.outlier.ejection, begun up to one
	// lb.retry.per_try_timeout after the heal.
	Failback bounds.Duration
	// RuntimeFailback: when every region runtime's router sees a healed
	// peer active again (region_health, the same terms).
	RuntimeFailback bounds.Duration
	// RPO: the acknowledged-conversation window a region failure can lose.
	RPO bounds.RPO
	// SessionTTL: an outage longer than this expires sessions idle since
	// before it began (users re-authenticate).
	SessionTTL time.Duration
}

// WorstDetection is Detection's total.
func (b Bounds) WorstDetection() time.Duration { return b.Detection.Total() }

// RTOBound is RTO's total.
func (b Bounds) RTOBound() time.Duration { return b.RTO.Total() }

// Bounds computes the worst-case figures; arithmetic saturates instead of
// overflowing on absurd inputs.
func (c *Config) Bounds() Bounds {
	lb := c.LBProbe()
	return Bounds{
		Detection:        bounds.Detection(lb, "lb.health."),
		RTO:              bounds.Recovery(bounds.Detection(lb, "lb.health."), c.RetryBound()),
		RuntimeDetection: bounds.Detection(bounds.Probe{Interval: c.RegionHealth.Interval, Timeout: c.RegionHealth.Timeout, Threshold: c.RegionHealth.UnhealthyThreshold}, "region_health."),
		Failback:         bounds.Failback(bounds.Probe{Interval: c.LB.Health.Interval, Timeout: c.LB.Health.Timeout, Threshold: c.LB.Health.SuccessThreshold}, bounds.Ejection{}, "lb.health."),
		RuntimeFailback:  bounds.Failback(bounds.Probe{Interval: c.RegionHealth.Interval, Timeout: c.RegionHealth.Timeout, Threshold: c.RegionHealth.HealthyThreshold}, bounds.Ejection{}, "region_health."),
		RPO:              bounds.RPOFor(c.Checkpoint.Policy, c.Checkpoint.Interval),
		SessionTTL:       c.Session.TTL,
	}
}

// LBProbe is the LB's health check as the bound functions take it.
func (c *Config) LBProbe() bounds.Probe {
	h := c.LB.Health
	return bounds.Probe{Interval: h.Interval, Timeout: h.Timeout, Threshold: h.FailureThreshold}
}

// RetryBound is the LB's retry as the bound functions take it.
func (c *Config) RetryBound() bounds.Retry {
	r := c.LB.Retry
	return bounds.Retry{Enabled: r.Enabled, Attempts: r.Attempts, PerTry: r.PerTryTimeout}
}

// Scaled returns a deep copy of c with every duration divided by k, for
// time-compressed runs (a 30s health interval at k=100 runs as 300ms).
// k below 1, NaN or infinite is treated as 1: runs are never slowed down.
// A positive duration never scales to 0 (it becomes at least 1ns).
func (c *Config) Scaled(k float64) *Config {
	if !(k >= 1) || math.IsInf(k, 0) {
		k = 1
	}
	out := *c
	out.Regions = append([]Region(nil), c.Regions...)
	// Objectives are real time whatever the run's compression (a run's
	// figures are projected back to them): copied, never scaled (the walk
	// below does not follow pointers).
	out.Objectives = c.Objectives.clone()
	scaleDurations(reflect.ValueOf(&out).Elem(), k)
	return &out
}

// scaleDurations walks structs by reflection so durations added later are
// scaled without touching this function.
func scaleDurations(v reflect.Value, k float64) {
	switch {
	case v.Type() == durationType:
		d := v.Int()
		s := int64(float64(d) / k)
		if d > 0 && s == 0 {
			s = 1
		}
		v.SetInt(s)
	case v.Kind() == reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				scaleDurations(v.Field(i), k)
			}
		}
	case v.Kind() == reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			scaleDurations(v.Index(i), k)
		}
	}
}

// ScaleRule decides the time compression of a run.
type ScaleRule struct {
	// TargetLBInterval is what lb.health.interval should become.
	TargetLBInterval time.Duration
	// MaxScaledTTL: compress further if the session TTL would otherwise be
	// longer than this (the long-outage row must outlast the TTL).
	MaxScaledTTL time.Duration
	// MinScaledTimeout: never compress so far that the shortest probe or
	// request timeout drops below this; on a loaded machine tighter
	// timeouts fire spuriously. Wins over MaxScaledTTL.
	MinScaledTimeout time.Duration
}

// DefaultScaleRule makes the 7-row plan run in about a minute: the LB
// probes every ~150ms, the TTL row outage is ≤ 30s, and no timeout is
// under 25ms.
var DefaultScaleRule = ScaleRule{
	TargetLBInterval: 150 * time.Millisecond,
	MaxScaledTTL:     30 * time.Second,
	MinScaledTimeout: 25 * time.Millisecond,
}

// DefaultTimeScale is TimeScaleFor(c, DefaultScaleRule). For the article's
// production settings (30s interval, 4s timeout, 1h TTL) it gives 160; for
// the recommended ones (10s, 3s, 1h) 120.
func DefaultTimeScale(c *Config) float64 { return TimeScaleFor(c, DefaultScaleRule) }

// TimeScaleFor applies r to c:
//
//	k = lb.health.interval / TargetLBInterval
//	k = max(k, session.ttl / MaxScaledTTL)
//	k = min(k, shortest positive timeout / MinScaledTimeout)
//	k = max(k, 1)
//
// The timeouts considered are lb.health.timeout, region_health.timeout and,
// when retries are on, lb.retry.per_try_timeout. Rule fields ≤ 0 are skipped.
func TimeScaleFor(c *Config, r ScaleRule) float64 {
	k := 1.0
	if r.TargetLBInterval > 0 && c.LB.Health.Interval > 0 {
		k = float64(c.LB.Health.Interval) / float64(r.TargetLBInterval)
	}
	if r.MaxScaledTTL > 0 && c.Session.TTL > 0 {
		k = math.Max(k, float64(c.Session.TTL)/float64(r.MaxScaledTTL))
	}
	if r.MinScaledTimeout > 0 {
		timeouts := []time.Duration{c.LB.Health.Timeout, c.RegionHealth.Timeout}
		if c.LB.Retry.Enabled {
			timeouts = append(timeouts, c.LB.Retry.PerTryTimeout)
		}
		for _, t := range timeouts {
			if t > 0 {
				k = math.Min(k, float64(t)/float64(r.MinScaledTimeout))
			}
		}
	}
	return math.Max(k, 1)
}
