package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/agentops/failover-harness/harness/config"
)

func init() {
	register(command{name: "validate", summary: "lint a failover config and print the bounds it implies", run: runValidate})
}

// validateStdin is what `chaos validate -` reads (tests replace it).
var validateStdin io.Reader = os.Stdin

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos validate", flag.ContinueOnError)
	strict := fs.Bool("strict", false, "hold the LB to Route 53's limits (errors) and fail on any warning")
	format := fs.String("format", "text", "output: text or json (one JSON object per file, one per line)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "usage: chaos validate [--strict] [--format text|json] FILE...")
		fmt.Fprintln(w, "Lints SRE failover configs (YAML; - reads stdin, once) and prints, for each, the detection, failback, RTO, RPO and TTL bounds it implies,")
		fmt.Fprintln(w, "and holds them to the file's objectives (rto, rpo, detection; per-row overrides under objectives.rows): a bound over its objective is an error.")
		fmt.Fprintln(w, "  --strict         Route 53's limits become errors: lb.health.interval 10s or 30s, failure_threshold 1..10,")
		fmt.Fprintln(w, "                   success_threshold equal to failure_threshold (Route 53 has one threshold both ways);")
		fmt.Fprintln(w, "                   and every warning fails the file")
		fmt.Fprintln(w, "  --format FORMAT  text (default) or json: one object per file, one per line:")
		fmt.Fprintln(w, "                   {file, valid, strict, errors:[{field,message,line}], warnings:[...], bounds:{detection_seconds, rto_seconds, failback_seconds, ...} or null,")
		fmt.Fprintln(w, "                    objectives:[{field, objective, objective_seconds, estimate_seconds, estimate, met}] when the file sets objectives}")
		fmt.Fprintln(w, "Exit status: 0 every file valid (warnings allowed, except under --strict), 1 a file has errors, cannot be read, has a worst-case bound over its objective, or (--strict) has warnings, 2 bad usage.")
	}
	files, code, ok := parseArgs(fs, args, 1, -1, stdout, stderr)
	if !ok {
		return code
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "chaos validate: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if *format != "text" && *format != "json" {
		return bad("--format: must be text or json (got %q)", *format)
	}
	stdins := 0
	for _, f := range files {
		if f == "-" {
			stdins++
		}
	}
	if stdins > 1 {
		return bad("-: stdin can be read only once (given %d times)", stdins)
	}
	o := config.Options{Strict: *strict}
	enc := json.NewEncoder(stdout)
	failed := 0
	for n, path := range files {
		c, issues, err := loadForValidate(path, o)
		if err != nil {
			fmt.Fprintf(stderr, "chaos validate: %v\n", err)
		}
		passes := err == nil && config.Accepted(c, issues, o)
		if !passes {
			failed++
		}
		if *format == "json" {
			r := config.NewReport(path, c, issues, o)
			if err != nil {
				r.Errors = append(r.Errors, config.ReportIssue{Field: "(file)", Message: err.Error()})
			}
			if err := enc.Encode(r); err != nil {
				fmt.Fprintf(stderr, "chaos validate: %v\n", err)
				return 1
			}
			continue
		}
		if len(files) > 1 {
			if n > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "== %s ==\n", path)
		}
		if err == nil {
			config.DescribeWith(stdout, c, issues, o)
		} else if len(files) > 1 {
			fmt.Fprintf(stdout, "UNREADABLE: %v\n", err)
		}
	}
	if *format == "text" && len(files) > 1 {
		fmt.Fprintf(stdout, "\n%d file(s): %d passed, %d failed\n", len(files), len(files)-failed, failed)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// loadForValidate loads path, or stdin for "-".
func loadForValidate(path string, o config.Options) (*config.Config, []config.Issue, error) {
	if path != "-" {
		return config.LoadWith(path, o)
	}
	data, err := io.ReadAll(validateStdin)
	if err != nil {
		return nil, nil, fmt.Errorf("config: read stdin: %w", err)
	}
	c, issues, err := config.ParseWith(data, o)
	if err != nil {
		return nil, nil, fmt.Errorf("config: stdin: %w", err)
	}
	return c, issues, nil
}

// parseArgs parses flags that may sit before or after the positional
// arguments (`chaos report run.json -o x.html`), which flag.Parse alone stops
// at. It wants between min and max positionals (max < 0: no limit) and
// prints like parseFlags: usage to stdout for --help (code 0), the error and
// usage to stderr otherwise (code 2). ok is true when the command should go on.
func parseArgs(fs *flag.FlagSet, args []string, min, max int, stdout, stderr io.Writer) (pos []string, code int, ok bool) {
	fs.SetOutput(io.Discard)
	rest := args
	var err error
	for {
		if err = fs.Parse(rest); err != nil {
			break
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos, rest = append(pos, rest[0]), rest[1:]
	}
	switch {
	case err != nil:
	case len(pos) < min:
		err = fmt.Errorf("missing argument (want %d, got %d)", min, len(pos))
	case max >= 0 && len(pos) > max:
		err = fmt.Errorf("unexpected arguments %v", pos[max:])
	}
	switch {
	case err == nil:
		fs.SetOutput(stderr)
		return pos, 0, true
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return nil, 0, false
	default:
		fs.SetOutput(stderr)
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		fs.Usage()
		return nil, 2, false
	}
}
