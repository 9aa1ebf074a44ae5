package reports

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browserTimeout bounds one page check (start, load, queries, screenshot).
const browserTimeout = 60 * time.Second

// chromiumPath finds a Chromium/Chrome binary, or returns "".
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestReportInBrowser renders a green report, one with an inconclusive spec
// and one with a failed spec as well, opens each in headless Chromium with
// JavaScript disabled, and checks that the summary table and every chart
// have a non-zero size, that failed and inconclusive rows are styled as such
// in colours of their own, that every check has a row and the checks of a
// spec that did not pass are visible, that the page logs no console error or
// exception, and that it loads nothing but itself. It saves a full-page PNG
// of each next to the HTML ($REPORT_SHOT_DIR or the test's artifact dir:
// `go test -artifacts -outputdir DIR` keeps them).
func TestReportInBrowser(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium not found; install it (Debian: apt-get install -y chromium) or set CHROMIUM")
		}
		t.Skip("chromium not found; install it with `apt-get install -y chromium` (Debian) or set CHROMIUM=/path/to/chrome")
	}
	dir := os.Getenv("REPORT_SHOT_DIR")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // containers often run as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		// Disable JavaScript in Blink: the report must not need it.
		chromedp.Flag("blink-settings", "scriptEnabled=false"),
		// Chromium leaves org.chromium.Chromium.* folders in TMPDIR: give it
		// the test's own, removed when the test ends.
		chromedp.Env("TMPDIR="+t.TempDir()),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	cases := []struct {
		name      string
		rec       *Record
		wantFails int
		wantInc   int
	}{
		{"green", SamplePassed(), 0, 0},
		{"inconclusive", Sample(), 0, 1},
		{"failed", SampleWithFailure(), 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "report-"+tc.name+".html")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := RenderHTML(f, tc.rec); err != nil {
				f.Close()
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			png := checkPage(t, bctx, path, tc.rec, tc.wantFails, tc.wantInc)
			shot := filepath.Join(dir, "report-"+tc.name+".png")
			if err := os.WriteFile(shot, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("report %s, screenshot %s (%d bytes)", path, shot, len(png))
		})
	}

	// The checks above must be able to fail: a page with a hidden chart, a
	// missing stylesheet and an external image is caught, and its script does
	// not run.
	t.Run("detects-broken-page", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "broken.html")
		page := `<!DOCTYPE html><html><head><link rel="stylesheet" href="missing.css"></head><body>
<table id="plan"><tr class="planrow bad"><td>1</td></tr></table>
<svg class="timeline" style="display:none" viewBox="0 0 10 10"></svg>
<img src="http://127.0.0.1:1/x.png" alt="">
<script>document.body.insertAdjacentHTML("beforeend", "<p id=js-ran></p>")</script></body></html>`
		if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := inspectPage(bctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if f.planRows != 1 || f.failedRows != 1 || f.incRows != 0 {
			t.Errorf("rows = %d, failed = %d, inconclusive = %d; want 1, 1, 0", f.planRows, f.failedRows, f.incRows)
		}
		if len(f.charts) != 1 || f.charts[0] != [2]float64{} {
			t.Errorf("hidden chart measured as %v, want one 0x0 box", f.charts)
		}
		if len(f.problems) == 0 {
			t.Errorf("no problem reported for a missing stylesheet and an unreachable image")
		}
		t.Logf("problems seen: %q", f.problems)
		if f.scriptRan {
			t.Errorf("a page script ran; JavaScript should be disabled")
		}
		external := 0
		for _, u := range f.requests {
			if strings.HasPrefix(u, "http://") {
				external++
			}
		}
		if external != 1 {
			t.Errorf("external requests seen = %d, want 1 (%v)", external, f.requests)
		}
	})
}

// pageFacts is what the browser saw of one report.
type pageFacts struct {
	planRows, failedRows, incRows int
	checkRows                     int               // tr.check elements
	openChecks                    [][2]float64      // box of each unfolded checks table
	pills                         map[string]string // pill class → "colour / background" as computed
	charts                        [][2]float64      // width, height of each svg.timeline
	planSize, history             [2]float64        // box of #plan and of the first history excerpt (0x0 when absent)
	problems                      []string          // console errors/warnings, exceptions, browser log errors
	requests                      []string          // every URL the page requested
	scriptRan                     bool              // an element #js-ran exists: page scripts were not disabled
	png                           []byte
}

// inspectPage opens path in a new tab and collects pageFacts. It uses only
// DOM and Page domain calls, which work with page scripts disabled.
func inspectPage(bctx context.Context, path string) (*pageFacts, error) {
	ctx, cancelTab := chromedp.NewContext(bctx) // a new tab per report
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()

	f := &pageFacts{}
	var mu sync.Mutex
	// Listen runs on the goroutine that reads the browser's messages, so every
	// event sent before a later command's reply is recorded by the time that
	// command returns: no event can be missed at the end.
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			f.requests = append(f.requests, ev.Request.URL)
		case *runtime.EventExceptionThrown:
			f.problems = append(f.problems, "exception: "+ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				f.problems = append(f.problems, fmt.Sprintf("console.%s", ev.Type))
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				f.problems = append(f.problems, fmt.Sprintf("%s %s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
			}
		}
	}); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: path}).String()
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		return nil, fmt.Errorf("navigate %s: %w", pageURL, err)
	}
	count := func(sel string) ([]cdp.NodeID, error) {
		return chromedp.Run(ctx, chromedp.QueryNodeIDs(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
	}
	size := func(id cdp.NodeID) [2]float64 {
		res, err := chromedp.Call(ctx, dom.GetBoxModel, dom.GetBoxModelParams{NodeID: id})
		if err != nil || res.Model == nil { // not rendered (display:none) has no box
			return [2]float64{}
		}
		return [2]float64{float64(res.Model.Width), float64(res.Model.Height)}
	}
	rows, err := count("#plan tr.planrow")
	if err != nil {
		return nil, err
	}
	f.planRows = len(rows)
	bad, err := count("#plan tr.planrow.bad")
	if err != nil {
		return nil, err
	}
	f.failedRows = len(bad)
	inc, err := count("#plan tr.planrow.inc")
	if err != nil {
		return nil, err
	}
	f.incRows = len(inc)
	checks, err := count("tr.check")
	if err != nil {
		return nil, err
	}
	f.checkRows = len(checks)
	open, err := count("details.checks[open] table")
	if err != nil {
		return nil, err
	}
	for _, id := range open {
		f.openChecks = append(f.openChecks, size(id))
	}
	f.pills = map[string]string{}
	for _, class := range []string{"ok", "bad", "inc"} {
		sel := "#plan .pill." + class
		if ids, err := count(sel); err != nil || len(ids) == 0 {
			continue
		}
		props, err := chromedp.Run(ctx, chromedp.ComputedStyle(sel))
		if err != nil {
			return nil, fmt.Errorf("computed style of %s: %w", sel, err)
		}
		var fg, bg string
		for _, p := range props {
			switch p.Name {
			case "color":
				fg = p.Value
			case "background-color":
				bg = p.Value
			}
		}
		f.pills[class] = fg + " / " + bg
	}
	if ids, err := count("#plan"); err != nil {
		return nil, err
	} else if len(ids) > 0 {
		f.planSize = size(ids[0])
	}
	if ids, err := count(".why pre.history"); err != nil {
		return nil, err
	} else if len(ids) > 0 {
		f.history = size(ids[0])
	}
	ran, err := count("#js-ran")
	if err != nil {
		return nil, err
	}
	f.scriptRan = len(ran) > 0
	charts, err := count("svg.timeline")
	if err != nil {
		return nil, err
	}
	for _, id := range charts {
		f.charts = append(f.charts, size(id))
	}
	if f.png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return f, nil
}

func checkPage(t *testing.T, bctx context.Context, path string, rec *Record, wantFails, wantInc int) []byte {
	t.Helper()
	f, err := inspectPage(bctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if f.planRows != PlanRows {
		t.Errorf("plan table has %d rows, want %d", f.planRows, PlanRows)
	}
	if f.planSize[0] <= 0 || f.planSize[1] <= 0 {
		t.Errorf("plan table is %gx%g px, want a visible box", f.planSize[0], f.planSize[1])
	}
	if f.failedRows != wantFails {
		t.Errorf("plan table shows %d failed rows, want %d", f.failedRows, wantFails)
	}
	if f.incRows != wantInc {
		t.Errorf("plan table shows %d inconclusive rows, want %d", f.incRows, wantInc)
	}
	if wantFails+wantInc > 0 && (f.history[0] <= 0 || f.history[1] <= 0) {
		t.Errorf("history excerpt of the spec that did not pass is not visible (%gx%g px)", f.history[0], f.history[1])
	}
	checks := 0
	for _, s := range rec.Specs {
		checks += len(s.Checks)
	}
	if f.checkRows != checks {
		t.Errorf("page has %d check rows, want %d (every check of every spec)", f.checkRows, checks)
	}
	if len(f.openChecks) != wantFails+wantInc {
		t.Errorf("page has %d unfolded checks tables, want %d (one per spec that did not pass)", len(f.openChecks), wantFails+wantInc)
	}
	for i, wh := range f.openChecks {
		if wh[0] < 300 || wh[1] < 60 {
			t.Errorf("unfolded checks table %d is %gx%g px, want a visible table", i+1, wh[0], wh[1])
		}
	}
	// Passed, failed and inconclusive each look different.
	if _, ok := f.pills["ok"]; !ok {
		t.Errorf("no passed pill styled in the plan table")
	}
	if wantInc > 0 && f.pills["inc"] == "" || wantFails > 0 && f.pills["bad"] == "" {
		t.Errorf("pills computed %v, want inconclusive and failed ones", f.pills)
	}
	seen := map[string]string{}
	for class, look := range f.pills {
		if other, dup := seen[look]; dup {
			t.Errorf("pills %s and %s look the same (%s)", class, other, look)
		}
		seen[look] = class
	}
	t.Logf("pill styles: %v", f.pills)
	wantCharts := 0
	for _, s := range rec.Specs {
		if len(s.Timeline) > 0 {
			wantCharts++
		}
	}
	if len(f.charts) != wantCharts {
		t.Errorf("page has %d charts, want %d", len(f.charts), wantCharts)
	}
	for i, wh := range f.charts {
		if wh[0] < 300 || wh[1] < 80 {
			t.Errorf("chart %d is %gx%g px, want at least 300x80", i+1, wh[0], wh[1])
		}
	}
	if len(f.problems) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(f.problems, "\n"))
	}
	pageURL := (&url.URL{Scheme: "file", Path: path}).String()
	for _, u := range f.requests {
		if u != pageURL {
			t.Errorf("report loaded %q; it must be self-contained", u)
		}
	}
	return f.png
}
