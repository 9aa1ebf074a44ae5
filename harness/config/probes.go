package config

import (
	"fmt"
	"strings"
)

// Probe is a PromQL expression the SRE states (Litmus probes, FIS stop
// conditions): under `probes:` it must hold before, during or after each
// plan row's faults (only the rows listed, when Rows is set); under
// `stop_when:` the row is aborted and healed the first time it holds.
// Evaluated against the topology's Prometheus, or an external target's.
type Probe struct {
	Name  string   `yaml:"name"`
	Expr  string   `yaml:"expr"`
	Phase string   `yaml:"phase"` // before | during | after (probes only)
	Rows  []string `yaml:"rows"`  // plan row labels; empty: every row
}

// ForRow says whether the probe applies to the row labelled label.
func (p Probe) ForRow(label string) bool {
	if len(p.Rows) == 0 {
		return true
	}
	for _, r := range p.Rows {
		if r == label {
			return true
		}
	}
	return false
}

func (v *validator) probes() {
	check := func(list []Probe, key string, phase bool) {
		seen := map[string]bool{}
		for i, p := range list {
			f := fmt.Sprintf("%s[%d]", key, i)
			switch {
			case strings.TrimSpace(p.Name) == "":
				v.errf(f+".name", "required")
			case seen[p.Name]:
				v.errf(f+".name", "duplicate %q", p.Name)
			}
			seen[p.Name] = true
			if strings.TrimSpace(p.Expr) == "" {
				v.errf(f+".expr", "required: a PromQL expression")
			}
			switch {
			case phase && p.Phase != "before" && p.Phase != "during" && p.Phase != "after":
				v.errf(f+".phase", "%q is not before, during or after", p.Phase)
			case !phase && p.Phase != "":
				v.errf(f+".phase", "a stop condition has no phase: it is watched for the whole row")
			}
			for j, r := range p.Rows {
				if !IsObjectiveRow(r) {
					v.errf(fmt.Sprintf("%s.rows[%d]", f, j), "no such row %q (rows are %s .. %s)", r, ObjectiveRows[0], ObjectiveRows[len(ObjectiveRows)-1])
				}
			}
		}
	}
	check(v.c.Probes, "probes", true)
	check(v.c.StopWhen, "stop_when", false)
}
