package config

import (
	"fmt"
	"io"
	"strings"

	"github.com/agentops/failover-harness/harness/bounds"
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
	h := bounds.DefaultHarness
	fmt.Fprintf(w, "\nbounds (worst case, real time; `chaos run` enforces these, compressed, and projects them back):\n")
	fmt.Fprintf(w, "  detection:    %s\n", h.Measured(b.Detection, false))
	fmt.Fprintf(w, "                a dead region leaves the LB's rotation within this (the slack is the harness's allowance, not configuration)\n")
	fmt.Fprintf(w, "  failback:     %s\n", h.Measured(b.Failback, false))
	fmt.Fprintf(w, "                a healed region is back in the LB's rotation within this (plus lb.outlier.ejection %s and lb.retry.per_try_timeout %s when it was ejected)\n", c.LB.Outlier.Ejection, c.LB.Retry.PerTryTimeout)
	fmt.Fprintf(w, "  RTO:          %s\n", h.Measured(b.RTO, true))
	fmt.Fprintf(w, "                the longest a user waits for an answer; without the harness's allowances: %s\n", bounds.Round(b.RTOBound()))
	switch {
	case b.RPO.Unbounded:
		fmt.Fprintf(w, "  RPO:          unbounded; lost on failover: %s\n", b.RPO.Messages)
	default:
		fmt.Fprintf(w, "  RPO:          %s of acknowledged conversation; lost on failover: %s\n", b.RPO.Window, b.RPO.Messages)
	}
	fmt.Fprintf(w, "  session TTL:  %s; an outage longer than that expires idle sessions (users get 410 SESSION_EXPIRED and re-authenticate)\n", b.SessionTTL)
	fmt.Fprintf(w, "  peer detection (region runtimes): %s\n", h.Measured(b.RuntimeDetection, false))
	fmt.Fprintf(w, "  peer failback (region runtimes):  %s\n", h.Measured(b.RuntimeFailback, false))
	fmt.Fprintf(w, "  time compression for `chaos run`: up to %.0fx (LB interval %s runs as %s); lower when this machine cannot honour the shortest timeout compressed that far\n",
		DefaultTimeScale(c), c.LB.Health.Interval, c.Scaled(DefaultTimeScale(c)).LB.Health.Interval)
	fmt.Fprintf(w, "\nOK: %d warning(s)\n", len(warns))
}
