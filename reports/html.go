package reports

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/agentops/failover-harness/harness/check"
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
	ProjectedTitle  string
	Verdict, VClass string
	Why             string // first line of the reason, for a spec that did not pass
	Time            string
}

// figure is one chip: a measured figure and, for detection and RTO, the
// bound its check enforced. Class is "bad" (failed) or "inc" (not judged).
type figure struct {
	Label, Value, Bound string
	Title               string // the bound as the check made it
	Class               string
}

type detailView struct {
	Anchor          string
	Label, Name     string
	Expected        string
	Verdict, VClass string
	Time            string
	Figures         []figure
	Projected       string
	ProjectedTitle  string
	Health          string
	HealthClass     string // "inc" when the machine was starved
	Run             string // attempts and seed
	Artifacts       string
	Objectives      []objectiveRow
	Checks          []checkRow
	ChecksSummary   string
	ChecksOpen      bool // the table starts unfolded: the spec did not pass
	HasProjection   bool // some check has a real-time bound
	Chart           *chartView
	Faults          []faultLegend
	Events          []eventLegend
	WhyTitle        string // heading of the reason box; "" when there is none
	Failure         string
	History         []string
}

// checkRow is one check of a spec as the checks table shows it.
type checkRow struct {
	Verdict, VClass  string
	Class, Name      string
	Value            string
	Bound, Projected string
	Reason           string
	Link             string // a file the check kept, relative to the report
}

// objectiveRow is one objective of the SRE config beside the config's
// estimate and the row's measurement, all real time.
type objectiveRow struct {
	Name, Field               string
	Objective                 string
	Estimate, EstimateTitle   string
	EstimateClass             string // "bad" when the estimate exceeds the objective
	Measured, Verdict, VClass string
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

// verdictView gives the word and the style class of a verdict: passed
// green (ok), failed red (bad), inconclusive amber (inc), skipped grey (skip).
func verdictView(v Verdict) (string, string) {
	switch v {
	case Passed:
		return "passed", "ok"
	case Failed:
		return "failed", "bad"
	case Inconclusive:
		return "inconclusive", "inc"
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
	total := map[Verdict]int{}
	var maxDur float64
	for i := range r.Specs {
		s := &r.Specs[i]
		total[s.Verdict]++
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
	checklist, other := map[Verdict]int{}, map[Verdict]int{}
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
			checklist[Verdict(rv.Verdict)]++
			v.Checklist = append(v.Checklist, rv)
		} else {
			other[Verdict(rv.Verdict)]++
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

	plan := map[Verdict]int{}
	for _, row := range v.PlanRows {
		plan[Verdict(row.Verdict)]++ // "not run" counts under its own word
	}
	switch {
	case total[Failed] > 0:
		v.Overall, v.OverallClass = "FAILED", "bad"
	case total[Inconclusive] > 0:
		v.Overall, v.OverallClass = "INCONCLUSIVE", "inc"
	case notRun > 0 || total[Skipped] > 0:
		v.Overall, v.OverallClass = "INCOMPLETE", "skip"
	case total[Passed] == 0:
		v.Overall, v.OverallClass = "NO SPECS", "none"
	default:
		v.Overall, v.OverallClass = "PASSED", "ok"
	}
	parts := []string{fmt.Sprintf("%d of %d plan rows passed", plan[Passed], len(v.PlanRows)) + notPassed(plan)}
	if v.ChecklistN > 0 {
		parts = append(parts, fmt.Sprintf("checklist %d/%d", v.ChecklistPassed, v.ChecklistN)+notPassed(checklist))
	}
	if len(v.Other) > 0 {
		parts = append(parts, fmt.Sprintf("other specs %d/%d", other[Passed], len(v.Other))+notPassed(other))
	}
	v.Headline = strings.Join(parts, " · ")
	return v
}

// notPassed lists, after a "passed" count, how many of a group were
// inconclusive, failed, skipped or did not run: ", 1 inconclusive, 1 failed".
func notPassed(n map[Verdict]int) string {
	var b strings.Builder
	for _, w := range []Verdict{Inconclusive, Failed, Skipped, "not run", "unknown"} {
		if n[w] > 0 {
			fmt.Fprintf(&b, ", %d %s", n[w], w)
		}
	}
	return b.String()
}

// hasDetail reports whether a non-plan spec gets its own card: it has a
// chart, checks, or something went wrong worth reading.
func hasDetail(s *Spec) bool {
	return len(s.Timeline) > 0 || len(s.Checks) > 0 || s.Failure != "" || len(s.HistoryExcerpt) > 0 || s.Health != nil
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
	if s.Verdict != Passed {
		rv.Why = clip(firstLine(s.Failure), 160)
	}
	if s.PlanRow() > 0 && s.Verdict != Skipped {
		rv.Figures = figures(s)
		rv.Projected, rv.ProjectedTitle = projected(s)
	}
	return rv
}

// figures are the chips of a plan row. Detection and RTO show the bound of
// the check they come from, in the check's own words, so a chip never shows
// a number other than the one enforced; a chip takes the colour of the
// worst verdict of the checks behind it.
func figures(s *Spec) []figure {
	o, b := s.Observed, s.Bounds
	rpo := figure{Label: "RPO", Value: fmt.Sprintf("%d msg · %s", o.RPOMessages, fmtSeconds(o.RPOSeconds))}
	if c := s.findCheck(func(n string) bool { return n == "rpo" }); c != nil && c.Bound != nil {
		rpo.Bound, rpo.Title = "≤ "+boundHead(boundText(c.Bound)), boundText(c.Bound)
	}
	rpo.Class = s.worstClass(func(n string) bool { return n == "rpo" || n == "no-acked-message-lost" })
	if rpo.Class == "" && len(s.Checks) == 0 && (o.RPOMessages > 0 || o.RPOSeconds > 0) {
		rpo.Class = "bad" // a record without checks: any loss is bad
	}
	f := []figure{
		boundFigure(s, "detect", o.DetectionSeconds, b.DetectionSeconds, s.DetectionCheck()),
		boundFigure(s, "RTO", o.RTOSeconds, b.RTOSeconds, s.RTOCheck()),
		boundFigure(s, "failback", o.FailbackSeconds, b.FailbackSeconds, s.FailbackCheck()),
		rpo,
	}
	errs := strconv.Itoa(o.ClientErrors)
	if o.Requests > 0 {
		errs = fmt.Sprintf("%d / %d (%s %%)", o.ClientErrors, o.Requests,
			strconv.FormatFloat(100*float64(o.ClientErrors)/float64(o.Requests), 'f', 1, 64))
	}
	f = append(f,
		figure{Label: "errors", Value: errs, Class: s.worstClass(func(n string) bool { return n == "client-error-rate" })},
		figure{Label: "alerts", Value: strconv.Itoa(o.Alerts), Class: s.worstClass(func(n string) bool {
			return strings.HasPrefix(n, "alert-received(") || strings.HasPrefix(n, "alert-once(")
		})})
	return f
}

// boundFigure is the chip of a bounded time figure. With its check, it shows
// the check's value and the check's bound text (its total up front, the whole
// text as the chip's title); without one, the record's figures.
func boundFigure(s *Spec, label string, v, bound float64, c *check.Result) figure {
	f := figure{Label: label, Value: fmtSeconds(v)}
	switch {
	case c != nil:
		f.Value = fmtValue(c.Value, "s")
		if c.Bound != nil {
			f.Bound, f.Title = "≤ "+boundHead(boundText(c.Bound)), boundText(c.Bound)
		}
		f.Class = verdictClass(CheckVerdict(*c))
	case len(s.Checks) > 0 && v == 0 && bound == 0:
		f.Value = "—" // the spec made no such check: not measured
	case bound > 0:
		f.Bound = "≤ " + fmtSeconds(bound)
		if v > bound {
			f.Class = "bad"
		}
	}
	return f
}

// projected is the real-time line of a time-compressed run: the detection
// and RTO bounds projected to real time (from the checks when they carry the
// projection, else the record's projected figures) and the RPO window
// scaled back. The title holds the projected bounds in full.
func projected(s *Spec) (string, string) {
	p := s.Projected
	var parts, full []string
	for _, x := range []struct {
		label string
		c     *check.Result
		v     float64
	}{{"detect", s.DetectionCheck(), pv(p, 0)}, {"RTO", s.RTOCheck(), pv(p, 1)}, {"failback", s.FailbackCheck(), pv(p, 2)}} {
		switch {
		case x.c != nil && x.c.Bound != nil && x.c.Bound.ProjectedText != "":
			parts = append(parts, x.label+" bound "+boundHead(x.c.Bound.ProjectedText))
			full = append(full, x.label+": "+x.c.Bound.ProjectedText)
		case p != nil && x.v > 0:
			parts = append(parts, x.label+" bound "+fmtSeconds(x.v))
		}
	}
	if p == nil && len(parts) == 0 {
		return "", ""
	}
	if p != nil {
		parts = append(parts, "RPO "+fmtSeconds(p.RPOSeconds))
	}
	return "real time: " + strings.Join(parts, " · "), strings.Join(full, "\n")
}

// pv is field i (detection, RTO, failback) of a possibly absent projection.
func pv(p *Projected, i int) float64 {
	switch {
	case p == nil:
		return 0
	case i == 0:
		return p.DetectionSeconds
	case i == 1:
		return p.RTOSeconds
	}
	return p.FailbackSeconds
}

// findCheck returns the first of the spec's checks whose name matches.
func (s *Spec) findCheck(match func(string) bool) *check.Result {
	for i := range s.Checks {
		if match(s.Checks[i].Name) {
			return &s.Checks[i]
		}
	}
	return nil
}

// worstClass is the style of the worst verdict among the matching checks:
// "bad" when one failed, "inc" when one was not judged, "" otherwise.
func (s *Spec) worstClass(match func(string) bool) string {
	class := ""
	for _, c := range s.Checks {
		if !match(c.Name) {
			continue
		}
		switch CheckVerdict(c) {
		case check.Failed:
			return "bad"
		case check.Inconclusive:
			class = "inc"
		}
	}
	return class
}

func verdictClass(v check.Verdict) string {
	switch v {
	case check.Failed:
		return "bad"
	case check.Inconclusive:
		return "inc"
	}
	return ""
}

func detail(s *Spec, anchor string, colours map[string]string) detailView {
	word, class := verdictView(s.Verdict)
	d := detailView{
		Anchor: anchor, Label: specLabel(s), Name: s.Name, Expected: s.Expected,
		Verdict: word, VClass: class, Time: fmtSeconds(s.DurationSeconds),
		Failure: s.Failure, History: s.HistoryExcerpt, Artifacts: s.Artifacts,
	}
	if d.Failure != "" || len(d.History) > 0 {
		switch s.Verdict {
		case Failed:
			d.WhyTitle = "Why it failed"
		case Inconclusive:
			d.WhyTitle = "Why it is inconclusive"
		case Skipped:
			d.WhyTitle = "Why it did not run"
		default:
			d.WhyTitle = "Notes"
		}
	}
	if row := s.PlanRow(); row > 0 {
		if d.Expected == "" {
			d.Expected = Plan[row-1].Expected
		}
		if s.Verdict != Skipped {
			d.Figures = figures(s)
			d.Projected, d.ProjectedTitle = projected(s)
		}
	}
	if h := s.Health; h != nil {
		d.Health = h.Reason
		if d.Health == "" {
			d.Health = fmt.Sprintf("harness timers up to %s late, LB health rounds up to %s late, slack %s",
				fmtSeconds(h.HarnessLag), fmtSeconds(h.LBLag), fmtSeconds(h.Slack))
		}
		if h.Starved {
			d.HealthClass = "inc"
		}
	}
	var run []string
	if s.Attempts > 0 {
		a := fmt.Sprintf("%d attempt", s.Attempts)
		if s.Attempts > 1 {
			a += "s (inconclusive runs retried with a fresh seed)"
		}
		run = append(run, a)
	}
	if s.Seed != 0 {
		seed := "seed " + strconv.FormatInt(s.Seed, 10)
		if s.Attempts > 1 {
			seed += " (the last attempt's)"
		}
		run = append(run, seed)
	}
	d.Run = strings.Join(run, " · ")
	d.Objectives = objectiveRows(s)
	d.Checks, d.ChecksSummary, d.HasProjection = checkRows(s)
	d.ChecksOpen = s.Verdict != Passed
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

// objectiveRows lays out the spec's objectives: objective, the config's
// estimate and the measurement, with the verdict of the check that held
// the measurement to the objective ("not measured" when the row has none).
func objectiveRows(s *Spec) []objectiveRow {
	var out []objectiveRow
	for _, o := range s.Objectives {
		row := objectiveRow{Name: strings.ToUpper(o.Name), Field: o.Field, Objective: fmtSeconds(o.ObjectiveSeconds),
			Estimate: "unbounded", EstimateTitle: o.Estimate, Measured: "—", Verdict: "not measured", VClass: "none"}
		if o.Name == "detection" {
			row.Name = o.Name
		}
		if o.EstimateSeconds != nil {
			row.Estimate = fmtSeconds(*o.EstimateSeconds)
		}
		if o.EstimateSeconds == nil || *o.EstimateSeconds > o.ObjectiveSeconds {
			row.EstimateClass = "bad"
		}
		if o.MeasuredSeconds != nil {
			row.Measured = fmtValue(*o.MeasuredSeconds, "s")
			if c := s.findCheck(func(n string) bool { return n == o.Check }); c != nil {
				row.Verdict, row.VClass = verdictView(Verdict(CheckVerdict(*c)))
			} else {
				row.Verdict = "not judged"
			}
		}
		out = append(out, row)
	}
	return out
}

// checkRows lays out every check of a spec, in the order it was made, with
// a count by verdict, and whether any carries a real-time bound.
func checkRows(s *Spec) ([]checkRow, string, bool) {
	var rows []checkRow
	n := map[check.Verdict]int{}
	proj := false
	for _, c := range s.Checks {
		v := CheckVerdict(c)
		n[v]++
		word, class := verdictView(Verdict(v))
		row := checkRow{Verdict: word, VClass: class, Class: string(c.Class), Name: c.Name,
			Value: fmtValue(c.Value, c.Unit), Reason: c.Reason}
		if c.Artifact != "" && s.Artifacts != "" {
			// The report sits in the run's folder, the spec's files in artifacts/<spec>/.
			row.Link = path.Join("artifacts", filepath.Base(s.Artifacts), c.Artifact)
		}
		if c.Bound != nil {
			row.Bound = boundText(c.Bound)
			row.Projected = c.Bound.ProjectedText
			proj = proj || row.Projected != ""
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, "", false
	}
	sum := fmt.Sprintf("%d of %d passed", n[check.Passed], len(rows))
	for _, v := range []check.Verdict{check.Inconclusive, check.Failed} {
		if n[v] > 0 {
			sum += fmt.Sprintf(", %d %s", n[v], v)
		}
	}
	return rows, sum, proj
}

// boundText is a bound as the check enforced it: its text, or its limit
// when the check gave none.
func boundText(b *check.Bound) string {
	if b.Text != "" {
		return b.Text
	}
	return "≤ " + fmtValue(b.Limit, b.Unit)
}

// fmtValue formats a check's measured value in its unit: seconds as
// fmtSeconds, ratios as percentages, counts as integers. A value that never
// came (an infinite detection time) reads "never".
func fmtValue(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case (math.IsInf(v, 1) || v >= check.Never) && unit == "s":
		return "never"
	case math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	switch unit {
	case "s":
		return fmtSeconds(v)
	case "ratio":
		return strconv.FormatFloat(100*v, 'g', 3, 64) + " %"
	case "count", "":
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64) + " " + unit
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
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
