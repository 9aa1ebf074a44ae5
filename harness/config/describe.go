package config

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
)

// Describe writes the human output of `chaos validate`: the regions, the
// issues (errors, then warnings), then the bounds in SRE terms. Bounds are
// omitted while there are errors, since they would be computed from values
// that cannot run. c may be nil (file not parsed).
func Describe(w io.Writer, c *Config, issues []Issue) { DescribeWith(w, c, issues, Options{}) }

// DescribeWith is Describe for issues found with o: under o.Strict the
// last line says that the warnings fail the file.
func DescribeWith(w io.Writer, c *Config, issues []Issue, o Options) {
	errs, warns := split(issues)
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
	strict := ""
	if o.Strict {
		strict = " (--strict: Route 53's limits are errors and every warning fails)"
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "\nINVALID: %d error(s), %d warning(s); bounds not computed until the errors are fixed%s\n", len(errs), len(warns), strict)
		return
	}
	b := describedBounds(c)
	fmt.Fprintf(w, "\nbounds (worst case, real time; `chaos run` enforces these, compressed, and projects them back):\n")
	fmt.Fprintf(w, "  detection:    %s\n", b.detection)
	fmt.Fprintf(w, "                a dead region leaves the LB's rotation within this (the slack is the harness's allowance, not configuration)\n")
	fmt.Fprintf(w, "  failback:     %s\n", b.failback)
	fmt.Fprintf(w, "                a healed region is back in the LB's rotation within this (plus lb.outlier.ejection %s and lb.retry.per_try_timeout %s when it was ejected)\n", c.LB.Outlier.Ejection, c.LB.Retry.PerTryTimeout)
	fmt.Fprintf(w, "  RTO:          %s\n", b.rto)
	fmt.Fprintf(w, "                the longest a user waits for an answer; without the harness's allowances: %s\n", bounds.Round(b.Bounds.RTOBound()))
	switch {
	case b.RPO.Unbounded:
		fmt.Fprintf(w, "  RPO:          unbounded; lost on failover: %s\n", b.RPO.Messages)
	default:
		fmt.Fprintf(w, "  RPO:          %s of acknowledged conversation; lost on failover: %s\n", b.RPO.Window, b.RPO.Messages)
	}
	fmt.Fprintf(w, "  session TTL:  %s; an outage longer than that expires idle sessions (users get 410 SESSION_EXPIRED and re-authenticate)\n", b.SessionTTL)
	fmt.Fprintf(w, "  peer detection (region runtimes): %s\n", b.peerDetection)
	fmt.Fprintf(w, "  peer failback (region runtimes):  %s\n", b.peerFailback)
	fmt.Fprintf(w, "  time compression for `chaos run`: up to %.0fx (LB interval %s runs as %s); lower when this machine cannot honour the shortest timeout compressed that far\n",
		b.scale, c.LB.Health.Interval, c.Scaled(b.scale).LB.Health.Interval)
	if bad := describeObjectives(w, c); bad > 0 {
		fmt.Fprintf(w, "\nFAILED: %d objective(s) exceeded by the worst-case bounds, %d warning(s)%s (exit 1)\n", bad, len(warns), strict)
		return
	}
	if o.Strict && len(warns) > 0 {
		fmt.Fprintf(w, "\nFAILED under --strict: %d warning(s); --strict makes every warning fail the file (exit 1)\n", len(warns))
		return
	}
	fmt.Fprintf(w, "\nOK: %d warning(s)%s\n", len(warns), strict)
}

func split(issues []Issue) (errs, warns []Issue) {
	for _, i := range issues {
		if i.Severity == SeverityError {
			errs = append(errs, i)
		} else {
			warns = append(warns, i)
		}
	}
	return errs, warns
}

// described are the bounds `chaos validate` prints, as measured (the
// harness's allowances added), computed once for the text and JSON output.
type described struct {
	Bounds
	detection, failback, rto, peerDetection, peerFailback bounds.Duration
	scale                                                 float64
}

func describedBounds(c *Config) described {
	b := c.Bounds()
	h := bounds.DefaultHarness
	return described{
		Bounds:        b,
		detection:     h.Measured(b.Detection, false),
		failback:      h.Measured(b.Failback, false),
		rto:           h.Measured(b.RTO, true),
		peerDetection: h.Measured(b.RuntimeDetection, false),
		peerFailback:  h.Measured(b.RuntimeFailback, false),
		scale:         DefaultTimeScale(c),
	}
}

// Report is `chaos validate --format json`'s object for one file.
type Report struct {
	File string `json:"file"`
	// Valid: the file passes (no errors; under --strict no warnings either),
	// i.e. validate would exit 0 for it alone.
	Valid    bool          `json:"valid"`
	Strict   bool          `json:"strict"`
	Errors   []ReportIssue `json:"errors"`
	Warnings []ReportIssue `json:"warnings"`
	// Bounds is nil while the file has errors (as in the text output).
	Bounds *ReportBounds `json:"bounds"`
	// Objectives are the file's objectives against the worst-case bounds
	// (absent when it sets none, or while it has errors); each one not met
	// is also in Errors, naming its field.
	Objectives []ReportObjective `json:"objectives,omitempty"`
}

// ReportIssue is one issue; Line is 0 when unknown.
type ReportIssue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
}

// ReportBounds are the figures the text output prints, in seconds, each
// with its terms as text.
type ReportBounds struct {
	DetectionSeconds float64 `json:"detection_seconds"`
	Detection        string  `json:"detection"`
	FailbackSeconds  float64 `json:"failback_seconds"`
	Failback         string  `json:"failback"`
	// An ejected region's failback adds these two.
	FailbackEjectionSeconds      float64 `json:"failback_ejection_seconds"`
	FailbackPerTryTimeoutSeconds float64 `json:"failback_per_try_timeout_seconds"`
	RTOSeconds                   float64 `json:"rto_seconds"`
	RTO                          string  `json:"rto"`
	// RTOConfigSeconds is the RTO without the harness's allowances.
	RTOConfigSeconds float64 `json:"rto_config_seconds"`
	// RPOSeconds is null when the RPO is unbounded.
	RPOSeconds              *float64 `json:"rpo_seconds"`
	RPOUnbounded            bool     `json:"rpo_unbounded"`
	RPOLost                 string   `json:"rpo_lost"`
	SessionTTLSeconds       float64  `json:"session_ttl_seconds"`
	PeerDetectionSeconds    float64  `json:"peer_detection_seconds"`
	PeerDetection           string   `json:"peer_detection"`
	PeerFailbackSeconds     float64  `json:"peer_failback_seconds"`
	PeerFailback            string   `json:"peer_failback"`
	TimeScale               float64  `json:"time_scale"`
	ScaledLBIntervalSeconds float64  `json:"scaled_lb_interval_seconds"`
}

// NewReport builds the JSON report of file; c may be nil (not parsed).
func NewReport(file string, c *Config, issues []Issue, o Options) Report {
	errs, warns := split(issues)
	r := Report{File: file, Valid: Accepted(c, issues, o), Strict: o.Strict, Errors: reportIssues(errs), Warnings: reportIssues(warns)}
	if c == nil || len(errs) > 0 {
		return r
	}
	b := describedBounds(c)
	sec := time.Duration.Seconds
	rb := &ReportBounds{
		DetectionSeconds: sec(b.detection.Total()), Detection: b.detection.String(),
		FailbackSeconds: sec(b.failback.Total()), Failback: b.failback.String(),
		FailbackEjectionSeconds: sec(c.LB.Outlier.Ejection), FailbackPerTryTimeoutSeconds: sec(c.LB.Retry.PerTryTimeout),
		RTOSeconds: sec(b.rto.Total()), RTO: b.rto.String(), RTOConfigSeconds: sec(b.Bounds.RTOBound()),
		RPOUnbounded: b.RPO.Unbounded, RPOLost: b.RPO.Messages,
		SessionTTLSeconds:    sec(b.SessionTTL),
		PeerDetectionSeconds: sec(b.peerDetection.Total()), PeerDetection: b.peerDetection.String(),
		PeerFailbackSeconds: sec(b.peerFailback.Total()), PeerFailback: b.peerFailback.String(),
		TimeScale: b.scale, ScaledLBIntervalSeconds: sec(c.Scaled(b.scale).LB.Health.Interval),
	}
	if !b.RPO.Unbounded {
		s := sec(b.RPO.Window)
		rb.RPOSeconds = &s
	}
	r.Bounds = rb
	r.Objectives = reportObjectives(c)
	r.Errors = append(r.Errors, reportIssues(ObjectiveIssues(c, issues))...)
	return r
}

func reportIssues(is []Issue) []ReportIssue {
	out := make([]ReportIssue, 0, len(is)) // [] rather than null in JSON
	for _, i := range is {
		out = append(out, ReportIssue{Field: i.Path, Message: i.Msg, Line: i.Line})
	}
	return out
}
