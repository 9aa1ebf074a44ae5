package config

import (
	"math"
	"reflect"
	"time"
)

// Bounds are the worst-case figures a config implies, in the config's own
// time (call Bounds on a Scaled config for compressed-time figures).
type Bounds struct {
	// WorstDetection = lb.health.interval × failure_threshold + timeout:
	// the fault starts just after a passing probe, and the region leaves
	// rotation when the last of the failing probes times out.
	WorstDetection time.Duration
	// RestoreAllowance is what RTOBound adds to detection: the time one
	// request at the new region may take, the lazy session restore from
	// the global store included. It is lb.retry.per_try_timeout when
	// retries are on (the LB gives up on the old region within one try),
	// else lb.health.timeout. Client think time is not included; checkers
	// add their own margin.
	RestoreAllowance time.Duration
	// RTOBound = WorstDetection + RestoreAllowance: the longest a session
	// should be unavailable when one region dies.
	RTOBound time.Duration
	// RuntimeDetection = region_health.interval × unhealthy_threshold +
	// timeout: when a region runtime's FailoverManager notices a peer down.
	RuntimeDetection time.Duration
	// RPOBound is the acknowledged-conversation window that can be lost:
	// checkpoint.interval for periodic, 0 for on-ack; 0 with RPOUnbounded
	// set for on-mutation.
	RPOBound     time.Duration
	RPOUnbounded bool
	// RPOMessages says which acknowledged messages can be lost, in words.
	RPOMessages string
	// SessionTTL: an outage longer than this expires sessions idle since
	// before it began (users re-authenticate).
	SessionTTL time.Duration
}

// Bounds computes the worst-case figures; arithmetic saturates instead of
// overflowing on absurd inputs.
func (c *Config) Bounds() Bounds {
	h := c.LB.Health
	b := Bounds{SessionTTL: c.Session.TTL}
	b.WorstDetection = satAdd(satMul(h.Interval, h.FailureThreshold), h.Timeout)
	b.RestoreAllowance = h.Timeout
	if c.LB.Retry.Enabled {
		b.RestoreAllowance = c.LB.Retry.PerTryTimeout
	}
	b.RTOBound = satAdd(b.WorstDetection, b.RestoreAllowance)
	rh := c.RegionHealth
	b.RuntimeDetection = satAdd(satMul(rh.Interval, rh.UnhealthyThreshold), rh.Timeout)
	switch c.Checkpoint.Policy {
	case PolicyOnAck:
		b.RPOMessages = "none: every message is checkpointed to the global store before it is acknowledged"
	case PolicyPeriodic:
		b.RPOBound = c.Checkpoint.Interval
		b.RPOMessages = "messages acknowledged in the last " + c.Checkpoint.Interval.String() + " before the failure"
	case PolicyOnMutation:
		b.RPOUnbounded = true
		b.RPOMessages = "unbounded between mutations: every message acknowledged since the last mutating tool call"
	default:
		b.RPOMessages = "unknown: checkpoint.policy is invalid"
	}
	return b
}

func satMul(d time.Duration, n int) time.Duration {
	if d == 0 || n == 0 {
		return 0
	}
	p := float64(d) * float64(n)
	if p >= math.MaxInt64 {
		return math.MaxInt64
	}
	if p <= math.MinInt64 {
		return math.MinInt64
	}
	return d * time.Duration(n)
}

func satAdd(a, b time.Duration) time.Duration {
	s := a + b
	if a > 0 && b > 0 && s < 0 {
		return math.MaxInt64
	}
	if a < 0 && b < 0 && s >= 0 {
		return math.MinInt64
	}
	return s
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
