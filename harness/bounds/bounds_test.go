package bounds

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestDetectionFormula(t *testing.T) {
	cases := []struct {
		name  string
		p     Probe
		total time.Duration
		terms []time.Duration
	}{
		// interval + (threshold-1) × max(interval, timeout) + timeout
		{"timeout longer than interval", Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 2}, 400 * ms, []time.Duration{100 * ms, 150 * ms, 150 * ms}},
		{"interval longer than timeout", Probe{Interval: 10 * time.Second, Timeout: 3 * time.Second, Threshold: 3}, 33 * time.Second, []time.Duration{10 * time.Second, 20 * time.Second, 3 * time.Second}},
		{"threshold 1: no rounds term", Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 1}, 250 * ms, []time.Duration{100 * ms, 150 * ms}},
		{"threshold 0 counts as 1", Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 0}, 250 * ms, []time.Duration{100 * ms, 150 * ms}},
		{"equal interval and timeout", Probe{Interval: time.Second, Timeout: time.Second, Threshold: 5}, 6 * time.Second, []time.Duration{time.Second, 4 * time.Second, time.Second}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Detection(c.p, "lb.health.")
			if got := d.Total(); got != c.total {
				t.Errorf("Total = %v, want %v (%s)", got, c.total, d)
			}
			if len(d.Terms) != len(c.terms) {
				t.Fatalf("%d terms, want %d: %s", len(d.Terms), len(c.terms), d)
			}
			for i, x := range d.Terms {
				if x.D != c.terms[i] {
					t.Errorf("term %d (%s) = %v, want %v", i, x.Name, x.D, c.terms[i])
				}
				if x.D == 0 {
					t.Errorf("term %d (%s) is zero", i, x.Name)
				}
				if !x.Scaled {
					t.Errorf("term %d (%s) comes from the configuration and must be scaled", i, x.Name)
				}
				if !strings.Contains(x.Name, "lb.health") {
					t.Errorf("term %d name %q does not carry the prefix", i, x.Name)
				}
			}
			if d.Allowance() != 0 {
				t.Errorf("a configuration bound has allowance %v", d.Allowance())
			}
		})
	}
}

func TestDetectionTermNames(t *testing.T) {
	d := Detection(Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 3}, "region_health.")
	want := []string{
		"region_health.interval (first failing round)",
		"2 × region_health round (max of interval, timeout)",
		"region_health.timeout (last probe)",
	}
	for i, w := range want {
		if d.Terms[i].Name != w {
			t.Errorf("term %d = %q, want %q", i, d.Terms[i].Name, w)
		}
	}
}

func TestRecoveryAddsTries(t *testing.T) {
	det := Detection(Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 2}, "lb.health.")
	cases := []struct {
		name  string
		r     Retry
		tries int
	}{
		{"retry off: one try", Retry{Enabled: false, Attempts: 5, PerTry: 200 * ms}, 1},
		{"retry on, 3 attempts", Retry{Enabled: true, Attempts: 3, PerTry: 200 * ms}, 3},
		{"retry on, 0 attempts counts as 1", Retry{Enabled: true, Attempts: 0, PerTry: 200 * ms}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := Recovery(det, c.r)
			if want := det.Total() + time.Duration(c.tries)*c.r.PerTry; rec.Total() != want {
				t.Errorf("Total = %v, want %v (%s)", rec.Total(), want, rec)
			}
			if len(rec.Terms) != len(det.Terms)+1 {
				t.Fatalf("want the detection terms plus one: %s", rec)
			}
			last := rec.Terms[len(rec.Terms)-1]
			if !last.Scaled || !strings.HasPrefix(last.Name, fmt.Sprintf("%d × lb.retry.per_try_timeout", c.tries)) {
				t.Errorf("last term %+v: want a scaled %d × lb.retry.per_try_timeout", last, c.tries)
			}
			in := InFlight(c.r)
			if in.Total() != time.Duration(c.tries)*c.r.PerTry || len(in.Terms) != 1 || !in.Terms[0].Scaled {
				t.Errorf("InFlight = %s, want %d × %v scaled", in, c.tries, c.r.PerTry)
			}
		})
	}
	// Recovery must not alias the detection bound's terms.
	det2 := Detection(Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 2}, "lb.health.")
	_ = Recovery(det2, Retry{Enabled: true, Attempts: 2, PerTry: ms})
	if det2.Total() != 400*ms || len(det2.Terms) != 3 {
		t.Errorf("Recovery changed its input: %s", det2)
	}
}

func TestHarnessMeasured(t *testing.T) {
	det := Detection(Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 2}, "lb.health.")
	h := Harness{Slack: 100 * ms, ClientPause: 40 * ms}

	sys := h.Measured(det, false)
	if sys.Total() != 500*ms || sys.Allowance() != 100*ms {
		t.Errorf("system bound %s: want 500ms with 100ms allowance", sys)
	}
	for _, x := range sys.Terms {
		if x.Name == "client resend pause" {
			t.Errorf("a system bound must not include the client pause: %s", sys)
		}
	}
	user := h.Measured(det, true)
	if user.Total() != 540*ms || user.Allowance() != 140*ms {
		t.Errorf("user bound %s: want 540ms with 140ms allowance", user)
	}
	names := map[string]bool{}
	for _, x := range user.Terms {
		names[x.Name] = true
		if (x.Name == "client resend pause" || x.Name == "scheduling slack") && x.Scaled {
			t.Errorf("allowance %q must not be scaled", x.Name)
		}
	}
	if !names["client resend pause"] || !names["scheduling slack"] {
		t.Errorf("user bound lacks an allowance term: %s", user)
	}
	if z := (Harness{}).Measured(det, true); len(z.Terms) != len(det.Terms) {
		t.Errorf("zero allowances must add no terms: %s", z)
	}
	if det.Total() != 400*ms || len(det.Terms) != 3 {
		t.Errorf("Measured changed its input: %s", det)
	}
	if DefaultHarness.Slack != 100*ms || DefaultHarness.ClientPause != 40*ms {
		t.Errorf("DefaultHarness = %+v", DefaultHarness)
	}

	lb := Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 2}
	if got := LBDetection(lb, h).Total(); got != 500*ms {
		t.Errorf("LBDetection = %v, want 500ms", got)
	}
	// 400ms detection + 2 × 200ms tries + 40ms pause + 100ms slack
	if got := RTO(lb, Retry{Enabled: true, Attempts: 2, PerTry: 200 * ms}, h).Total(); got != 940*ms {
		t.Errorf("RTO = %v, want 940ms", got)
	}
	if got := RegionDetection(Probe{Interval: time.Second, Timeout: 500 * ms, Threshold: 3}, h).Total(); got != 3600*ms {
		t.Errorf("RegionDetection = %v, want 3.6s", got)
	}
	// 3 × max(100, 150) + 150 (last probe)
	if got := Rounds(lb, 3, "why").Total(); got != 600*ms {
		t.Errorf("Rounds = %v, want 600ms", got)
	}
}

func TestProjectScalesOnlyConfigurationTerms(t *testing.T) {
	h := Harness{Slack: 100 * ms, ClientPause: 40 * ms}
	b := RTO(Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 2}, Retry{Enabled: true, Attempts: 2, PerTry: 200 * ms}, h)
	cases := []struct {
		k    float64
		want time.Duration
	}{
		{1, 940 * ms},
		{10, 8*time.Second + 140*ms},  // (400 + 400) × 10 + 140
		{2.5, 2*time.Second + 140*ms}, // 800 × 2.5 + 140
		{0.5, 940 * ms},               // k < 1: as run
		{0, 940 * ms},                 // invalid
		{-3, 940 * ms},                // invalid
		{math.NaN(), 940 * ms},        // invalid
		{math.Inf(1), 940 * ms},       // invalid
	}
	for _, c := range cases {
		if got := b.Project(c.k); got != c.want {
			t.Errorf("Project(%g) = %v, want %v", c.k, got, c.want)
		}
	}
	if b.Total() != b.Project(1) {
		t.Errorf("Total %v != Project(1) %v", b.Total(), b.Project(1))
	}
}

func TestFormatShowsEveryTermAndTotal(t *testing.T) {
	d := Detection(Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 2}, "lb.health.")
	want := "400ms = 100ms lb.health.interval (first failing round) + 150ms 1 × lb.health round (max of interval, timeout) + 150ms lb.health.timeout (last probe)"
	if got := d.String(); got != want {
		t.Errorf("String =\n %q\nwant\n %q", got, want)
	}
	if d.Format(1) != d.String() {
		t.Errorf("Format(1) %q != String %q", d.Format(1), d.String())
	}
	m := DefaultHarness.Measured(d, true)
	// projected ×10: configuration terms ×10, allowances unchanged
	wantK := "4.14s = 1s lb.health.interval (first failing round) + 1.5s 1 × lb.health round (max of interval, timeout) + 1.5s lb.health.timeout (last probe) + 40ms client resend pause + 100ms scheduling slack"
	if got := m.Format(10); got != wantK {
		t.Errorf("Format(10) =\n %q\nwant\n %q", got, wantK)
	}
	for _, x := range m.Terms {
		if !strings.Contains(m.String(), x.Name) {
			t.Errorf("String %q lacks term %q", m.String(), x.Name)
		}
	}
	if !strings.HasPrefix(m.String(), "540ms = ") {
		t.Errorf("String %q must start with the total", m.String())
	}
	if got := (Duration{}).String(); got != "0s = " {
		t.Errorf("empty bound renders %q", got)
	}
}

func TestRound(t *testing.T) {
	cases := []struct{ in, want time.Duration }{
		{1234 * time.Nanosecond, 1 * time.Microsecond},
		{1234567 * time.Nanosecond, 1 * ms},
		{1500 * time.Microsecond, 2 * ms},
		{59*time.Second + 400*time.Microsecond, 59 * time.Second},
		{90*time.Second + 123*ms, 90*time.Second + 100*ms},
	}
	for _, c := range cases {
		if got := Round(c.in); got != c.want {
			t.Errorf("Round(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestRPOFor(t *testing.T) {
	if r := RPOFor("on-ack", 5*time.Second); r.Unbounded || r.Window != 0 || r.Messages == "" {
		t.Errorf("on-ack: %+v, want window 0", r)
	}
	if r := RPOFor("periodic", 5*time.Second); r.Unbounded || r.Window != 5*time.Second || !strings.Contains(r.Messages, "5s") {
		t.Errorf("periodic: %+v, want window 5s", r)
	}
	if r := RPOFor("on-mutation", 5*time.Second); !r.Unbounded {
		t.Errorf("on-mutation: %+v, want unbounded", r)
	}
	if r := RPOFor("bogus", 5*time.Second); !r.Unbounded || !strings.Contains(r.Messages, "invalid") {
		t.Errorf("unknown policy: %+v, want unbounded and said invalid", r)
	}
}

// Absurd configuration values saturate at the largest duration; a total
// never wraps around to a negative one.
func TestSaturation(t *testing.T) {
	const huge = time.Duration(math.MaxInt64 / 2)
	det := Detection(Probe{Interval: huge, Timeout: huge, Threshold: 1 << 40}, "lb.health.")
	if det.Total() != math.MaxInt64 {
		t.Errorf("Detection total %v, want saturation at %v", det.Total(), time.Duration(math.MaxInt64))
	}
	for _, x := range det.Terms {
		if x.D < 0 {
			t.Errorf("term %q negative: %v", x.Name, x.D)
		}
	}
	rec := Recovery(Detection(Probe{Interval: time.Second, Timeout: time.Second, Threshold: 3}, ""), Retry{Enabled: true, Attempts: math.MaxInt, PerTry: time.Hour})
	if rec.Total() != math.MaxInt64 {
		t.Errorf("Recovery total %v, want saturation", rec.Total())
	}
	if m := DefaultHarness.Measured(det, true); m.Total() != math.MaxInt64 || m.Allowance() != 140*ms {
		t.Errorf("Measured total %v allowance %v", m.Total(), m.Allowance())
	}
	if got := Rounds(Probe{Interval: huge, Timeout: time.Second}, math.MaxInt, "x").Total(); got != math.MaxInt64 {
		t.Errorf("Rounds total %v, want saturation", got)
	}
	if got := satMul(time.Second, 0); got != 0 {
		t.Errorf("satMul(1s, 0) = %v", got)
	}
	if got := satMul(time.Second, -2); got != 0 {
		t.Errorf("satMul(1s, -2) = %v", got)
	}
}

func TestProjectSaturates(t *testing.T) {
	const huge = time.Duration(math.MaxInt64 / 2)
	cases := []struct {
		d Duration
		k float64
	}{
		{Duration{Terms: []Term{{Name: "x", D: huge, Scaled: true}}}, 4},
		{Duration{Terms: []Term{{Name: "x", D: 1000 * time.Hour, Scaled: true}, {Name: "y", D: time.Second}}}, 1e4},
		{Duration{Terms: []Term{{Name: "x", D: time.Second, Scaled: true}}}, math.MaxFloat64},
	}
	for _, c := range cases {
		if got := c.d.Project(c.k); got != math.MaxInt64 {
			t.Errorf("Project(%g) of %v = %v, want saturation at %v", c.k, c.d.Terms, got, time.Duration(math.MaxInt64))
		}
		if s := c.d.Format(c.k); strings.Contains(s, "-") {
			t.Errorf("Format(%g) = %q shows a negative duration", c.k, s)
		}
	}
}

// Failback: the round in flight at the heal, then the passing rounds, the
// last probe's answer, plus an ejection where one applied.
func TestFailback(t *testing.T) {
	p := Probe{Interval: 100 * time.Millisecond, Timeout: 150 * time.Millisecond, Threshold: 2}
	if got := Failback(p, Ejection{}, "lb.health.").Total(); got != 400*time.Millisecond {
		t.Fatalf("failback = %v, want 150ms + 1 × 100ms + 150ms", got)
	}
	if got := Failback(p, Ejection{For: 800 * time.Millisecond}, "lb.health.").Total(); got != 1200*time.Millisecond {
		t.Fatalf("failback with ejection = %v", got)
	}
	// An ejection may begin one per-try timeout after the heal.
	if got := Failback(p, Ejection{For: 800 * time.Millisecond, Late: 400 * time.Millisecond}, "lb.health.").Total(); got != 1600*time.Millisecond {
		t.Fatalf("failback with a late ejection = %v", got)
	}
	one := Probe{Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond, Threshold: 1}
	if got := Failback(one, Ejection{}, "").Total(); got != 150*time.Millisecond {
		t.Fatalf("threshold 1: %v", got)
	}
	m := LBFailback(p, Ejection{}, DefaultHarness)
	if m.Total() != 500*time.Millisecond || !strings.Contains(m.String(), "scheduling slack") {
		t.Fatalf("measured: %s", m)
	}
	if r := RegionFailback(p, DefaultHarness); r.Total() != 500*time.Millisecond {
		t.Fatalf("region failback: %s", r)
	}
}

// Through an Alertmanager the first page waits group_wait more than the
// LB's detection, the resolution group_interval more than the LB's round;
// without one the bounds are the LB's own. Each is one number, its terms
// named so validate and the report print them.
func TestLBAlertBounds(t *testing.T) {
	lb := Probe{Interval: 100 * ms, Timeout: 150 * ms, Threshold: 2}
	h := Harness{Slack: 100 * ms, ClientPause: 40 * ms}
	am := Alertmanager{GroupWait: 200 * ms, GroupInterval: time.Second}
	if got, want := LBAlert(lb, Alertmanager{}, h).Total(), LBDetection(lb, h).Total(); got != want {
		t.Fatalf("without an Alertmanager: %v, want the detection bound %v", got, want)
	}
	fire := LBAlert(lb, am, h)
	if got, want := fire.Total(), LBDetection(lb, h).Total()+200*ms; got != want {
		t.Fatalf("through an Alertmanager: %v, want detection + group_wait = %v", got, want)
	}
	if s := fire.String(); !strings.Contains(s, "200ms alertmanager.group_wait") || !strings.HasSuffix(s, "100ms scheduling slack") {
		t.Fatalf("firing bound %q", s)
	}
	if got := LBAlertResolve(lb, Alertmanager{}, h).Total(); got != 250*ms {
		t.Fatalf("resolve without an Alertmanager: %v, want one round (150ms) + slack", got)
	}
	res := LBAlertResolve(lb, am, h)
	if got := res.Total(); got != 1250*ms {
		t.Fatalf("resolve through an Alertmanager: %v, want round + group_interval + slack", got)
	}
	if s := res.String(); !strings.Contains(s, "1s alertmanager.group_interval") {
		t.Fatalf("resolve bound %q", s)
	}
	if got := res.Project(10); got != 2600*ms {
		t.Fatalf("projected ×10: %v (the LB's round scales; the Alertmanager's interval and the slack do not)", got)
	}
}
