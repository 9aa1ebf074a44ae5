package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
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
	Skipped   *struct{}     `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// junitSuiteName is the suite every spec belongs to; the classname carries the
// plan row or checklist label so CI groups them.
const junitSuiteName = "failover-harness"

// WriteJUnit writes r as JUnit XML: one testsuite, one testcase per spec, with
// the checker's reason and the history excerpt in the failure element.
// encoding/xml escapes text and replaces characters XML cannot hold.
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
		switch s.Verdict {
		case Failed:
			suite.Failures++
			msg := s.Failure
			if msg == "" {
				msg = "spec failed"
			}
			body := msg
			if len(s.HistoryExcerpt) > 0 {
				body += "\n\nhistory excerpt:\n" + strings.Join(s.HistoryExcerpt, "\n")
			}
			c.Failure = &junitFailure{Message: firstLine(msg), Type: "CheckFailed", Body: body}
		case Skipped:
			suite.Skipped++
			c.Skipped = &struct{}{}
		}
		if s.PlanRow() > 0 && s.Verdict != Skipped {
			var figs []string
			for _, f := range figures(&s) {
				figs = append(figs, strings.TrimSpace(f.Label+" "+f.Value+" "+f.Bound))
			}
			if p := projected(&s); p != "" {
				figs = append(figs, p)
			}
			c.SystemOut = strings.Join(figs, "\n")
		}
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

func secs(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
