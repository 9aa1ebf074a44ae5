package reports

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Chart geometry, in SVG user units; the SVG scales to its container width.
const (
	chartW       = 760.0
	chartH       = 230.0
	chartLeft    = 52.0
	chartRight   = 16.0
	chartTop     = 46.0 // room for two rows of event markers
	chartBottom  = 30.0
	markerR      = 8.0
	markerMinGap = 2*markerR + 3
)

type chartView struct {
	ViewBox                string
	X0, Y0, X1, Y1         string // plot area corners
	Aria                   string
	YTicks, XTicks         []tick
	Faults                 []rectView
	Events                 []markerView
	Lines                  []lineView
	Errors                 []errRun
	HasErrors              bool
	Legend                 []legendItem
	XLabel, YLabel, LabelY string
}

type tick struct{ Pos, Label string }
type rectView struct{ X, Y, W, H string }
type markerView struct {
	X, Y1, Y2, CY string
	N             int
}
type lineView struct{ Class, Points string }
type errRun struct{ Line, Area string }

// buildChart turns the timeline of s into SVG geometry: one line of served
// requests/s per region, the client errors/s as a red area, fault windows
// shaded, events as numbered vertical markers (named in the legend below).
func buildChart(s *Spec, colours map[string]string) *chartView {
	// Distinct bucket starts; the bucket width is the smallest gap, so counts
	// can be turned into rates whatever bucket size the harness chose.
	tset := map[float64]bool{}
	for _, p := range s.Timeline {
		tset[p.T] = true
	}
	ts := make([]float64, 0, len(tset))
	for t := range tset {
		ts = append(ts, t)
	}
	sort.Float64s(ts)
	bw := 1.0
	for i := 1; i < len(ts); i++ {
		if d := ts[i] - ts[i-1]; d > 0 && (i == 1 || d < bw) {
			bw = d
		}
	}
	index := make(map[float64]int, len(ts))
	for i, t := range ts {
		index[t] = i
	}

	ok := map[string][]float64{}
	errs := make([]float64, len(ts))
	hasErr := false
	for _, p := range s.Timeline {
		i := index[p.T]
		if p.Region != "" {
			if ok[p.Region] == nil {
				ok[p.Region] = make([]float64, len(ts))
			}
			ok[p.Region][i] += float64(p.OK) / bw
		}
		errs[i] += float64(p.Errors) / bw
		hasErr = hasErr || p.Errors > 0
	}
	regions := make([]string, 0, len(ok))
	for r := range ok {
		regions = append(regions, r)
	}
	sort.Slice(regions, func(i, j int) bool {
		ci, cj := colours[regions[i]], colours[regions[j]]
		if ci != cj {
			return ci < cj
		}
		return regions[i] < regions[j]
	})

	xmax := ts[len(ts)-1] + bw
	for _, f := range s.Faults {
		xmax = math.Max(xmax, f.End)
	}
	for _, e := range s.Events {
		xmax = math.Max(xmax, e.At)
	}
	ymax := 0.0
	for _, r := range regions {
		for _, v := range ok[r] {
			ymax = math.Max(ymax, v)
		}
	}
	for _, v := range errs {
		ymax = math.Max(ymax, v)
	}
	ystep, ytop := niceScale(ymax, 4)

	pw, ph := chartW-chartLeft-chartRight, chartH-chartTop-chartBottom
	x := func(t float64) float64 { return chartLeft + t/xmax*pw }
	y := func(v float64) float64 { return chartTop + ph - v/ytop*ph }

	c := &chartView{
		ViewBox: fmt.Sprintf("0 0 %s %s", num(chartW), num(chartH)),
		X0:      num(chartLeft), Y0: num(chartTop), X1: num(chartLeft + pw), Y1: num(chartTop + ph),
		HasErrors: hasErr,
		XLabel:    "seconds since spec start", YLabel: "req/s",
		LabelY: num(chartH - 4),
	}
	for v := 0.0; v <= ytop+ystep/2; v += ystep {
		c.YTicks = append(c.YTicks, tick{Pos: num(y(v)), Label: trimFloat(v)})
	}
	xstep, _ := niceScale(xmax, 8)
	for t := 0.0; t <= xmax+1e-9; t += xstep {
		c.XTicks = append(c.XTicks, tick{Pos: num(x(t)), Label: trimFloat(t)})
	}
	for _, f := range s.Faults {
		c.Faults = append(c.Faults, rectView{X: num(x(f.Start)), Y: num(chartTop),
			W: num(math.Max(x(f.End)-x(f.Start), 1)), H: num(ph)})
	}
	// Markers that would overlap the previous one drop to a second row.
	lastX := [2]float64{math.Inf(-1), math.Inf(-1)}
	for i, e := range sortedEvents(s.Events) {
		ex := x(e.At)
		row := 0
		if ex-lastX[0] < markerMinGap {
			row = 1
		}
		lastX[row] = ex
		cy := markerR + 2 + float64(row)*(2*markerR+2)
		c.Events = append(c.Events, markerView{X: num(ex), Y1: num(cy + markerR), Y2: num(chartTop + ph),
			CY: num(cy), N: i + 1})
	}
	var aria []string
	for _, r := range regions {
		pts := make([]string, len(ts))
		for i, t := range ts {
			pts[i] = num(x(t+bw/2)) + "," + num(y(ok[r][i]))
		}
		class := colours[r]
		if class == "" {
			class = "r5"
		}
		c.Lines = append(c.Lines, lineView{Class: class, Points: strings.Join(pts, " ")})
		c.Legend = append(c.Legend, legendItem{Name: r, Class: class})
		aria = append(aria, r)
	}
	// Errors are drawn only over runs of non-zero buckets (with the zero
	// bucket on each side), so a quiet baseline is not painted red.
	for i := 0; i < len(ts); {
		if errs[i] == 0 {
			i++
			continue
		}
		lo, hi := max(i-1, 0), i
		for hi < len(ts) && errs[hi] > 0 {
			hi++
		}
		hi = min(hi, len(ts)-1)
		var pts []string
		for j := lo; j <= hi; j++ {
			pts = append(pts, num(x(ts[j]+bw/2))+","+num(y(errs[j])))
		}
		line := strings.Join(pts, " ")
		area := num(x(ts[lo]+bw/2)) + "," + num(y(0)) + " " + line + " " + num(x(ts[hi]+bw/2)) + "," + num(y(0))
		c.Errors = append(c.Errors, errRun{Line: line, Area: area})
		i = hi + 1
	}
	c.Aria = fmt.Sprintf("Requests per second served by %s over %s; %d fault window(s), %d event(s)",
		strings.Join(aria, ", "), fmtSeconds(xmax), len(s.Faults), len(s.Events))
	return c
}

// niceScale picks a round step (1, 2, 2.5 or 5 × 10^k) so that about n steps
// cover max, and returns the step and the top of the axis.
func niceScale(max float64, n int) (step, top float64) {
	if max <= 0 || math.IsNaN(max) || math.IsInf(max, 0) {
		return 1, float64(n)
	}
	raw := max / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	top = math.Ceil(max/step-1e-9) * step
	if top < max*1.05 { // keep the highest line off the frame
		top += step
	}
	return step, top
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}
