package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/agentops/failover-harness/reports"
)

func init() {
	register(command{name: "report", summary: "render a run.json as the self-contained HTML report", run: runReport})
}

func runReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos report", flag.ContinueOnError)
	out := fs.String("o", "", "output HTML file (default: "+reports.HTMLFile+" beside RUN_JSON)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: chaos report RUN_JSON [-o OUT.html]")
		fs.PrintDefaults()
	}
	pos, code, ok := parseArgs(fs, args, 1, 1, stdout, stderr)
	if !ok {
		return code
	}
	rec, err := reports.ReadRecord(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "chaos report: %s: %v\n", pos[0], err)
		return 1
	}
	dst := *out
	if dst == "" {
		dst = filepath.Join(filepath.Dir(pos[0]), reports.HTMLFile)
	}
	// Render in memory first so a template error never truncates an
	// existing report.
	var page bytes.Buffer
	if err := reports.RenderHTML(&page, rec); err != nil {
		fmt.Fprintf(stderr, "chaos report: %v\n", err)
		return 1
	}
	if err := os.WriteFile(dst, page.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "chaos report: -o: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "report: %s\n", dst)
	return 0
}
