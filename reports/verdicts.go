package reports

import (
	"strings"

	"github.com/agentops/failover-harness/harness/check"
)

// Helpers over a spec's checks, shared by the HTML and JUnit renderers.

// DetectionCheck returns the check whose bound the record's
// bounds.detection_seconds came from: a detection-time(...) check with that
// limit (and, among several, the one whose value is observed.detection_seconds),
// else the first detection-time check; nil when the spec has none.
func (s *Spec) DetectionCheck() *check.Result {
	return s.boundCheck(func(c *check.Result) bool { return strings.HasPrefix(c.Name, "detection-time(") },
		s.Bounds.DetectionSeconds, s.Observed.DetectionSeconds)
}

// RTOCheck returns the rto check whose bound the record's bounds.rto_seconds
// came from; nil when the spec has none.
func (s *Spec) RTOCheck() *check.Result {
	return s.boundCheck(func(c *check.Result) bool { return c.Name == "rto" },
		s.Bounds.RTOSeconds, s.Observed.RTOSeconds)
}

// FailbackCheck returns the failback-time check whose value and bound the
// record's failback figures came from (the slowest region's); nil when the
// spec has none.
func (s *Spec) FailbackCheck() *check.Result {
	return s.boundCheck(func(c *check.Result) bool { return strings.HasPrefix(c.Name, "failback-time(") },
		s.Bounds.FailbackSeconds, s.Observed.FailbackSeconds)
}

func (s *Spec) boundCheck(match func(*check.Result) bool, limit, value float64) *check.Result {
	var first, sameLimit *check.Result
	for i := range s.Checks {
		c := &s.Checks[i]
		if !match(c) {
			continue
		}
		if first == nil {
			first = c
		}
		if c.Bound != nil && c.Bound.Limit == limit {
			if c.Value == value {
				return c
			}
			if sameLimit == nil {
				sameLimit = c
			}
		}
	}
	if sameLimit != nil {
		return sameLimit
	}
	return first
}

// CheckVerdict is a check's verdict as judged; for a record written before
// the judge ran (no verdict), it follows check.Judge on a machine that kept
// time: ok passes, missing evidence is inconclusive, anything else fails.
func CheckVerdict(c check.Result) check.Verdict {
	switch {
	case c.Verdict != "":
		return c.Verdict
	case c.OK:
		return check.Passed
	case c.Class == check.Evidence:
		return check.Inconclusive
	}
	return check.Failed
}

// ChecksWith returns the spec's checks with verdict v, in record order.
func (s *Spec) ChecksWith(v check.Verdict) []check.Result {
	var out []check.Result
	for _, c := range s.Checks {
		if CheckVerdict(c) == v {
			out = append(out, c)
		}
	}
	return out
}

// boundHead is the enforced total of a bound text: "1.2s" of
// "1.2s = 300ms lb.health.interval ... + 100ms scheduling slack", "0s" of
// "0s (checkpoint policy: ...)". It is the check's own rendering of its
// limit, so a chip never shows another number than the one enforced.
func boundHead(text string) string {
	cut := len(text)
	for _, sep := range []string{" = ", " ("} {
		if i := strings.Index(text, sep); i > 0 && i < cut {
			cut = i
		}
	}
	return text[:cut]
}

// FiguresFromChecks fills the spec's headline figures (observed detection,
// RTO, RPO), their bounds and their real-time projection from its checks,
// so a chip can never show another number than the check enforced. k is
// the run's time scale; projection is set only when k > 1.
func (s *Spec) FiguresFromChecks(k float64) {
	var proj Projected
	for _, c := range s.Checks {
		lim, p := 0.0, 0.0
		if c.Bound != nil {
			lim, p = c.Bound.Limit, c.Bound.Projected
		}
		v := c.Value
		if v >= check.Never || v < 0 {
			v = 0 // never came: the check's own value says so
		}
		switch {
		case strings.HasPrefix(c.Name, "detection-time(") && s.Observed.DetectionSeconds == 0:
			s.Observed.DetectionSeconds = v
			s.Bounds.DetectionSeconds, proj.DetectionSeconds = lim, p
		case c.Name == "rto":
			s.Observed.RTOSeconds = v
			s.Bounds.RTOSeconds, proj.RTOSeconds = lim, p
		case strings.HasPrefix(c.Name, "failback-time(") && (v > s.Observed.FailbackSeconds || s.Bounds.FailbackSeconds == 0):
			// the slowest region's return is the row's failback
			s.Observed.FailbackSeconds = v
			s.Bounds.FailbackSeconds, proj.FailbackSeconds = lim, p
		case c.Name == "rpo":
			s.Observed.RPOSeconds = v
			proj.RPOSeconds = v * max(k, 1)
		case c.Name == "no-acked-message-lost":
			s.Observed.RPOMessages = int(v)
		}
	}
	if k > 1 {
		s.Projected = &proj
	}
}
