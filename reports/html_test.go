package reports

import (
	"bytes"
	"html/template"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/agentops/failover-harness/harness/check"
)

func render(t *testing.T, r *Record) string {
	t.Helper()
	var b bytes.Buffer
	if err := RenderHTML(&b, r); err != nil {
		t.Fatalf("RenderHTML: %v", err)
	}
	return b.String()
}

func TestRenderHTMLStructure(t *testing.T) {
	r := SamplePassed()
	out := render(t, r)
	if got := strings.Count(out, `<tr class="planrow`); got != PlanRows {
		t.Errorf("plan table rows = %d, want %d", got, PlanRows)
	}
	if got := strings.Count(out, `<svg class="timeline"`); got != PlanRows {
		t.Errorf("timeline charts = %d, want %d (one per plan row)", got, PlanRows)
	}
	if got := strings.Count(out, `<polyline class="ln r`); got != 3*PlanRows {
		t.Errorf("region lines = %d, want %d (3 regions × %d charts)", got, 3*PlanRows, PlanRows)
	}
	if got, want := strings.Count(out, `<rect class="fault"`), 8; got != want { // plan-5 has two faults
		t.Errorf("fault windows = %d, want %d", got, want)
	}
	events := 0
	for _, s := range r.Specs {
		events += len(s.Events)
	}
	if got := strings.Count(out, `<circle class="evdot"`); got != events {
		t.Errorf("event markers = %d, want %d", got, events)
	}
	if got := strings.Count(out, `<tr class="ok"><td>`); got != 10 {
		t.Errorf("checklist rows = %d, want 10", got)
	}
	for _, want := range []string{
		">PASSED<", "7 of 7 plan rows passed · checklist 10/10<",
		"make chaos SEED=42", "conflict_strategy", "last-write-wins", "go1.26.0",
		"real time: detect bound 1m50.1s · RTO bound 2m30.1s · RPO 0 s", // projected bounds of plan-1
		`data-label="plan-7"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The summary comes before the details.
	if strings.Index(out, `id="plan"`) > strings.Index(out, `id="spec-1"`) {
		t.Errorf("plan table must come before the spec details")
	}
	// Self-contained: no scripts, no external resources.
	for _, bad := range []string{"<script", "<link", "@import", "src=", "http://", "https://"} {
		if bad == "http://" { // the SVG namespace is an identifier, not a fetch
			if n := strings.Count(out, bad); n != strings.Count(out, `xmlns="http://www.w3.org/2000/svg"`) {
				t.Errorf("report references %d external http:// URLs", n-strings.Count(out, `xmlns="http://www.w3.org/2000/svg"`))
			}
			continue
		}
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q; it must be self-contained without scripts", bad)
		}
	}
}

func TestRenderHTMLFailedSpec(t *testing.T) {
	r := SampleWithFailure()
	out := render(t, r)
	if !strings.Contains(out, ">FAILED<") {
		t.Errorf("overall verdict is not FAILED")
	}
	if got := strings.Count(out, `<tr class="planrow bad"`); got != 1 {
		t.Errorf("failed plan rows = %d, want 1", got)
	}
	if !strings.Contains(out, "5 of 7 plan rows passed, 1 inconclusive, 1 failed · checklist 10/10<") {
		t.Errorf("headline does not count the failed and the inconclusive row apart")
	}
	if !strings.Contains(out, `<div class="why bad">`) || !strings.Contains(out, "Why it failed") {
		t.Errorf("failure box missing")
	}
	for _, want := range []string{
		"no-acked-message-lost: 1 acknowledged messages lost (m-0007-031)",
		"ack-implies-durable: 1 of 412 acknowledged messages was not in the global store",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("failure reason lacks %q", want)
		}
	}
	if !strings.Contains(out, `<pre class="history">`) || !strings.Contains(out, "m-0007-031") {
		t.Errorf("history excerpt missing")
	}
	// The RTO above its bound is flagged, with the bound its check enforced.
	if !regexp.MustCompile(`<span class="fig bad" title="1.64s = [^"]*"><span class="k">RTO</span><span class="v">2.6 s</span><span class="b">≤ 1.64s</span>`).MatchString(out) {
		t.Errorf("RTO over its bound is not flagged with the rto check's bound")
	}
	// The failed checks' rows are red; the row's reason shows in the plan table.
	if got := strings.Count(out, `<tr class="check bad"`); got != 4 {
		t.Errorf("failed check rows = %d, want 4", got)
	}
	if !strings.Contains(out, `<div class="whyline">rto: a user waited 2.6s`) {
		t.Errorf("plan table lacks the first line of the failed row's reason")
	}
}

// TestRenderHTMLInconclusive: an inconclusive spec is amber, counted apart,
// never as passed or failed, with its reason up front and its starved health.
func TestRenderHTMLInconclusive(t *testing.T) {
	r := Sample()
	out := render(t, r)
	if !strings.Contains(out, `<header class="banner inc" id="summary">`) || !strings.Contains(out, `<div class="word">INCONCLUSIVE</div>`) {
		t.Errorf("overall verdict is not INCONCLUSIVE in its own style")
	}
	if !strings.Contains(out, "<title>Failover report: INCONCLUSIVE: 6 of 7 plan rows passed, 1 inconclusive · checklist 10/10</title>") {
		t.Errorf("title/headline does not count the inconclusive row")
	}
	if got := strings.Count(out, `<tr class="planrow inc" data-label="plan-3">`); got != 1 {
		t.Errorf("inconclusive plan rows = %d, want 1 (plan-3)", got)
	}
	for _, bad := range []string{`<tr class="planrow bad"`, `<tr class="planrow skip"`, `<tr class="check bad"`, ">FAILED<"} {
		if strings.Contains(out, bad) {
			t.Errorf("an inconclusive run must show no failure, found %q", bad)
		}
	}
	if got := strings.Count(out, `<span class="pill inc">inconclusive</span>`); got != 2+3 { // plan table, card, 3 liveness checks
		t.Errorf("inconclusive pills = %d, want 5", got)
	}
	card := section(t, out, "spec-3")
	s := r.Specs[2]
	why := `<div class="why inc">
    <h4>Why it is inconclusive</h4>
    <p class="reason">` + esc(s.Failure) + `</p>`
	if !strings.Contains(card, why) {
		t.Errorf("plan-3 card lacks its reason up front:\n%s", card)
	}
	if strings.Index(card, `<div class="why inc">`) > strings.Index(card, `<svg class="timeline"`) {
		t.Errorf("the reason must come before the chart")
	}
	if !strings.Contains(card, `<div class="health inc">`+esc(s.Health.Reason)+`</div>`) {
		t.Errorf("plan-3 card lacks its starved health line")
	}
	if !strings.Contains(card, "2 attempts (inconclusive runs retried with a fresh seed) · seed 133062322 (the last attempt&#39;s) · artifacts kept in <code>reports/out/artifacts/plan-3</code>") {
		t.Errorf("plan-3 card lacks attempts, seed or artifacts")
	}
	// Its detection is over the bound, but not judged: amber, not red.
	if !strings.Contains(card, `<span class="fig inc" title="2.7s = 2.4s 8 × lb.health round`) {
		t.Errorf("detection chip of the inconclusive spec is not amber")
	}
	if !strings.Contains(card, `<details class="checks" open>`) {
		t.Errorf("checks of a spec that did not pass must be unfolded")
	}
	if !strings.Contains(out, ".pill.inc { color: var(--inc); background: var(--inc-bg); }") ||
		!strings.Contains(out, "--inc: #9a6700; --inc-bg: #fff8c5;") || !strings.Contains(out, "--skip: #59636e;") {
		t.Errorf("inconclusive must have its own (amber) style, skipped grey")
	}
}

// esc is what html/template makes of s in text.
func esc(s string) string {
	var b bytes.Buffer
	template.Must(template.New("").Parse("{{.}}")).Execute(&b, s)
	return b.String()
}

// section returns the detail card with the given id.
func section(t *testing.T, out, id string) string {
	t.Helper()
	i := strings.Index(out, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no element %s", id)
	}
	j := strings.Index(out[i:], "</section>")
	return out[i : i+j]
}

// TestRenderHTMLEveryCheck: each card has a row for every check of its
// spec, with the verdict, class, name, measured value, the bound's text as
// enforced, the real-time projection and the reason.
func TestRenderHTMLEveryCheck(t *testing.T) {
	r := SampleWithFailure()
	out := render(t, r)
	rows := 0
	for i := range r.Specs {
		s := &r.Specs[i]
		if len(s.Checks) == 0 {
			t.Fatalf("sample spec %s has no checks", s.Name)
		}
		card := section(t, out, "spec-"+strconv.Itoa(i+1))
		if got := strings.Count(card, `<tr class="check `); got != len(s.Checks) {
			t.Errorf("%s: %d check rows, want %d", s.Name, got, len(s.Checks))
		}
		for _, c := range s.Checks {
			rows++
			word, class := verdictView(Verdict(CheckVerdict(c)))
			want := `<tr class="check ` + class + `" data-check="` + esc(c.Name) + `"><td><span class="pill ` + class + `">` + word +
				`</span></td><td class="cls">` + string(c.Class) + `</td><td class="name">` + esc(c.Name) +
				`</td><td class="num">` + esc(fmtValue(c.Value, c.Unit)) + `</td><td class="bound">`
			if c.Bound != nil {
				want += esc(c.Bound.Text) + `</td>`
			} else {
				want += `<span class="muted">—</span></td>`
			}
			if c.Bound != nil && c.Bound.ProjectedText != "" {
				want += `<td class="projected">` + esc(c.Bound.ProjectedText) + `</td>`
			}
			if !strings.Contains(card, want) {
				t.Errorf("%s: no row for check %s like\n%s", s.Name, c.Name, want)
			}
			if !strings.Contains(card, `<td class="reason">`+esc(c.Reason)+`</td></tr>`) {
				t.Errorf("%s: check %s reason missing", s.Name, c.Name)
			}
		}
	}
	if rows < 70 {
		t.Errorf("only %d check rows in the sample", rows)
	}
	// A projected bound, in full, as the check projected it.
	if !strings.Contains(out, `<td class="projected">`+esc("1m50.1s = 30s lb.health.interval (first failing round) + 1m0s 2 × lb.health round (max of interval, timeout) + 20s lb.health.timeout (last probe) + 100ms scheduling slack")+`</td>`) {
		t.Errorf("projected detection bound missing")
	}
	// Checks of a passed spec start folded; of one that failed, unfolded.
	if !strings.Contains(section(t, out, "spec-2"), `<details class="checks">`) || !strings.Contains(section(t, out, "spec-1"), `<details class="checks" open>`) {
		t.Errorf("checks folding: passed folded, failed open")
	}
}

// TestChipsShowTheChecksBound: the detection and RTO chips show the bound
// the check enforced, in the check's words, even when the record's bounds
// say otherwise; the record's bounds are used only without a check.
func TestChipsShowTheChecksBound(t *testing.T) {
	r := SamplePassed()
	s := &r.Specs[0]
	det, rt := s.DetectionCheck(), s.RTOCheck()
	if det == nil || rt == nil || det.Name != "detection-time(us-east-1)" || rt.Name != "rto" {
		t.Fatalf("plan-1 detection/rto checks = %v, %v", det, rt)
	}
	for _, c := range []*struct {
		label string
		text  string
	}{{"detect", det.Bound.Text}, {"RTO", rt.Bound.Text}} {
		head := boundHead(c.text)
		if !strings.HasPrefix(c.text, head+" = ") || head == "" {
			t.Fatalf("bound head %q of %q", head, c.text)
		}
		figs := figures(s)
		found := false
		for _, f := range figs {
			if f.Label == c.label {
				found = true
				if f.Bound != "≤ "+head || f.Title != c.text {
					t.Errorf("%s chip bound %q title %q, want ≤ %s and the check's text", c.label, f.Bound, f.Title, head)
				}
			}
		}
		if !found {
			t.Errorf("no %s chip", c.label)
		}
	}
	p, title := projected(s)
	if p != "real time: detect bound 1m50.1s · RTO bound 2m30.1s · RPO 0 s" || !strings.Contains(title, "RTO: 2m30.1s = ") {
		t.Errorf("projection = %q, title %q", p, title)
	}
	// The record's bounds disagree: the chip still shows what was enforced.
	s.Bounds.DetectionSeconds = 0.5
	if f := figures(s)[0]; f.Bound != "≤ 1.2s" {
		t.Errorf("detect chip with a stray record bound = %q, want the check's ≤ 1.2s", f.Bound)
	}
	// Without checks, the record's figures.
	s.Checks = nil
	if f := figures(s)[0]; f.Bound != "≤ 500 ms" || f.Class != "bad" {
		t.Errorf("detect chip without checks = %+v, want the record's bound 500 ms, flagged", f)
	}
	// A spec with checks but no RTO check: not measured.
	if f := figures(&r.Specs[4])[1]; f.Label != "RTO" || f.Value != "—" || f.Bound != "" {
		t.Errorf("plan-5 RTO chip = %+v, want — without a bound", f)
	}
}

func TestFmtValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{1.05, "s", "1.05 s"}, {math.Inf(1), "s", "never"}, {math.NaN(), "s", "—"},
		{0.0177, "ratio", "1.77 %"}, {0, "ratio", "0 %"}, {3, "count", "3"}, {401, "", "401"},
		{0.25, "", "0.25"}, {0.001, "p", "0.001 p"},
	} {
		if got := fmtValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("fmtValue(%g, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
	for in, want := range map[string]string{
		"1.2s = 300ms a + 900ms b": "1.2s", "0s (checkpoint policy: x = y)": "0s", "5.0% per request": "5.0% per request",
	} {
		if got := boundHead(in); got != want {
			t.Errorf("boundHead(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderHTMLMissingRowsNotRun(t *testing.T) {
	r := Sample()
	var kept []Spec
	for _, s := range r.Specs {
		if row := s.PlanRow(); row != 2 && row != 6 {
			kept = append(kept, s)
		}
	}
	r.Specs = kept
	out := render(t, r)
	if got := strings.Count(out, `<tr class="planrow none"`); got != 2 {
		t.Errorf("not-run rows = %d, want 2", got)
	}
	if got := strings.Count(out, `>not run<`); got != 2 {
		t.Errorf(`"not run" verdicts = %d, want 2`, got)
	}
	// A missing row still names its scenario from the plan.
	if !strings.Contains(out, esc(Plan[5].Scenario)) {
		t.Errorf("missing row 6 does not show its scenario")
	}
	if !strings.Contains(out, ">INCONCLUSIVE<") || !strings.Contains(out, "4 of 7 plan rows passed, 1 inconclusive, 2 not run") {
		t.Errorf("overall verdict should be INCONCLUSIVE (ahead of rows that did not run), with each count")
	}
	r.Specs = slices.DeleteFunc(r.Specs, func(s Spec) bool { return s.Verdict == Inconclusive })
	if out := render(t, r); !strings.Contains(out, ">INCOMPLETE<") || !strings.Contains(out, "4 of 7 plan rows passed, 3 not run") {
		t.Errorf("overall verdict should be INCOMPLETE when rows did not run")
	}
	if got := strings.Count(out, `<tr class="planrow`); got != PlanRows {
		t.Errorf("plan rows = %d, want %d", got, PlanRows)
	}
}

func TestRenderHTMLEscapes(t *testing.T) {
	r := SampleWithFailure()
	const evil = `<script>alert("x")</script> & <img src=x onerror=alert(1)>`
	r.Specs[0].Name = "pause " + evil
	r.Specs[0].Failure = "lost " + evil
	r.Specs[0].HistoryExcerpt = append(r.Specs[0].HistoryExcerpt, evil)
	r.Specs[0].Faults[0].Name = evil
	r.Specs[0].Events[0].Name = evil
	r.Specs[0].Timeline[0].Region = `"><script>x()</script>`
	r.Specs[8].Name = evil // a checklist item
	r.Specs[2].Checks[1].Name = evil
	r.Specs[2].Checks[1].Reason = evil
	r.Specs[2].Checks[1].Bound.Text = evil
	r.Specs[2].Checks[1].Bound.ProjectedText = evil
	r.Specs[2].Health.Reason = evil
	r.Specs[2].Artifacts = evil
	r.Config[evil] = evil
	r.Command = "make chaos " + evil
	r.Provider = evil
	out := render(t, r)
	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(out, bad) {
			i := strings.Index(out, bad)
			t.Errorf("unescaped %q in output near: %q", bad, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	if n := strings.Count(out, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img"); n < 16 {
		t.Errorf("escaped text appears %d times, want at least 16 (name, failure, history, fault, event, checklist, check name/reason/bounds, health, artifacts, config, command...)", n)
	}
}

func TestRenderHTMLEmptyRecord(t *testing.T) {
	out := render(t, &Record{SchemaVersion: SchemaVersion})
	if got := strings.Count(out, `>not run<`); got != PlanRows {
		t.Errorf("empty record: not-run rows = %d, want %d", got, PlanRows)
	}
	if strings.Contains(out, "<svg class=\"timeline\"") {
		t.Errorf("empty record must not draw charts")
	}
	if err := RenderHTML(&bytes.Buffer{}, nil); err == nil {
		t.Errorf("RenderHTML(nil) should fail")
	}
}

func TestFmtSeconds(t *testing.T) {
	for in, want := range map[float64]string{
		0: "0 s", 0.0504: "50 ms", 0.9996: "1 s", 1.05: "1.05 s", 9.999: "10 s", 40: "40 s",
		59.96: "1 m 00 s", 105: "1 m 45 s", 119.6: "2 m 00 s", 3600: "1 h 00 m", 5430: "1 h 31 m",
	} {
		if got := fmtSeconds(in); got != want {
			t.Errorf("fmtSeconds(%g) = %q, want %q", in, got, want)
		}
	}
}

func TestNiceScale(t *testing.T) {
	for _, tc := range []struct{ max, step, top float64 }{
		{52, 20, 60}, {80, 20, 100}, {7, 2, 8}, {0, 1, 4}, {0.3, 0.1, 0.4},
	} {
		step, top := niceScale(tc.max, 4)
		if step != tc.step || top != tc.top || top < tc.max {
			t.Errorf("niceScale(%g) = %g, %g; want %g, %g", tc.max, step, top, tc.step, tc.top)
		}
	}
}

func TestReplayCommand(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		seed int64
		want string
	}{
		{"make chaos SEED=42", 42, "make chaos SEED=42"},
		{"make chaos", 7, "make chaos SEED=7"},
		{"chaos run --config c.yaml", 9, "chaos run --config c.yaml --seed 9"},
		{"chaos run --seed=9", 9, "chaos run --seed=9"},
		{"", 3, "make chaos SEED=3"},
	} {
		if got := replayCommand(&Record{Command: tc.cmd, Seed: tc.seed}); got != tc.want {
			t.Errorf("replayCommand(%q, %d) = %q, want %q", tc.cmd, tc.seed, got, tc.want)
		}
	}
}

// The failback chip and figures are the slowest region's failback-time
// check: its value, its bound, its projection.
func TestFailbackFigureIsTheSlowestReturn(t *testing.T) {
	b := func(limit float64) *check.Bound {
		return &check.Bound{Limit: limit, Unit: "s", Text: "bound", Projected: limit * 10, ProjectedText: "projected"}
	}
	s := &Spec{Checks: []check.Result{
		{Name: "failback-time(a)", OK: true, Value: 0.1, Unit: "s", Bound: b(0.35), Verdict: check.Passed},
		{Name: "failback-time(b)", OK: false, Value: 0.9, Unit: "s", Bound: b(0.35), Verdict: check.Failed},
		{Name: "failback-time(c)", OK: true, Value: 0.2, Unit: "s", Bound: b(0.35), Verdict: check.Passed},
	}}
	s.FiguresFromChecks(10)
	if s.Observed.FailbackSeconds != 0.9 || s.Bounds.FailbackSeconds != 0.35 || s.Projected == nil || s.Projected.FailbackSeconds != 3.5 {
		t.Fatalf("figures: observed %v bound %v projected %+v", s.Observed.FailbackSeconds, s.Bounds.FailbackSeconds, s.Projected)
	}
	if c := s.FailbackCheck(); c == nil || c.Name != "failback-time(b)" {
		t.Fatalf("failback check %+v", c)
	}
	var chip *figure
	for _, f := range figures(s) {
		if f.Label == "failback" {
			chip = &f
		}
	}
	if chip == nil || chip.Class != "bad" || !strings.Contains(chip.Value, "900") {
		t.Fatalf("failback chip %+v", chip)
	}
	if line, _ := projected(s); !strings.Contains(line, "failback bound") {
		t.Fatalf("real-time line %q lacks the failback bound", line)
	}
}

// A check that kept a file (the linearizability visualization) links it
// from its row, relative to the report, inside the spec's artifacts.
func TestCheckArtifactLinked(t *testing.T) {
	r := SampleWithFailure()
	for i := range r.Specs {
		if r.Specs[i].Verdict == Failed {
			r.Specs[i].Artifacts = "reports/out/artifacts/plan-1"
			r.Specs[i].Checks = append(r.Specs[i].Checks, check.Result{Name: "linearizable", Class: check.Safety, Verdict: check.Failed,
				Reason: "1 of 9 sessions not linearizable", Artifact: "linearizability-s1.html"})
			break
		}
	}
	out := render(t, r)
	if !strings.Contains(out, `<a href="artifacts/plan-1/linearizability-s1.html">`) {
		t.Errorf("the visualization is not linked from its check")
	}
}
