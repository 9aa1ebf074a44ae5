package reports

import (
	"bytes"
	"html/template"
	"regexp"
	"strings"
	"testing"
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
	r := Sample()
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
		">PASSED<", "7 of 7 plan rows passed", "checklist 10/10",
		"make chaos SEED=42", "conflict_strategy", "last-write-wins", "go1.26.0",
		"real time: detect 1 m 45 s", // projected figures of plan-1
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
	if !strings.Contains(out, "acknowledged message lost: session s-0007") {
		t.Errorf("failure reason missing")
	}
	if !strings.Contains(out, `<pre class="history">`) || !strings.Contains(out, "m-0007-031") {
		t.Errorf("history excerpt missing")
	}
	// The RTO above its bound is flagged.
	if !regexp.MustCompile(`<span class="fig bad"><span class="k">RTO</span><span class="v">2.6 s</span>`).MatchString(out) {
		t.Errorf("RTO over its bound is not flagged")
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
	if !strings.Contains(out, template.HTMLEscapeString(Plan[5].Scenario)) {
		t.Errorf("missing row 6 does not show its scenario")
	}
	if !strings.Contains(out, ">INCOMPLETE<") {
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
	if n := strings.Count(out, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img"); n < 8 {
		t.Errorf("escaped text appears %d times, want at least 8 (name, failure, history, fault, event, checklist, config, command...)", n)
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
