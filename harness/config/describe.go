package config

import (
	"fmt"
	"io"
	"strings"
)

// Describe writes the human output of `chaos validate`: the regions, the
// issues (errors, then warnings), then the bounds in SRE terms. Bounds are
// omitted while there are errors, since they would be computed from values
// that cannot run. c may be nil (file not parsed).
func Describe(w io.Writer, c *Config, issues []Issue) {
	var errs, warns []Issue
	for _, i := range issues {
		if i.Severity == SeverityError {
			errs = append(errs, i)
		} else {
			warns = append(warns, i)
		}
	}
	if c != nil && len(c.Regions) > 0 {
		parts := make([]string, len(c.Regions))
		for i, r := range c.Regions {
			parts[i] = fmt.Sprintf("%s (weight %d, priority %d)", r.Name, r.Weight, r.Priority)
		}
		fmt.Fprintf(w, "regions: %s\n", strings.Join(parts, ", "))
	}
	list := func(title string, is []Issue) {
		if len(is) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s (%d):\n", title, len(is))
		for _, i := range is {
			fmt.Fprintf(w, "  %s\n", i)
		}
	}
	list("errors", errs)
	list("warnings", warns)
	if c == nil {
		return
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "\nINVALID: %d error(s), %d warning(s); bounds not computed until the errors are fixed\n", len(errs), len(warns))
		return
	}
	b := c.Bounds()
	h := c.LB.Health
	fmt.Fprintf(w, "\nbounds (worst case, real time):\n")
	fmt.Fprintf(w, "  detection:    up to %s before a dead region leaves LB rotation (%s interval × %d failures + %s timeout)\n",
		b.WorstDetection, h.Interval, h.FailureThreshold, h.Timeout)
	fmt.Fprintf(w, "  RTO:          up to %s per session (detection + %s for the first request at the new region, lazy restore included)\n",
		b.RTOBound, b.RestoreAllowance)
	switch {
	case b.RPOUnbounded:
		fmt.Fprintf(w, "  RPO:          unbounded; lost on failover: %s\n", b.RPOMessages)
	default:
		fmt.Fprintf(w, "  RPO:          %s of acknowledged conversation; lost on failover: %s\n", b.RPOBound, b.RPOMessages)
	}
	fmt.Fprintf(w, "  session TTL:  %s; an outage longer than that expires idle sessions (users get 410 SESSION_EXPIRED and re-authenticate)\n", b.SessionTTL)
	fmt.Fprintf(w, "  peer detection (region runtimes): up to %s\n", b.RuntimeDetection)
	fmt.Fprintf(w, "  time compression for `chaos run`: %.0fx by default (LB interval %s runs as %s)\n",
		DefaultTimeScale(c), h.Interval, c.Scaled(DefaultTimeScale(c)).LB.Health.Interval)
	fmt.Fprintf(w, "\nOK: %d warning(s)\n", len(warns))
}
