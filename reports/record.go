// Package reports holds the run record (run.json) written by a chaos run and
// renders it as a self-contained HTML report and as JUnit XML.
package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/check"
)

// SchemaVersion is the run.json schema this package reads and writes.
// Version 2 added the inconclusive verdict and every check of every spec.
const SchemaVersion = 2

// Verdict is the outcome of one spec.
type Verdict string

// Verdicts a spec can have. Inconclusive: the harness measured that it
// could not judge (it was starved, or the scenario's situation never
// formed); never a pass, never a failure of the system under test.
const (
	Passed       Verdict = "passed"
	Failed       Verdict = "failed"
	Inconclusive Verdict = "inconclusive"
	Skipped      Verdict = "skipped"
)

// Valid reports whether v is one of the known verdicts.
func (v Verdict) Valid() bool {
	return v == Passed || v == Failed || v == Inconclusive || v == Skipped
}

// Record is the whole run: what ran, where, with which seed, and each spec's result.
type Record struct {
	SchemaVersion int       `json:"schema_version"`
	StartedAt     time.Time `json:"started_at"`
	WallSeconds   float64   `json:"wall_seconds"`
	// InherentWaitSeconds sums the specs' inherent waits; HarnessOverhead is
	// WallSeconds divided by it (1.0 would be a harness that costs nothing).
	InherentWaitSeconds float64        `json:"inherent_wait_seconds,omitempty"`
	HarnessOverhead     float64        `json:"harness_overhead,omitempty"`
	Seed                int64          `json:"seed"`
	Provider            string         `json:"provider"`
	Command             string         `json:"command"`
	Machine             Machine        `json:"machine"`
	Config              map[string]any `json:"config,omitempty"`
	Specs               []Spec         `json:"specs"`
}

// Machine describes the host the run happened on.
type Machine struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
	Go   string `json:"go"`
}

// Spec is one Ginkgo spec: a plan row (label plan-N) or a checklist item (label checklist).
type Spec struct {
	Name            string   `json:"name"`
	Labels          []string `json:"labels,omitempty"`
	Row             int      `json:"row,omitempty"` // plan row 1..7; 0 for specs outside the plan
	Expected        string   `json:"expected,omitempty"`
	Verdict         Verdict  `json:"verdict"`
	DurationSeconds float64  `json:"duration_seconds"`
	// InherentWaitSeconds is the part of the duration the scenario itself
	// needs (detection windows, observation periods, TTLs); the rest is
	// harness overhead (topology start/stop, reads, checks).
	InherentWaitSeconds float64 `json:"inherent_wait_seconds,omitempty"`
	Failure             string  `json:"failure,omitempty"` // why it did not pass: the failed checks, or why it is inconclusive
	// Checks holds every check the spec made: class, verdict, measured value,
	// the bound it was held to (as enforced and projected) and the reason.
	Checks []check.Result `json:"checks,omitempty"`
	// Health is the harness's measurement of its own timing during the spec.
	Health *check.Health `json:"health,omitempty"`
	// Attempts is how many times the spec ran (more than one when an
	// inconclusive run was retried with a fresh seed); Seed the last one's.
	Attempts int   `json:"attempts,omitempty"`
	Seed     int64 `json:"seed,omitempty"`
	// Artifacts is the folder with the spec's history, logs and generated
	// configs, kept when it did not pass.
	Artifacts string   `json:"artifacts,omitempty"`
	Observed  Observed `json:"observed"`
	Bounds    Bounds   `json:"bounds"`
	// Projected holds the figures scaled back to real time when the run was
	// time-compressed; nil when it was not.
	Projected *Projected `json:"projected,omitempty"`
	// Objectives are the SRE config's objectives in force for this row
	// (`objectives:`, row overrides applied), each beside the config's
	// estimate and the row's measurement, all real time; absent when the
	// config sets none.
	Objectives []Objective `json:"objectives,omitempty"`
	Faults     []Fault     `json:"faults,omitempty"`
	Events     []Event     `json:"events,omitempty"`
	// Timeline is bucketed traffic; one point per (bucket, region).
	Timeline       []Point  `json:"timeline,omitempty"`
	HistoryExcerpt []string `json:"history_excerpt,omitempty"` // JSONL lines around the failure
}

// Observed holds the measured figures of a spec.
type Observed struct {
	DetectionSeconds float64 `json:"detection_seconds"`
	RTOSeconds       float64 `json:"rto_seconds"`
	// FailbackSeconds is the slowest region's return to the LB's rotation
	// after the last heal (its failback-time check).
	FailbackSeconds float64 `json:"failback_seconds"`
	RPOMessages     int     `json:"rpo_messages"`
	RPOSeconds      float64 `json:"rpo_seconds"`
	ClientErrors    int     `json:"client_errors"`
	Requests        int     `json:"requests"`
	Alerts          int     `json:"alerts"`
}

// Bounds are the limits the checkers applied; zero means no bound.
type Bounds struct {
	DetectionSeconds float64 `json:"detection_seconds"`
	RTOSeconds       float64 `json:"rto_seconds"`
	FailbackSeconds  float64 `json:"failback_seconds"`
}

// Projected holds a time-compressed run's figures in real (uncompressed)
// time: the detection, RTO and failback bounds projected back (as the
// report's "real time: ... bound" line shows them) and the measured RPO
// window scaled back. A row's measurements held to objectives are in
// Spec.Objectives.
type Projected struct {
	DetectionSeconds float64 `json:"detection_seconds"`
	RTOSeconds       float64 `json:"rto_seconds"`
	FailbackSeconds  float64 `json:"failback_seconds"`
	RPOSeconds       float64 `json:"rpo_seconds"`
}

// Objective is one objective of a row side by side with what the config
// promises and what the row measured, in real-time seconds.
type Objective struct {
	Name             string  `json:"name"`  // detection, rto or rpo
	Field            string  `json:"field"` // the config field that set it: objectives.rto, objectives.rows.plan-5.rto
	ObjectiveSeconds float64 `json:"objective_seconds"`
	// EstimateSeconds is the config's worst-case bound, as `chaos validate`
	// prints it; null when unbounded. Estimate is its terms in words.
	EstimateSeconds *float64 `json:"estimate_seconds"`
	Estimate        string   `json:"estimate,omitempty"`
	// MeasuredSeconds is the row's figure projected to real time; null
	// when the row does not measure it. Check names the result that held
	// it to the objective (its verdict is the objective's).
	MeasuredSeconds *float64 `json:"measured_seconds"`
	Check           string   `json:"check,omitempty"`
}

// Fault is one injected fault window. Start and End are seconds since the spec
// started, on the same clock as Point.T.
type Fault struct {
	Name  string  `json:"name"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// Event is a point-in-time marker (detection, failover, recovery...), in
// seconds since the spec started.
type Event struct {
	Name string  `json:"name"`
	At   float64 `json:"at"`
}

// Point is one timeline bucket for one region: T is the bucket start in seconds
// since the spec started; OK and Errors count operations in that bucket.
// Region is empty for errors no region answered (e.g. the LB's 503).
type Point struct {
	T      float64 `json:"t"`
	Region string  `json:"region"`
	OK     int     `json:"ok"`
	Errors int     `json:"errors"`
}

// PlanRow returns the plan row number (1..7) from a plan-N label, falling back
// to the Row field; 0 when the spec is not a plan row.
func (s *Spec) PlanRow() int {
	for _, l := range s.Labels {
		var n int
		if _, err := fmt.Sscanf(l, "plan-%d", &n); err == nil && l == fmt.Sprintf("plan-%d", n) && n >= 1 && n <= PlanRows {
			return n
		}
	}
	if s.Row >= 1 && s.Row <= PlanRows {
		return s.Row
	}
	return 0
}

// HasLabel reports whether the spec carries label l.
func (s *Spec) HasLabel(l string) bool {
	for _, x := range s.Labels {
		if x == l {
			return true
		}
	}
	return false
}

// ReadRecord reads and validates a run.json file.
func ReadRecord(path string) (*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("run.json: %w", err)
	}
	defer f.Close()
	return DecodeRecord(f)
}

// DecodeRecord decodes and validates a run record. Errors name what is wrong:
// the byte offset of bad JSON, the field of a wrong type, or the invalid field.
func DecodeRecord(rd io.Reader) (*Record, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("run.json: read: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("run.json: empty file")
	}
	// Check the version before the full decode, so a future schema whose
	// fields changed type is reported as a version problem, not a type error.
	var head struct {
		SchemaVersion *int `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, jsonError(err)
	}
	switch {
	case head.SchemaVersion == nil:
		return nil, fmt.Errorf("run.json: schema_version missing (want %d)", SchemaVersion)
	case *head.SchemaVersion != SchemaVersion:
		return nil, fmt.Errorf("run.json: schema_version %d not supported (want %d)", *head.SchemaVersion, SchemaVersion)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, jsonError(err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("run.json: truncated or invalid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Errorf("run.json: %s: got JSON %s, want %s (at byte %d)", field, typ.Value, typ.Type, typ.Offset)
	}
	return fmt.Errorf("run.json: %w", err)
}

// Validate checks the fields the renderers rely on. The error names the field.
func (r *Record) Validate() error {
	if r.SchemaVersion != SchemaVersion {
		return fmt.Errorf("run.json: schema_version %d not supported (want %d)", r.SchemaVersion, SchemaVersion)
	}
	if err := nonNegative("wall_seconds", r.WallSeconds); err != nil {
		return fmt.Errorf("run.json: %w", err)
	}
	for i := range r.Specs {
		if err := r.Specs[i].validate(fmt.Sprintf("specs[%d]", i)); err != nil {
			return fmt.Errorf("run.json: %w", err)
		}
	}
	return nil
}

func (s *Spec) validate(p string) error {
	if strings.TrimSpace(s.Name) == "" {
		return fmt.Errorf("%s.name: must not be empty", p)
	}
	if !s.Verdict.Valid() {
		return fmt.Errorf("%s.verdict: must be passed, failed, inconclusive or skipped (got %q)", p, s.Verdict)
	}
	if s.Row < 0 || s.Row > PlanRows {
		return fmt.Errorf("%s.row: must be 0..%d (got %d)", p, PlanRows, s.Row)
	}
	checks := []namedFloat{
		{"duration_seconds", s.DurationSeconds},
		{"observed.detection_seconds", s.Observed.DetectionSeconds},
		{"observed.rto_seconds", s.Observed.RTOSeconds},
		{"observed.failback_seconds", s.Observed.FailbackSeconds},
		{"bounds.failback_seconds", s.Bounds.FailbackSeconds},
		{"observed.rpo_seconds", s.Observed.RPOSeconds},
		{"bounds.detection_seconds", s.Bounds.DetectionSeconds},
		{"bounds.rto_seconds", s.Bounds.RTOSeconds},
	}
	if s.Projected != nil {
		checks = append(checks,
			namedFloat{"projected.detection_seconds", s.Projected.DetectionSeconds},
			namedFloat{"projected.rto_seconds", s.Projected.RTOSeconds},
			namedFloat{"projected.failback_seconds", s.Projected.FailbackSeconds},
			namedFloat{"projected.rpo_seconds", s.Projected.RPOSeconds})
	}
	for j, o := range s.Objectives {
		op := fmt.Sprintf("objectives[%d]", j)
		checks = append(checks, namedFloat{op + ".objective_seconds", o.ObjectiveSeconds})
		if o.EstimateSeconds != nil {
			checks = append(checks, namedFloat{op + ".estimate_seconds", *o.EstimateSeconds})
		}
		if o.MeasuredSeconds != nil {
			checks = append(checks, namedFloat{op + ".measured_seconds", *o.MeasuredSeconds})
		}
	}
	for _, c := range checks {
		if err := nonNegative(p+"."+c.name, c.v); err != nil {
			return err
		}
	}
	counts := []struct {
		name string
		v    int
	}{
		{"observed.rpo_messages", s.Observed.RPOMessages},
		{"observed.client_errors", s.Observed.ClientErrors},
		{"observed.requests", s.Observed.Requests},
		{"observed.alerts", s.Observed.Alerts},
	}
	for _, c := range counts {
		if c.v < 0 {
			return fmt.Errorf("%s.%s: must be >= 0 (got %d)", p, c.name, c.v)
		}
	}
	for j, f := range s.Faults {
		fp := fmt.Sprintf("%s.faults[%d]", p, j)
		if err := nonNegative(fp+".start", f.Start); err != nil {
			return err
		}
		if math.IsNaN(f.End) || math.IsInf(f.End, 0) || f.End < f.Start {
			return fmt.Errorf("%s.end: must be >= start %g (got %g)", fp, f.Start, f.End)
		}
	}
	for j, e := range s.Events {
		if err := nonNegative(fmt.Sprintf("%s.events[%d].at", p, j), e.At); err != nil {
			return err
		}
	}
	for j, pt := range s.Timeline {
		tp := fmt.Sprintf("%s.timeline[%d]", p, j)
		if err := nonNegative(tp+".t", pt.T); err != nil {
			return err
		}
		if pt.OK < 0 || pt.Errors < 0 {
			return fmt.Errorf("%s: ok and errors must be >= 0 (got %d, %d)", tp, pt.OK, pt.Errors)
		}
	}
	return nil
}

type namedFloat struct {
	name string
	v    float64
}

func nonNegative(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("%s: must be a finite number >= 0 (got %g)", field, v)
	}
	return nil
}

// Write validates r and writes it as indented JSON to path, creating parent
// directories. The file is replaced atomically so a reader never sees half of it.
func (r *Record) Write(path string) error {
	if err := r.Validate(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("run.json: encode: %w", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("run.json: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".run-*.json")
	if err != nil {
		return fmt.Errorf("run.json: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("run.json: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("run.json: close %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("run.json: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("run.json: %w", err)
	}
	return nil
}
