package reports

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

//go:embed report.html.tmpl
var reportTemplate string

var tmpl = template.Must(template.New("report").Parse(reportTemplate))

// RenderHTML writes r as one self-contained HTML page: inline CSS and SVG, no
// scripts, fonts or other external resources. Every value from the record is
// escaped by html/template.
func RenderHTML(w io.Writer, r *Record) error {
	if r == nil {
		return fmt.Errorf("render html: record is nil")
	}
	if err := tmpl.Execute(w, buildView(r)); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return nil
}

// view is everything the template shows, precomputed so the template stays
// free of logic.
type view struct {
	Overall, OverallClass       string
	Headline                    string
	StartedAt, Wall             string
	Overhead                    string
	Seed                        int64
	Provider, Command, Replay   string
	Machine                     Machine
	PlanRows                    []rowView
	Checklist, Other            []rowView
	ChecklistPassed, ChecklistN int
	Details                     []detailView
	Config                      []kv
	Timings                     []timingView
}

type rowView struct {
	Row             int
	Label           string
	Anchor          string // "" when there is no detail card to link to
	Scenario        string
	Name            string
	Expected        string
	Figures         []figure
	Projected       string
	Verdict, VClass string
	Time            string
}

type figure struct {
	Label, Value, Bound string
	Bad                 bool
}

type detailView struct {
	Anchor          string
	Label, Name     string
	Expected        string
	Verdict, VClass string
	Time            string
	Figures         []figure
	Projected       string
	Chart           *chartView
	Faults          []faultLegend
	Events          []eventLegend
	Failure         string
	History         []string
}

type faultLegend struct{ Name, Window string }
type eventLegend struct {
	N          int
	Name, When string
}
type legendItem struct{ Name, Class string }
type kv struct{ Key, Value string }
type timingView struct {
	Name, Label, Verdict, VClass, Time string
	Bar                                string // bar width in the 160-wide timing SVG
}

func verdictView(v Verdict) (string, string) {
	switch v {
	case Passed:
		return "passed", "ok"
	case Failed:
		return "failed", "bad"
	case Skipped:
		return "skipped", "skip"
	}
	return "unknown", "none"
}

func buildView(r *Record) view {
	v := view{
		Seed:     r.Seed,
		Provider: r.Provider,
		Command:  r.Command,
		Replay:   replayCommand(r),
		Machine:  r.Machine,
		Wall:     fmtSeconds(r.WallSeconds),
		Overhead: fmtOverhead(r),
	}
	if !r.StartedAt.IsZero() {
		v.StartedAt = r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	colours := regionClasses(r)

	byRow := map[int][]int{}
	var failed, passed, skipped int
	var maxDur float64
	for i := range r.Specs {
		s := &r.Specs[i]
		switch s.Verdict {
		case Failed:
			failed++
		case Passed:
			passed++
		case Skipped:
			skipped++
		}
		maxDur = math.Max(maxDur, s.DurationSeconds)
		if row := s.PlanRow(); row > 0 {
			byRow[row] = append(byRow[row], i)
		}
	}
	anchorOf := func(i int) string { return "spec-" + strconv.Itoa(i+1) }

	notRun := 0
	for row := 1; row <= PlanRows; row++ {
		p := Plan[row-1]
		idx := byRow[row]
		if len(idx) == 0 {
			notRun++
			v.PlanRows = append(v.PlanRows, rowView{Row: row, Label: fmt.Sprintf("plan-%d", row),
				Scenario: p.Scenario, Expected: p.Expected, Verdict: "not run", VClass: "none"})
			continue
		}
		for _, i := range idx {
			s := &r.Specs[i]
			rv := specRow(s, anchorOf(i))
			rv.Row, rv.Label, rv.Scenario = row, fmt.Sprintf("plan-%d", row), p.Scenario
			if rv.Expected == "" {
				rv.Expected = p.Expected
			}
			v.PlanRows = append(v.PlanRows, rv)
		}
	}
	for i := range r.Specs {
		s := &r.Specs[i]
		if s.PlanRow() > 0 {
			continue
		}
		rv := specRow(s, "")
		if hasDetail(s) {
			rv.Anchor = anchorOf(i)
		}
		if s.HasLabel(ChecklistLabel) {
			v.ChecklistN++
			if s.Verdict == Passed {
				v.ChecklistPassed++
			}
			v.Checklist = append(v.Checklist, rv)
		} else {
			v.Other = append(v.Other, rv)
		}
	}
	// Detail cards: plan rows in plan order, then the rest in record order.
	var order []int
	for row := 1; row <= PlanRows; row++ {
		order = append(order, byRow[row]...)
	}
	for i := range r.Specs {
		if r.Specs[i].PlanRow() == 0 {
			order = append(order, i)
		}
	}
	for _, i := range order {
		s := &r.Specs[i]
		if s.PlanRow() == 0 && !hasDetail(s) {
			continue
		}
		v.Details = append(v.Details, detail(s, anchorOf(i), colours))
	}
	for _, i := range order {
		s := &r.Specs[i]
		word, class := verdictView(s.Verdict)
		bar := 0.0
		if maxDur > 0 {
			bar = 160 * s.DurationSeconds / maxDur
		}
		v.Timings = append(v.Timings, timingView{Name: s.Name, Label: specLabel(s), Verdict: word, VClass: class,
			Time: fmtSeconds(s.DurationSeconds), Bar: num(math.Max(bar, 1))})
	}

	keys := make([]string, 0, len(r.Config))
	for k := range r.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.Config = append(v.Config, kv{Key: k, Value: configValue(r.Config[k])})
	}

	planPassed := 0
	for _, row := range v.PlanRows {
		if row.Verdict == "passed" {
			planPassed++
		}
	}
	switch {
	case failed > 0:
		v.Overall, v.OverallClass = "FAILED", "bad"
	case notRun > 0 || skipped > 0:
		v.Overall, v.OverallClass = "INCOMPLETE", "skip"
	case passed == 0:
		v.Overall, v.OverallClass = "NO SPECS", "none"
	default:
		v.Overall, v.OverallClass = "PASSED", "ok"
	}
	parts := []string{fmt.Sprintf("%d of %d plan rows passed", planPassed, len(v.PlanRows))}
	if v.ChecklistN > 0 {
		parts = append(parts, fmt.Sprintf("checklist %d/%d", v.ChecklistPassed, v.ChecklistN))
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", failed))
	}
	if notRun > 0 {
		parts = append(parts, fmt.Sprintf("%d not run", notRun))
	}
	if skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", skipped))
	}
	v.Headline = strings.Join(parts, " · ")
	return v
}

// hasDetail reports whether a non-plan spec gets its own card: it has a chart
// or something went wrong worth reading.
func hasDetail(s *Spec) bool {
	return len(s.Timeline) > 0 || s.Failure != "" || len(s.HistoryExcerpt) > 0
}

func specLabel(s *Spec) string {
	if row := s.PlanRow(); row > 0 {
		return fmt.Sprintf("plan-%d", row)
	}
	if len(s.Labels) > 0 {
		return s.Labels[0]
	}
	return ""
}

func specRow(s *Spec, anchor string) rowView {
	word, class := verdictView(s.Verdict)
	rv := rowView{
		Label: specLabel(s), Anchor: anchor, Name: s.Name, Expected: s.Expected,
		Verdict: word, VClass: class, Time: fmtSeconds(s.DurationSeconds),
	}
	if s.PlanRow() > 0 && s.Verdict != Skipped {
		rv.Figures = figures(s)
		rv.Projected = projected(s)
	}
	return rv
}

func figures(s *Spec) []figure {
	o, b := s.Observed, s.Bounds
	f := []figure{
		boundFigure("detect", o.DetectionSeconds, b.DetectionSeconds),
		boundFigure("RTO", o.RTOSeconds, b.RTOSeconds),
		{Label: "RPO", Value: fmt.Sprintf("%d msg · %s", o.RPOMessages, fmtSeconds(o.RPOSeconds)),
			Bad: o.RPOMessages > 0 || o.RPOSeconds > 0},
	}
	errs := strconv.Itoa(o.ClientErrors)
	if o.Requests > 0 {
		errs = fmt.Sprintf("%d / %d (%s %%)", o.ClientErrors, o.Requests,
			strconv.FormatFloat(100*float64(o.ClientErrors)/float64(o.Requests), 'f', 1, 64))
	}
	f = append(f, figure{Label: "errors", Value: errs}, figure{Label: "alerts", Value: strconv.Itoa(o.Alerts)})
	return f
}

func boundFigure(label string, v, bound float64) figure {
	f := figure{Label: label, Value: fmtSeconds(v)}
	if bound > 0 {
		f.Bound = "≤ " + fmtSeconds(bound)
		f.Bad = v > bound
	}
	return f
}

func projected(s *Spec) string {
	p := s.Projected
	if p == nil {
		return ""
	}
	return fmt.Sprintf("real time: detect %s · RTO %s · RPO %s",
		fmtSeconds(p.DetectionSeconds), fmtSeconds(p.RTOSeconds), fmtSeconds(p.RPOSeconds))
}

func detail(s *Spec, anchor string, colours map[string]string) detailView {
	word, class := verdictView(s.Verdict)
	d := detailView{
		Anchor: anchor, Label: specLabel(s), Name: s.Name, Expected: s.Expected,
		Verdict: word, VClass: class, Time: fmtSeconds(s.DurationSeconds),
		Failure: s.Failure, History: s.HistoryExcerpt,
	}
	if row := s.PlanRow(); row > 0 {
		if d.Expected == "" {
			d.Expected = Plan[row-1].Expected
		}
		d.Figures = figures(s)
		d.Projected = projected(s)
	}
	if len(s.Timeline) > 0 {
		d.Chart = buildChart(s, colours)
	}
	for _, f := range s.Faults {
		d.Faults = append(d.Faults, faultLegend{Name: f.Name,
			Window: fmt.Sprintf("%s – %s", fmtT(f.Start), fmtT(f.End))})
	}
	for i, e := range sortedEvents(s.Events) {
		d.Events = append(d.Events, eventLegend{N: i + 1, Name: e.Name, When: fmtT(e.At)})
	}
	return d
}

func sortedEvents(ev []Event) []Event {
	out := slices.Clone(ev)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// regionClasses gives each region one colour class for the whole report, in
// order of first appearance, so a region has the same colour in every chart.
func regionClasses(r *Record) map[string]string {
	m := map[string]string{}
	for _, s := range r.Specs {
		for _, p := range s.Timeline {
			if p.Region == "" {
				continue
			}
			if _, ok := m[p.Region]; !ok {
				m[p.Region] = "r" + strconv.Itoa(len(m)%6)
			}
		}
	}
	return m
}

func replayCommand(r *Record) string {
	cmd := strings.TrimSpace(r.Command)
	seed := strconv.FormatInt(r.Seed, 10)
	switch {
	case cmd == "":
		return "make chaos SEED=" + seed
	case strings.Contains(cmd, "SEED="+seed) || strings.Contains(cmd, "--seed "+seed) || strings.Contains(cmd, "--seed="+seed):
		return cmd
	case strings.HasPrefix(cmd, "make "):
		return cmd + " SEED=" + seed
	}
	return cmd + " --seed " + seed
}

func configValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// fmtSeconds formats a duration in seconds for people: ms below 1 s, minutes
// above 2 min (projected real-time figures are often minutes).
func fmtSeconds(s float64) string {
	switch {
	case s == 0:
		return "0 s"
	case math.Round(s*1000) < 1000:
		return fmt.Sprintf("%.0f ms", s*1000)
	case math.Round(s*100) < 1000:
		return strconv.FormatFloat(math.Round(s*100)/100, 'f', -1, 64) + " s"
	case math.Round(s*10) < 600:
		return strconv.FormatFloat(math.Round(s*10)/10, 'f', -1, 64) + " s"
	case math.Round(s) < 3600:
		r := int(math.Round(s))
		return fmt.Sprintf("%d m %02d s", r/60, r%60)
	}
	r := int(math.Round(s / 60))
	return fmt.Sprintf("%d h %02d m", r/60, r%60)
}

// fmtT formats an offset on a spec's timeline.
func fmtT(t float64) string { return strconv.FormatFloat(math.Round(t*100)/100, 'f', -1, 64) + " s" }

func num(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

func fmtOverhead(r *Record) string {
	if r.HarnessOverhead <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f× (wall %s over %s of waits the scenarios need)", r.HarnessOverhead, fmtSeconds(r.WallSeconds), fmtSeconds(r.InherentWaitSeconds))
}
