package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/agentops/failover-harness/harness/check"
)

// JUnit XML shapes, as read by common CI systems (Jenkins, GitLab, GitHub
// test reporters): testsuites > testsuite > testcase > failure|skipped.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// junitSkipped marks a spec that was not judged: skipped (not run), or
// inconclusive (message "INCONCLUSIVE: ...").
type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// junitSuiteName is the suite every spec belongs to; the classname carries the
// plan row or checklist label so CI groups them.
const junitSuiteName = "failover-harness"

// WriteJUnit writes r as JUnit XML: one testsuite, one testcase per spec.
// A failed spec has a <failure> with the checker's reason, the failed checks
// with their bounds and the history excerpt. An inconclusive spec is neither
// a pass nor a failure of the system under test: it is <skipped> with the
// message "INCONCLUSIVE: <first line of the reason>", counted in the suite's
// skipped, and its whole reason goes to system-out. Every judged spec's
// system-out holds its figures and every check. encoding/xml escapes text
// and replaces characters XML cannot hold.
func WriteJUnit(w io.Writer, r *Record) error {
	if r == nil {
		return fmt.Errorf("write junit: record is nil")
	}
	suite := junitSuite{Name: junitSuiteName, Time: secs(r.WallSeconds)}
	if !r.StartedAt.IsZero() {
		suite.Timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	suite.Properties = []junitProperty{
		{"seed", strconv.FormatInt(r.Seed, 10)},
		{"provider", r.Provider},
		{"command", r.Command},
		{"replay", replayCommand(r)},
	}
	for _, s := range r.Specs {
		c := junitCase{Name: s.Name, Classname: junitSuiteName, Time: secs(s.DurationSeconds)}
		if l := specLabel(&s); l != "" {
			c.Classname += "." + l
		}
		var out []string
		switch s.Verdict {
		case Failed:
			suite.Failures++
			msg := s.Failure
			if msg == "" {
				msg = "spec failed"
			}
			body := msg
			if failed := s.ChecksWith(check.Failed); len(failed) > 0 {
				body += "\n\nfailed checks:\n" + checkLines(failed)
			}
			if len(s.HistoryExcerpt) > 0 {
				body += "\n\nhistory excerpt:\n" + strings.Join(s.HistoryExcerpt, "\n")
			}
			c.Failure = &junitFailure{Message: firstLine(msg), Type: "CheckFailed", Body: body}
		case Inconclusive:
			suite.Skipped++
			why := s.Failure
			if why == "" {
				why = "the harness could not judge this spec"
			}
			c.Skipped = &junitSkipped{Message: "INCONCLUSIVE: " + firstLine(why)}
			out = append(out, "INCONCLUSIVE (not a failure of the system under test): "+why)
		case Skipped:
			suite.Skipped++
			c.Skipped = &junitSkipped{Message: firstLine(s.Failure)}
		}
		if s.Verdict != Skipped {
			out = append(out, specFigures(&s)...)
		}
		c.SystemOut = strings.Join(out, "\n\n")
		suite.Cases = append(suite.Cases, c)
		suite.Tests++
	}
	doc := junitSuites{Name: junitSuiteName, Tests: suite.Tests, Failures: suite.Failures,
		Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// specFigures is the plain-text account of a judged spec: plan figures,
// real-time projection, harness health, attempts and artifacts, every check.
func specFigures(s *Spec) []string {
	var out []string
	if s.PlanRow() > 0 {
		var figs []string
		for _, f := range figures(s) {
			figs = append(figs, strings.TrimSpace(f.Label+" "+f.Value+" "+f.Bound))
		}
		if p, _ := projected(s); p != "" {
			figs = append(figs, p)
		}
		out = append(out, strings.Join(figs, "\n"))
	}
	var run []string
	if s.Health != nil && s.Health.Reason != "" {
		run = append(run, "harness health: "+s.Health.Reason)
	}
	if s.Attempts > 0 {
		run = append(run, fmt.Sprintf("attempts: %d", s.Attempts))
	}
	if s.Seed != 0 {
		run = append(run, fmt.Sprintf("seed: %d", s.Seed))
	}
	if s.Artifacts != "" {
		run = append(run, "artifacts: "+s.Artifacts)
	}
	if len(run) > 0 {
		out = append(out, strings.Join(run, "\n"))
	}
	if len(s.Checks) > 0 {
		out = append(out, "checks:\n"+checkLines(s.Checks))
	}
	return out
}

// checkLines lists checks one per entry: verdict, class, name, measured
// value, the bound as enforced (and in real time), then the reason.
func checkLines(cs []check.Result) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "- [%s] %s %s: %s", strings.ToUpper(string(CheckVerdict(c))), c.Class, c.Name, fmtValue(c.Value, c.Unit))
		if c.Bound != nil {
			fmt.Fprintf(&b, "; bound %s", boundText(c.Bound))
			if c.Bound.ProjectedText != "" {
				fmt.Fprintf(&b, "; in real time %s", c.Bound.ProjectedText)
			}
		}
		if c.Reason != "" {
			b.WriteString("\n    " + strings.ReplaceAll(c.Reason, "\n", "\n    "))
		}
	}
	return b.String()
}

func secs(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
