package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/agentops/failover-harness/reports"
)

func init() {
	register(command{name: "verdict", summary: "print a run record's verdicts and exit with the run's code (make chaos uses it)", run: runVerdict})
}

func runVerdict(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos verdict", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: chaos verdict RUN.json")
		fmt.Fprintln(fs.Output(), "Prints one line per spec that did not pass and a summary.")
		fmt.Fprintln(fs.Output(), "Exit status: 0 every spec passed, 1 one failed, 2 bad usage or unreadable record, 3 none failed but one was inconclusive.")
	}
	pos, code, ok := parseArgs(fs, args, 1, 1, stdout, stderr)
	if !ok {
		return code
	}
	rec, err := reports.ReadRecord(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "chaos verdict: %v\n", err)
		return 2
	}
	counts := map[reports.Verdict]int{}
	for _, s := range rec.Specs {
		counts[s.Verdict]++
		if s.Verdict == reports.Failed || s.Verdict == reports.Inconclusive {
			fmt.Fprintf(stdout, "%-12s %s: %s\n", s.Verdict, s.Name, firstLine(s.Failure))
		}
	}
	fmt.Fprintf(stdout, "verdict: %d passed, %d failed, %d inconclusive, %d skipped (seed %d; replay: %s)\n",
		counts[reports.Passed], counts[reports.Failed], counts[reports.Inconclusive], counts[reports.Skipped], rec.Seed, rec.Command)
	return exitCode(counts)
}

// exitCode is the documented exit status for a set of verdicts.
func exitCode(counts map[reports.Verdict]int) int {
	switch {
	case counts[reports.Failed] > 0:
		return exitFailed
	case counts[reports.Inconclusive] > 0:
		return exitInconclusive
	}
	return 0
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
