package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/agentops/failover-harness/harness/config"
)

func init() {
	register(command{name: "validate", summary: "lint a failover config and print the bounds it implies", run: runValidate})
}

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos validate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: chaos validate FILE")
		fmt.Fprintln(fs.Output(), "Lints an SRE failover config (YAML) and prints the detection, RTO, RPO and TTL bounds it implies.")
		fmt.Fprintln(fs.Output(), "Exit status: 0 valid (warnings allowed), 1 errors in the file, 2 bad usage.")
	}
	pos, code, ok := parseArgs(fs, args, 1, 1, stdout, stderr)
	if !ok {
		return code
	}
	path := pos[0]
	c, issues, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(stderr, "chaos validate: %v\n", err)
		return 1
	}
	config.Describe(stdout, c, issues)
	if config.HasErrors(issues) {
		return 1
	}
	return 0
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
