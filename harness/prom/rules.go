package prom

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Alert names of the generated rules.
const (
	AlertNoHealthyRegion = "NoHealthyRegion"
	AlertRegionErrors    = "RegionErrorRatioHigh"
	AlertClientErrors    = "ClientErrorRatioHigh"
	AlertWarmupRejected  = "CacheWarmupRejected"
)

// The runtime's metric names the rules read (registered in
// runtime/lb/metrics.go and runtime/server/{metrics,replmetrics}.go).
const (
	MetricRegionsInRotation = "lb_regions_in_rotation"      // LB: regions in rotation
	MetricHTTPRequests      = "http_requests_total"         // region: {route, code}
	MetricWarmupRejected    = "cache_warmup_rejected_total" // region: {reason}
	MetricLBResponses       = "lb_responses_total"          // LB: answers to clients {class}
)

// agentAPIRoutes selects the agent API's route patterns (the runtime's mux
// patterns, e.g. "POST /v1/sessions/{id}/messages"): health probes, scrapes
// and peer traffic do not dilute or inflate a region's error ratio.
const agentAPIRoutes = `[A-Z]+ /v1/.*`

// RuleOptions are the thresholds and durations of the generated rules, in
// the run's time (Scaled for a compressed run).
type RuleOptions struct {
	// For is how long no region in rotation, or a region's error ratio
	// over ErrorRatio, must hold before its alert fires.
	For time.Duration
	// Window is the range of the error ratio's rates and of the warmup
	// rejections' increase: at least two scrapes (four is safer).
	Window time.Duration
	// ErrorRatio is a region's share of agent-API answers with a 5xx code
	// above which RegionErrorRatioHigh fires, in (0, 1).
	ErrorRatio float64
	// WarmupFor is how long warmup rejections must keep increasing before
	// CacheWarmupRejected fires; 0 fires on the first one (a forged or
	// replayed peer request is worth a look at once).
	WarmupFor time.Duration
	// Interval, when set, is the evaluation interval the rules run at:
	// Window must then cover two of them.
	Interval time.Duration
}

// DefaultRuleOptions are the rules at real time for a 15s scrape interval.
func DefaultRuleOptions() RuleOptions {
	return RuleOptionsFor(15 * time.Second)
}

// RuleOptionsFor scales the rules to a scrape interval: windows and for
// durations of four intervals (1m at 15s, 1s at 250ms), a 5% error ratio.
func RuleOptionsFor(interval time.Duration) RuleOptions {
	return RuleOptions{For: 4 * interval, Window: 4 * interval, ErrorRatio: 0.05, Interval: interval}
}

// Scaled divides every duration by k (k < 1, NaN or infinite count as 1),
// as harness/config's Scaled does, to the millisecond Prometheus keeps; a
// positive duration stays at least 1ms.
func (o RuleOptions) Scaled(k float64) RuleOptions {
	if !(k >= 1) || math.IsInf(k, 0) {
		k = 1
	}
	sc := func(d time.Duration) time.Duration {
		if d <= 0 {
			return d
		}
		return max(time.Duration(float64(d)/k).Truncate(time.Millisecond), time.Millisecond)
	}
	o.For, o.Window, o.WarmupFor, o.Interval = sc(o.For), sc(o.Window), sc(o.WarmupFor), sc(o.Interval)
	return o
}

// Validate names the option that cannot work.
func (o RuleOptions) Validate() error {
	ms := func(d time.Duration) bool { return d%time.Millisecond == 0 }
	switch {
	case o.For < 0 || !ms(o.For):
		return fmt.Errorf("rules.for: %v must be >= 0 and whole milliseconds", o.For)
	case o.WarmupFor < 0 || !ms(o.WarmupFor):
		return fmt.Errorf("rules.warmup_for: %v must be >= 0 and whole milliseconds", o.WarmupFor)
	case o.Window < time.Millisecond || !ms(o.Window):
		return fmt.Errorf("rules.window: %v must be >= 1ms and whole milliseconds", o.Window)
	case o.Interval < 0:
		return fmt.Errorf("rules.interval: %v must be >= 0", o.Interval)
	case o.Interval > 0 && o.Window < 2*o.Interval:
		return fmt.Errorf("rules.window: %v must cover two evaluation intervals (%v): a rate needs two samples", o.Window, 2*o.Interval)
	case !(o.ErrorRatio > 0 && o.ErrorRatio < 1):
		return fmt.Errorf("rules.error_ratio: %v must be within (0, 1)", o.ErrorRatio)
	}
	return nil
}

// Rules is the failover alerting rules file for o.
func Rules(o RuleOptions) ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	type rule struct {
		Alert       string            `yaml:"alert"`
		Expr        string            `yaml:"expr"`
		For         string            `yaml:"for,omitempty"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	type group struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	}
	forOf := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return promDuration(d)
	}
	w := promDuration(o.Window)
	ratio := strconv.FormatFloat(o.ErrorRatio, 'g', -1, 64)
	api := fmt.Sprintf(`route=~%q`, agentAPIRoutes)
	rules := []rule{
		{
			Alert:  AlertNoHealthyRegion,
			Expr:   fmt.Sprintf("max(%s) == 0", MetricRegionsInRotation),
			For:    forOf(o.For),
			Labels: map[string]string{"severity": "page"},
			Annotations: map[string]string{
				"summary": "The global LB has no region in rotation: every user gets 503 NO_HEALTHY_REGION.",
			},
		},
		{
			Alert: AlertRegionErrors,
			Expr: fmt.Sprintf("sum by (region) (rate(%s{%s,code=~\"5..\"}[%s]))\n  /\nsum by (region) (rate(%s{%s}[%s]))\n  > %s",
				MetricHTTPRequests, api, w, MetricHTTPRequests, api, w, ratio),
			For:    forOf(o.For),
			Labels: map[string]string{"severity": "warning"},
			Annotations: map[string]string{
				"summary": fmt.Sprintf("Region {{ $labels.region }} answers more than %s of agent-API requests with a 5xx.", ratio),
			},
		},
		{
			// What users see, whatever failed in front of a region (an
			// injected 503 never reaches the runtime's own counters).
			Alert: AlertClientErrors,
			Expr: fmt.Sprintf("sum(rate(%s{class=\"5xx\"}[%s]))\n  /\nsum(rate(%s[%s]))\n  > %s",
				MetricLBResponses, w, MetricLBResponses, w, ratio),
			For:    forOf(o.For),
			Labels: map[string]string{"severity": "page"},
			Annotations: map[string]string{
				"summary": fmt.Sprintf("More than %s of the answers clients get from the global LB are 5xx.", ratio),
			},
		},
		{
			Alert:  AlertWarmupRejected,
			Expr:   fmt.Sprintf("sum by (region, reason) (increase(%s[%s])) > 0", MetricWarmupRejected, w),
			For:    forOf(o.WarmupFor),
			Labels: map[string]string{"severity": "warning"},
			Annotations: map[string]string{
				"summary": "Region {{ $labels.region }} refused peer cache warmups ({{ $labels.reason }}).",
			},
		},
	}
	return marshal(struct {
		Groups []group `yaml:"groups"`
	}{[]group{{Name: "failover", Rules: rules}}})
}
