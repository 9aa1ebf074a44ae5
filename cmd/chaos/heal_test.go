package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentops/failover-harness/harness/journal"
)

// leftJournal writes the journal a crashed run leaves: the given undo
// commands recorded as injected and never healed.
func leftJournal(t *testing.T, commands ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "heal-journal.jsonl")
	j, err := journal.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range commands {
		a := journal.Action{Key: "k" + string(rune('a'+i)), Kind: journal.KindCommand, Command: c, Timeout: 10,
			What: "pause of region r" + string(rune('1'+i))}
		if err := j.Before(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err == nil {
		t.Fatal("Close with changes pending: no error")
	}
	return p
}

func TestHealUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--journal: required"},
		{[]string{"--list"}, "--journal: required"},
		{[]string{"--journal", "x.jsonl", "--timeout", "0s"}, "--timeout"},
		{[]string{"--journal", "x.jsonl", "extra"}, "unexpected arguments"},
		{[]string{"--jornal", "x.jsonl"}, "jornal"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"heal"}, c.args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: code %d stderr %q, want 2 naming %s", c.args, code, errb.String(), c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"heal", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage: chaos heal --journal FILE") {
		t.Errorf("--help: code %d stdout %q", code, out.String())
	}
}

func TestHealListChangesNothing(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "resumed")
	p := leftJournal(t, "touch '"+marker+"'")
	before, _ := os.ReadFile(p)
	var out, errb bytes.Buffer
	if code := run([]string{"heal", "--journal", p, "--list"}, &out, &errb); code != 0 {
		t.Fatalf("--list: code %d stderr %q", code, errb.String())
	}
	if !strings.Contains(out.String(), "1 change(s) still injected") || !strings.Contains(out.String(), "  pause of region r1") {
		t.Errorf("--list stdout %q", out.String())
	}
	after, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("--list changed the journal: %v", err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--list ran the undo: %v", err)
	}
}

func TestHealUndoesAndRemovesTheJournal(t *testing.T) {
	dir := t.TempDir()
	order := filepath.Join(dir, "order")
	p := leftJournal(t, "echo first >> '"+order+"'", "echo second >> '"+order+"'")
	var out, errb bytes.Buffer
	if code := run([]string{"heal", "--journal", p}, &out, &errb); code != 0 {
		t.Fatalf("heal: code %d stderr %q stdout %q", code, errb.String(), out.String())
	}
	if b, _ := os.ReadFile(order); string(b) != "second\nfirst\n" {
		t.Errorf("undo order %q, want newest first", b)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal left after healing: %v", err)
	}
	if !strings.Contains(out.String(), "healed: nothing left injected") {
		t.Errorf("stdout %q", out.String())
	}
	// Nothing left: healing again is a no-op that succeeds.
	out.Reset()
	if code := run([]string{"heal", "--journal", p}, &out, &errb); code != 0 || !strings.Contains(out.String(), "0 change(s)") {
		t.Errorf("heal of no journal: code %d stdout %q", code, out.String())
	}
}

func TestHealFailureExits1AndKeepsTheJournal(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ok")
	p := leftJournal(t, "touch '"+marker+"'", "echo region-r2-unreachable >&2; exit 4")
	var out, errb bytes.Buffer
	if code := run([]string{"heal", "--journal", p}, &out, &errb); code != 1 {
		t.Fatalf("heal: code %d, want 1; stderr %q", code, errb.String())
	}
	if !strings.Contains(errb.String(), "1 change(s) could not be undone") || !strings.Contains(errb.String(), "region-r2-unreachable") {
		t.Errorf("stderr %q", errb.String())
	}
	left, err := journal.Pending(p)
	if err != nil || len(left) != 1 || left[0].What != "pause of region r2" {
		t.Errorf("journal keeps %+v %v, want only the failed undo", left, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the undo that could run did not: %v", err)
	}
}

func TestHealUnreadableJournalExits1(t *testing.T) {
	p := writeTemp(t, "bad.jsonl", "not json\n{\"op\":\"healed\",\"seq\":1}\n")
	var out, errb bytes.Buffer
	if code := run([]string{"heal", "--journal", p}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "line 1") {
		t.Errorf("code %d stderr %q, want 1 naming line 1", code, errb.String())
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("an unreadable journal was removed: %v", err)
	}
}
