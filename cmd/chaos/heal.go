package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/agentops/failover-harness/harness/journal"
)

func init() {
	register(command{name: "heal", summary: "undo what a crashed external run left injected, from its heal journal", run: runHeal})
}

func runHeal(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos heal", flag.ContinueOnError)
	path := fs.String("journal", "", "the run's heal journal (chaos run --provider external writes OUT/heal-journal.jsonl)")
	list := fs.Bool("list", false, "only list what is still injected; change nothing")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: chaos heal --journal FILE [--list]")
		fmt.Fprintln(fs.Output(), "Undoes, newest first, every change the journal records as injected and not healed (toxics removed,")
		fmt.Fprintln(fs.Output(), "proxies enabled, the undo hook of each pause, kill or HTTP fault run). The journal is removed once")
		fmt.Fprintln(fs.Output(), "nothing is left. Exit status: 0 nothing left injected, 1 something could not be undone, 2 bad usage.")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "chaos heal: --journal: required")
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "chaos heal: --timeout: must be > 0 (got %v)\n", *timeout)
		return 2
	}
	left, err := journal.Pending(*path)
	if err != nil {
		fmt.Fprintf(stderr, "chaos heal: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "journal %s: %d change(s) still injected\n", *path, len(left))
	for _, a := range left {
		fmt.Fprintf(stdout, "  %s\n", a.What)
	}
	if *list || len(left) == 0 {
		if len(left) == 0 && !*list {
			_, err = journal.Heal(context.Background(), *path, stdout) // removes the spent journal
		}
		if err != nil {
			fmt.Fprintf(stderr, "chaos heal: %v\n", err)
			return 1
		}
		return 0
	}
	ctx, stop := interruptible()
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	failed, err := journal.Heal(ctx, *path, stdout)
	if err != nil || len(failed) > 0 {
		fmt.Fprintf(stderr, "chaos heal: %d change(s) could not be undone; the journal keeps them: %v\n", len(failed), err)
		return 1
	}
	fmt.Fprintln(stdout, "healed: nothing left injected")
	return 0
}
