package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
)

// Warning thresholds, in real (unscaled) time.
const (
	// SlowDetection: a worst-case LB detection longer than this is called
	// out, because every request to the dead region fails until then.
	SlowDetection = 60 * time.Second
	// MaxWeight is Route 53's largest weighted-record weight.
	MaxWeight = 255
	// MaxThreshold is Route 53's largest failure threshold.
	MaxThreshold = 10
)

var continentRe = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Validate checks c and returns its issues (errors and warnings), with YAML
// lines when c came from Parse. Parse already calls it; call it again after
// changing a config in code (e.g. flag overrides).
func (c *Config) Validate() []Issue { return c.ValidateWith(Options{}) }

// ValidateWith is Validate with o: under o.Strict, Route 53's limits on the
// LB health check are errors (see Options).
func (c *Config) ValidateWith(o Options) []Issue {
	v := validator{c: c, strict: o.Strict}
	v.regions()
	v.lb()
	v.checkpoint()
	v.session()
	v.conflict()
	v.cache()
	v.alert()
	v.regionHealth()
	v.objectives()
	v.probes()
	v.crossField()
	if !HasErrors(v.issues) { // the file's own errors first; the binaries' would echo them
		v.runtime()
	}
	sortIssues(v.issues)
	return v.issues
}

type validator struct {
	c      *Config
	strict bool
	issues []Issue
}

func (v *validator) add(sev, path, format string, args ...any) {
	v.issues = append(v.issues, Issue{Path: path, Line: v.c.Line(path), Msg: fmt.Sprintf(format, args...), Severity: sev})
}

func (v *validator) errf(path, format string, args ...any) {
	v.add(SeverityError, path, format, args...)
}
func (v *validator) warnf(path, format string, args ...any) {
	v.add(SeverityWarning, path, format, args...)
}

// positive reports an error unless d > 0.
func (v *validator) positive(path string, d time.Duration) bool {
	if d <= 0 {
		v.errf(path, "must be a positive duration (got %s)", d)
		return false
	}
	return true
}

// threshold reports an error unless n is within Route 53's 1..10.
func (v *validator) threshold(path string, n int) {
	if n < 1 || n > MaxThreshold {
		v.errf(path, "must be 1..%d (Route 53) (got %d)", MaxThreshold, n)
	}
}

// timeoutBelow checks a probe timeout against its interval: a probe that
// may outlive its interval overlaps the next one.
func (v *validator) timeoutBelow(tPath string, timeout, interval time.Duration) {
	if timeout > 0 && interval > 0 && timeout >= interval {
		v.errf(tPath, "must be shorter than the interval (%s >= %s)", timeout, interval)
	}
}

func (v *validator) url(path, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errf(path, "must be an absolute http(s) URL (got %q)", s)
	}
}

func (v *validator) regions() {
	rs := v.c.Regions
	switch len(rs) {
	case 0:
		v.errf("regions", "no regions: at least 2 are required for failover")
		return
	case 1:
		v.errf("regions", "only 1 region: at least 2 are required for failover")
	}
	seen := map[string]int{}
	total := 0
	for i, r := range rs {
		p := fmt.Sprintf("regions[%d]", i)
		switch name := strings.TrimSpace(r.Name); {
		case name == "":
			v.errf(p+".name", "required")
		default:
			if j, dup := seen[name]; dup {
				v.errf(p+".name", "duplicate region name %q (also regions[%d])", name, j)
			} else {
				seen[name] = i
			}
		}
		if r.Endpoint != "" {
			v.url(p+".endpoint", r.Endpoint)
		}
		if r.Weight < 0 {
			v.errf(p+".weight", "must be >= 0")
		} else if r.Weight > MaxWeight {
			v.errf(p+".weight", "must be <= %d (Route 53)", MaxWeight)
		} else {
			total += r.Weight
		}
		if r.Priority < 0 {
			v.errf(p+".priority", "must be >= 0")
		}
		if r.Continent != "" && !continentRe.MatchString(r.Continent) {
			v.errf(p+".continent", "must be a lowercase token such as na, eu, ap (got %q)", r.Continent)
		}
	}
	v.providerIgnored("endpoint", func(r Region) string { return r.Endpoint })
	v.providerIgnored("continent", func(r Region) string { return r.Continent })
	if total == 0 {
		v.errf("regions", "weights are all zero: no region would receive traffic")
		return
	}
	for i, r := range rs {
		if r.Weight == 0 && len(rs) > 1 {
			v.warnf(fmt.Sprintf("regions[%d].weight", i), "0: %s is a standby and gets no traffic while any weighted region is healthy", r.Name)
		}
	}
}

// IgnoredByProviders ends the warning on a region field that is checked
// but not used by the harness's providers (Spec leaves it out).
const IgnoredByProviders = "applies only to an external deployment; the local and docker providers ignore it"

// providerIgnored warns once per field (at the first region that sets it)
// when regions set a field the local and docker providers ignore.
func (v *validator) providerIgnored(field string, get func(Region) string) {
	first, names := -1, []string(nil)
	for i, r := range v.c.Regions {
		if get(r) == "" {
			continue
		}
		if first < 0 {
			first = i
		}
		names = append(names, fmt.Sprintf("%s=%s", r.Name, get(r)))
	}
	if first >= 0 {
		v.warnf(fmt.Sprintf("regions[%d].%s", first, field), "set on %d region(s) (%s): %s %s", len(names), strings.Join(names, ", "), field, IgnoredByProviders)
	}
}

func (v *validator) lb() {
	h := v.c.LB.Health
	okI := v.positive("lb.health.interval", h.Interval)
	okT := v.positive("lb.health.timeout", h.Timeout)
	if okI && okT {
		v.timeoutBelow("lb.health.timeout", h.Timeout, h.Interval)
	}
	if okI && h.Interval != 10*time.Second && h.Interval != 30*time.Second {
		if v.strict {
			v.errf("lb.health.interval", "Route 53 allows 10s or 30s (got %s)", h.Interval)
		} else {
			v.warnf("lb.health.interval", "%s cannot be reproduced on Route 53, which checks every 10s or 30s", h.Interval)
		}
	}
	v.threshold("lb.health.failure_threshold", h.FailureThreshold)
	v.threshold("lb.health.success_threshold", h.SuccessThreshold)
	// Compared only with a valid failure threshold, so one error is not echoed as two.
	if v.strict && h.FailureThreshold >= 1 && h.FailureThreshold <= MaxThreshold && h.SuccessThreshold != h.FailureThreshold {
		got := fmt.Sprint(h.SuccessThreshold)
		if _, set := v.c.lines["lb.health.success_threshold"]; !set && v.c.lines != nil {
			got += ", the default"
		}
		v.errf("lb.health.success_threshold", "Route 53 has no separate success threshold: it uses lb.health.failure_threshold (%d) both ways, so this must be %d (got %s)",
			h.FailureThreshold, h.FailureThreshold, got)
	}
	if h.FailureThreshold == 1 {
		v.warnf("lb.health.failure_threshold", "1: a single lost probe takes a region out of rotation (flapping)")
	}

	o := v.c.LB.Outlier
	if o.Enabled {
		if o.ConsecutiveFailures < 1 {
			v.errf("lb.outlier.consecutive_failures", "must be >= 1 when outlier ejection is enabled (got %d)", o.ConsecutiveFailures)
		}
		v.positive("lb.outlier.ejection", o.Ejection)
	} else {
		v.warnf("lb.outlier.enabled", "false: a region failing part of its requests (e.g. 50%%) stays in rotation until active health checks fail; users see those errors")
	}

	r := v.c.LB.Retry
	if r.Enabled {
		if r.Attempts < 1 {
			v.errf("lb.retry.attempts", "must be >= 1 when retries are enabled (got %d)", r.Attempts)
		} else if n := len(v.c.Regions); n > 1 && r.Attempts > n {
			v.warnf("lb.retry.attempts", "%d is more than the %d regions: extra attempts hit a region twice", r.Attempts, n)
		}
		v.positive("lb.retry.per_try_timeout", r.PerTryTimeout)
	} else {
		v.warnf("lb.retry.enabled", "false: every idempotent request in flight to a failing region errors to the client until detection completes")
	}
}

func (v *validator) checkpoint() {
	cp := v.c.Checkpoint
	switch cp.Policy {
	case PolicyOnAck:
	case PolicyPeriodic:
		if v.positive("checkpoint.interval", cp.Interval) {
			v.warnf("checkpoint.policy", "periodic checkpoints every %s can lose up to %s of acknowledged conversation on failover (on-ack loses none)", cp.Interval, cp.Interval)
		}
		return
	case PolicyOnMutation:
		v.warnf("checkpoint.policy", "on-mutation checkpoints only after mutating tool calls: acknowledged messages since the last mutation are lost on failover (unbounded window)")
	default:
		v.errf("checkpoint.policy", "must be one of %s, %s, %s (got %q)", PolicyOnAck, PolicyPeriodic, PolicyOnMutation, cp.Policy)
	}
	if cp.Interval < 0 {
		v.errf("checkpoint.interval", "must not be negative (got %s)", cp.Interval)
	}
}

func (v *validator) session() {
	v.positive("session.ttl", v.c.Session.TTL)
	if v.c.Session.MaxMessages < 1 {
		v.errf("session.max_messages", "must be >= 1 (got %d)", v.c.Session.MaxMessages)
	}
}

func (v *validator) conflict() {
	switch v.c.ConflictStrategy {
	case StrategyVersionWins, StrategyMerge:
	case StrategyLastWriteWins:
		v.warnf("conflict_strategy", "last-write-wins can silently overwrite acknowledged messages written in another region during a partition")
	default:
		v.errf("conflict_strategy", "must be one of %s, %s, %s (got %q)", StrategyVersionWins, StrategyLastWriteWins, StrategyMerge, v.c.ConflictStrategy)
	}
}

func (v *validator) cache() {
	c := v.c.Cache
	okTTL := v.positive("cache.ttl", c.TTL)
	okS := v.positive("cache.staleness", c.Staleness)
	if okTTL && okS && c.Staleness > c.TTL {
		v.warnf("cache.staleness", "%s is longer than cache.ttl %s: the staleness bound never drops anything the TTL has not already expired", c.Staleness, c.TTL)
	}
	if !c.Replicate {
		v.warnf("cache.replicate", "false: after a failover the surviving regions start with a cold cache (every request pays full model latency)")
	}
}

func (v *validator) alert() {
	a := v.c.Alert
	if a.Webhook != "" {
		v.url("alert.webhook", a.Webhook)
	}
	switch {
	case !a.Enabled:
		v.warnf("alert.enabled", "false: nobody is paged when all regions are down")
	case a.Webhook == "":
		v.warnf("alert.webhook", "empty: nobody is paged when all regions are down")
	}
}

func (v *validator) regionHealth() {
	h := v.c.RegionHealth
	okI := v.positive("region_health.interval", h.Interval)
	okT := v.positive("region_health.timeout", h.Timeout)
	if okI && okT {
		v.timeoutBelow("region_health.timeout", h.Timeout, h.Interval)
	}
	v.threshold("region_health.healthy_threshold", h.HealthyThreshold)
	v.threshold("region_health.unhealthy_threshold", h.UnhealthyThreshold)
	if h.UnhealthyThreshold == 1 {
		v.warnf("region_health.unhealthy_threshold", "1: a single lost probe marks a peer region down and can trigger a failover (flapping)")
	}
}

// crossField emits warnings that compare settings, using Bounds; only when
// the inputs they need are valid, so errors are not echoed as warnings.
func (v *validator) crossField() {
	h := v.c.LB.Health
	if h.Interval <= 0 || h.Timeout <= 0 || h.FailureThreshold < 1 || h.FailureThreshold > MaxThreshold {
		return
	}
	b := v.c.Bounds()
	if b.WorstDetection() > SlowDetection {
		v.warnf("lb.health.interval", "detection takes up to %s (%s): requests to a dead region fail for that long", bounds.Round(b.WorstDetection()), b.Detection)
	}
	if ttl := v.c.Session.TTL; ttl > 0 && ttl < b.RTOBound() {
		v.warnf("session.ttl", "%s is shorter than the RTO bound (%s): sessions can expire before the new region restores them", ttl, bounds.Round(b.RTOBound()))
	}
}
