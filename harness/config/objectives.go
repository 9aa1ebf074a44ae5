package config

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
)

// Objectives is the SRE's resiliency policy, in real time (as AWS Resilience
// Hub holds an application to its policy): `chaos validate` compares each
// with the config's worst-case bound, `chaos run` with what each plan row
// measured, projected to real time. A nil target is not set.
//
//	objectives:
//	  rto: 60s
//	  rpo: 0s
//	  detection: 40s
//	  rows:              # per-row overrides, keyed by plan row label
//	    plan-5: {rto: 90s}
type Objectives struct {
	// RTO: the longest a user may wait for an answer (positive).
	RTO *time.Duration `yaml:"rto"`
	// RPO: the acknowledged conversation a failure may lose (0s: none).
	RPO *time.Duration `yaml:"rpo"`
	// Detection: how long a dead region may stay in the LB's rotation (positive).
	Detection *time.Duration `yaml:"detection"`
	// Rows override the targets above for one plan row (ObjectiveRows).
	Rows map[string]Targets `yaml:"rows"`
}

// Targets are one row's overrides; a nil target keeps the file's own.
type Targets struct {
	RTO       *time.Duration `yaml:"rto"`
	RPO       *time.Duration `yaml:"rpo"`
	Detection *time.Duration `yaml:"detection"`
}

// ObjectiveRows are the row labels objectives.rows may name: the failover
// test plan's rows (SPEC §4).
var ObjectiveRows = []string{"plan-1", "plan-2", "plan-3", "plan-4", "plan-5", "plan-6", "plan-7"}

// IsObjectiveRow reports whether label is a plan row objectives apply to.
func IsObjectiveRow(label string) bool { return slices.Contains(ObjectiveRows, label) }

// Objective names, in the order they are judged and shown.
const (
	ObjectiveDetection = "detection"
	ObjectiveRTO       = "rto"
	ObjectiveRPO       = "rpo"
)

// Objective is one target in force, in real time, with the field that set it.
type Objective struct {
	Name  string // ObjectiveDetection, ObjectiveRTO or ObjectiveRPO
	Field string // "objectives.rto", "objectives.rows.plan-5.rto"
	D     time.Duration
}

func (t Targets) list(prefix string) []Objective {
	var out []Objective
	for _, x := range []struct {
		name string
		d    *time.Duration
	}{{ObjectiveDetection, t.Detection}, {ObjectiveRTO, t.RTO}, {ObjectiveRPO, t.RPO}} {
		if x.d != nil {
			out = append(out, Objective{Name: x.name, Field: prefix + x.name, D: *x.d})
		}
	}
	return out
}

func (o *Objectives) targets() Targets {
	return Targets{RTO: o.RTO, RPO: o.RPO, Detection: o.Detection}
}

// Global are the file-wide targets that are set.
func (o *Objectives) Global() []Objective {
	if o == nil {
		return nil
	}
	return o.targets().list("objectives.")
}

// For are the targets in force for a plan row (label plan-N): the
// file-wide ones with the row's overrides applied, each naming the field
// that set it. Nil for a label that is not a plan row (checklist specs,
// schedules): objectives judge plan rows.
func (o *Objectives) For(label string) []Objective {
	if o == nil || !IsObjectiveRow(label) {
		return nil
	}
	row := o.Rows[label]
	var out []Objective
	for _, x := range []struct {
		name       string
		file, over *time.Duration
	}{{ObjectiveDetection, o.Detection, row.Detection}, {ObjectiveRTO, o.RTO, row.RTO}, {ObjectiveRPO, o.RPO, row.RPO}} {
		switch {
		case x.over != nil:
			out = append(out, Objective{Name: x.name, Field: "objectives.rows." + label + "." + x.name, D: *x.over})
		case x.file != nil:
			out = append(out, Objective{Name: x.name, Field: "objectives." + x.name, D: *x.file})
		}
	}
	return out
}

func (o *Objectives) clone() *Objectives {
	if o == nil {
		return nil
	}
	cp := func(d *time.Duration) *time.Duration {
		if d == nil {
			return nil
		}
		v := *d
		return &v
	}
	out := &Objectives{RTO: cp(o.RTO), RPO: cp(o.RPO), Detection: cp(o.Detection)}
	if o.Rows != nil {
		out.Rows = make(map[string]Targets, len(o.Rows))
		for k, t := range o.Rows {
			out.Rows[k] = Targets{RTO: cp(t.RTO), RPO: cp(t.RPO), Detection: cp(t.Detection)}
		}
	}
	return out
}

// objectives checks the targets' ranges and the rows' labels.
func (v *validator) objectives() {
	o := v.c.Objectives
	if o == nil {
		return
	}
	check := func(t Targets, prefix string) {
		for _, x := range t.list(prefix) {
			if x.Name == ObjectiveRPO {
				if x.D < 0 {
					v.errf(x.Field, "must not be negative (got %s)", x.D)
				}
				continue
			}
			v.positive(x.Field, x.D)
		}
	}
	check(o.targets(), "objectives.")
	keys := make([]string, 0, len(o.Rows))
	for k := range o.Rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := "objectives.rows." + k
		if !IsObjectiveRow(k) {
			v.errf(p, "no such row (rows are %s .. %s)", ObjectiveRows[0], ObjectiveRows[len(ObjectiveRows)-1])
			continue
		}
		check(o.Rows[k], p+".")
	}
}

// Estimate is what the config promises in real time: the worst-case bounds
// `chaos validate` prints (the harness's allowances included), one number
// per bound.
type Estimate struct {
	Detection bounds.Duration
	RTO       bounds.Duration
	RPO       bounds.RPO
}

// Estimate computes c's worst-case bounds as validate prints them. Call it
// on the unscaled config: objectives are real time.
func (c *Config) Estimate() Estimate {
	b := describedBounds(c)
	return Estimate{Detection: b.detection, RTO: b.rto, RPO: b.RPO}
}

// Of is the estimate for an objective: its value, its terms in words, and
// whether it is unbounded (an RPO under on-mutation checkpoints).
func (e Estimate) Of(name string) (d time.Duration, text string, unbounded bool) {
	switch name {
	case ObjectiveDetection:
		return e.Detection.Total(), e.Detection.String(), false
	case ObjectiveRTO:
		return e.RTO.Total(), e.RTO.String(), false
	case ObjectiveRPO:
		if e.RPO.Unbounded {
			return 0, "unbounded (" + e.RPO.Messages + ")", true
		}
		return e.RPO.Window, fmt.Sprintf("%s (lost on failover: %s)", e.RPO.Window, e.RPO.Messages), false
	}
	return 0, "", true
}

// ObjectiveLabel is an objective's name as SREs write it.
func ObjectiveLabel(name string) string {
	if name == ObjectiveDetection {
		return name
	}
	return strings.ToUpper(name)
}

// Assessment is one objective against the config's worst-case estimate.
type Assessment struct {
	Objective
	Estimate  time.Duration
	Unbounded bool
	Text      string // the estimate with its terms
	Met       bool
}

// Issue is the error validate reports for a breached objective, naming the
// objective and the bound, e.g. "objectives.rto: worst-case RTO 1m44.1s
// (30s lb.health.interval ... + 100ms scheduling slack) exceeds the
// objective 1m0s".
func (a Assessment) Issue(c *Config) Issue {
	head, terms, ok := strings.Cut(a.Text, " = ")
	if !ok { // an RPO: "5s (lost on failover: ...)", "unbounded (...)"
		head, terms, _ = strings.Cut(a.Text, " (")
		terms = strings.TrimSuffix(terms, ")")
	}
	return Issue{Path: a.Field, Line: c.Line(a.Field), Severity: SeverityError,
		Msg: fmt.Sprintf("worst-case %s %s (%s) exceeds the objective %s", ObjectiveLabel(a.Name), head, terms, a.D)}
}

// Assess compares every objective the file sets (the file-wide ones, then
// each row's overrides) with the worst-case bound validate prints. The
// bounds are the configuration's, the same for every row. Meaningful only
// for a config without errors.
func (c *Config) Assess() []Assessment {
	o := c.Objectives
	if o == nil {
		return nil
	}
	e := c.Estimate()
	all := o.Global()
	for _, row := range ObjectiveRows {
		if t, ok := o.Rows[row]; ok {
			all = append(all, t.list("objectives.rows."+row+".")...)
		}
	}
	out := make([]Assessment, 0, len(all))
	for _, x := range all {
		d, text, unb := e.Of(x.Name)
		out = append(out, Assessment{Objective: x, Estimate: d, Unbounded: unb, Text: text, Met: !unb && d <= x.D})
	}
	return out
}

// ObjectiveIssues are the errors of the objectives the worst-case bounds
// exceed (see Assess); none while the file has errors of its own.
func ObjectiveIssues(c *Config, issues []Issue) []Issue {
	if c == nil || HasErrors(issues) {
		return nil
	}
	var out []Issue
	for _, a := range c.Assess() {
		if !a.Met {
			out = append(out, a.Issue(c))
		}
	}
	return out
}

// Accepted reports whether validate accepts the file: it passes (Passes)
// and its worst-case bounds meet its objectives. `chaos validate` exits 0
// only then.
func Accepted(c *Config, issues []Issue, o Options) bool {
	return c != nil && Passes(issues, o) && len(ObjectiveIssues(c, issues)) == 0
}

// describeObjectives writes the objectives section of validate's text
// output and returns how many are breached.
func describeObjectives(w io.Writer, c *Config) int {
	as := c.Assess()
	if len(as) == 0 {
		return 0
	}
	fmt.Fprintf(w, "\nobjectives (resiliency policy, real time; `chaos run` also holds each plan row's measurement, projected to real time, to them):\n")
	width := 0
	for _, a := range as {
		width = max(width, len(a.Field))
	}
	var bad []Issue
	for _, a := range as {
		state := "met"
		if !a.Met {
			state = "EXCEEDED"
			bad = append(bad, a.Issue(c))
		}
		est := bounds.Round(a.Estimate).String()
		if a.Unbounded {
			est = "unbounded"
		}
		fmt.Fprintf(w, "  %-*s  %-8s worst case %-9s %s\n", width, a.Field, a.D, est, state)
	}
	if len(bad) > 0 {
		fmt.Fprintf(w, "\nerrors (%d): objectives the worst-case bounds exceed\n", len(bad))
		for _, i := range bad {
			fmt.Fprintf(w, "  %s\n", i)
		}
	}
	return len(bad)
}

// ReportObjective is one objective in `chaos validate --format json`.
type ReportObjective struct {
	Field            string  `json:"field"`
	Objective        string  `json:"objective"` // detection, rto, rpo
	ObjectiveSeconds float64 `json:"objective_seconds"`
	// EstimateSeconds is the worst-case bound; null when it is unbounded.
	EstimateSeconds *float64 `json:"estimate_seconds"`
	Estimate        string   `json:"estimate"`
	Met             bool     `json:"met"`
}

func reportObjectives(c *Config) []ReportObjective {
	as := c.Assess()
	if len(as) == 0 {
		return nil
	}
	out := make([]ReportObjective, 0, len(as))
	for _, a := range as {
		r := ReportObjective{Field: a.Field, Objective: a.Name, ObjectiveSeconds: a.D.Seconds(), Estimate: a.Text, Met: a.Met}
		if !a.Unbounded {
			s := a.Estimate.Seconds()
			r.EstimateSeconds = &s
		}
		out = append(out, r)
	}
	return out
}

// Policy is what a run judges its plan rows by: the file's objectives and
// its worst-case estimate, both real time.
type Policy struct {
	Objectives *Objectives
	Estimate   Estimate
}

// Policy returns c's policy, or nil when c sets no objectives. Call it on
// the unscaled config.
func (c *Config) Policy() *Policy {
	if c == nil || c.Objectives == nil {
		return nil
	}
	return &Policy{Objectives: c.Objectives.clone(), Estimate: c.Estimate()}
}
