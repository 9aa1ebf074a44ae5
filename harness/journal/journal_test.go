package journal

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// fakeToxiproxy records every call; toxics named in gone answer 404.
type fakeToxiproxy struct {
	mu    sync.Mutex
	calls []string // "METHOD /path body"
	gone  map[string]bool
}

func (f *fakeToxiproxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, strings.TrimSpace(r.Method+" "+r.URL.EscapedPath()+" "+string(b)))
	gone := f.gone[r.URL.EscapedPath()]
	f.mu.Unlock()
	switch {
	case gone:
		http.Error(w, `{"error":"toxic not found"}`, http.StatusNotFound)
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		_, _ = io.WriteString(w, `{}`)
	}
}

func (f *fakeToxiproxy) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func newFake(t *testing.T) (*fakeToxiproxy, string) {
	f := &fakeToxiproxy{gone: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func jpath(t *testing.T) string { return filepath.Join(t.TempDir(), "heal-journal.jsonl") }

func exists(t *testing.T, p string) bool {
	t.Helper()
	_, err := os.Stat(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func cmdAction(key, command string) Action {
	return Action{Key: key, Kind: KindCommand, What: "cmd " + key, Command: command, Timeout: 10}
}

// leave writes a journal a crashed run would leave: every action injected,
// none healed.
func leave(t *testing.T, path string, actions ...Action) {
	t.Helper()
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range actions {
		if err := j.Before(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err == nil && len(actions) > 0 {
		t.Fatal("Close with changes pending: no error")
	}
}

func keys(as []Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Key)
	}
	return out
}

func TestBeforeHealedCloseRemovesTheFile(t *testing.T) {
	p := jpath(t)
	j, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if j.Path() != p {
		t.Errorf("Path %q", j.Path())
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	a := Action{Key: "toxic:p/t", Kind: KindToxic, API: "http://x", Proxy: "p", Toxic: "t", What: "toxic t"}
	if err := j.Before(a); err != nil {
		t.Fatal(err)
	}
	if rec, err := j.Record(a); err != nil || rec { // the same change is recorded once
		t.Fatalf("Record of a pending key: recorded %v, %v", rec, err)
	}
	if j.Open() != 1 {
		t.Errorf("Open() = %d, want 1", j.Open())
	}
	// Before is on disk (synced) before the change is made.
	if got, err := Pending(p); err != nil || !reflect.DeepEqual(got, []Action{a}) {
		t.Fatalf("Pending mid-run: %+v %v", got, err)
	}
	if err := j.Healed(a.Key); err != nil {
		t.Fatal(err)
	}
	if err := j.Healed("never-injected"); err != nil {
		t.Errorf("Healed of an unknown key: %v", err)
	}
	if got, err := Pending(p); err != nil || len(got) != 0 {
		t.Fatalf("Pending after Healed: %+v %v", got, err)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if exists(t, p) {
		t.Error("journal with nothing pending left on disk after Close")
	}
}

func TestCloseWithPendingKeepsTheFile(t *testing.T) {
	p := jpath(t)
	j, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	a, b := cmdAction("paused:r1", "true"), cmdAction("down:r2", "true")
	for _, x := range []Action{a, b} {
		if err := j.Before(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Healed(a.Key); err != nil {
		t.Fatal(err)
	}
	err = j.Close()
	if err == nil || !strings.Contains(err.Error(), "chaos heal --journal "+p) || !strings.Contains(err.Error(), "1 change(s)") {
		t.Fatalf("Close: %v, want an error naming 1 change and chaos heal", err)
	}
	got, err := Pending(p)
	if err != nil || !reflect.DeepEqual(got, []Action{b}) {
		t.Fatalf("Pending after Close: %+v %v, want %v", got, err, b)
	}
}

func TestOpenRefusesAJournalWithPendingChanges(t *testing.T) {
	p := jpath(t)
	leave(t, p, cmdAction("k1", "true"), cmdAction("k2", "true"))
	before, _ := os.ReadFile(p)
	_, err := Open(p)
	if err == nil {
		t.Fatal("Open of a journal with pending changes: no error")
	}
	for _, w := range []string{"chaos heal --journal " + p, "2 change(s)", "cmd k1"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(before, after) {
		t.Error("a refused Open changed the journal")
	}
}

func TestOpenReusesAFullyHealedJournal(t *testing.T) {
	p := jpath(t)
	j, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	_ = j.Before(cmdAction("k", "true"))
	_ = j.Healed("k")
	// a crash here: the file stays with nothing pending
	if err := j.f.Close(); err != nil {
		t.Fatal(err)
	}
	j2, err := Open(p)
	if err != nil {
		t.Fatalf("Open of a healed journal: %v", err)
	}
	if err := j2.Close(); err != nil || exists(t, p) {
		t.Errorf("Close: %v, exists %v", err, exists(t, p))
	}
}

func TestPendingIgnoresATruncatedLastLine(t *testing.T) {
	p := jpath(t)
	a, b := cmdAction("k1", "true"), cmdAction("k2", "true")
	leave(t, p, a, b)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"op":"injected","at":"2024-01-01T00:00:00Z","seq":3,"action":{"key":"k3","wh`)
	_ = f.Close()
	got, err := Pending(p)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if !reflect.DeepEqual(got, []Action{a, b}) {
		t.Errorf("Pending %+v, want the two whole entries", got)
	}

	// The same damage on a line that is not the last is an error naming it.
	raw, _ := os.ReadFile(p)
	lines := strings.Split(string(raw), "\n")
	lines[0] = lines[0][:20]
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Pending(p); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("Pending of a corrupt first line: %v, want an error naming line 1", err)
	}
	if got, err := Pending(filepath.Join(t.TempDir(), "none")); err != nil || len(got) != 0 {
		t.Errorf("Pending of no journal: %v %v", got, err)
	}
}

func TestHealUndoesNewestFirstAndRemovesTheJournal(t *testing.T) {
	fake, api := newFake(t)
	fake.gone["/proxies/p3/toxics/already-gone"] = true
	p := jpath(t)
	leave(t, p,
		Action{Key: "toxic:p1/lat", Kind: KindToxic, API: api, Proxy: "p1", Toxic: "lat", What: "toxic lat on p1"},
		Action{Key: "disabled:p2", Kind: KindProxy, API: api + "/", Proxy: "p2", What: "proxy p2 disabled"},
		Action{Key: "toxic:p3/already-gone", Kind: KindToxic, API: api, Proxy: "p3", Toxic: "already-gone", What: "toxic on p3"},
	)
	var log bytes.Buffer
	failed, err := Heal(context.Background(), p, &log)
	if err != nil || len(failed) != 0 {
		t.Fatalf("Heal: failed %+v, err %v\n%s", failed, err, log.String())
	}
	want := []string{
		"DELETE /proxies/p3/toxics/already-gone", // newest first; 404 is healed
		`POST /proxies/p2 {"enabled":true}`,
		"DELETE /proxies/p1/toxics/lat",
	}
	if got := fake.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls\n%q\nwant\n%q", got, want)
	}
	if exists(t, p) {
		t.Error("journal left after everything was healed")
	}
	if !strings.Contains(log.String(), "undone toxic lat on p1") {
		t.Errorf("log %q", log.String())
	}
	// Healing again (nothing there) is a no-op.
	if failed, err := Heal(context.Background(), p, io.Discard); err != nil || failed != nil {
		t.Errorf("second Heal: %v %v", failed, err)
	}
}

func TestHealKeepsWhatFailsAndRecordsWhatWasUndone(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "undone")
	fake, api := newFake(t)
	p := jpath(t)
	bad := cmdAction("down:r2", "echo cannot-start-r2 >&2; exit 7")
	leave(t, p,
		cmdAction("paused:r1", "echo once >> '"+counter+"'"),
		bad,
		Action{Key: "toxic:p/t", Kind: KindToxic, API: api, Proxy: "p", Toxic: "t", What: "toxic t"},
	)
	var log bytes.Buffer
	failed, err := Heal(context.Background(), p, &log)
	if err == nil || !strings.Contains(err.Error(), "cannot-start-r2") {
		t.Errorf("Heal error %v, want the failing command's output", err)
	}
	if !reflect.DeepEqual(failed, []Action{bad}) {
		t.Fatalf("failed %+v, want %+v", failed, bad)
	}
	if !strings.Contains(log.String(), "FAILED cmd down:r2") {
		t.Errorf("log %q", log.String())
	}
	if !exists(t, p) {
		t.Fatal("journal removed although a change could not be undone")
	}
	if got, err := Pending(p); err != nil || !reflect.DeepEqual(keys(got), []string{"down:r2"}) {
		t.Fatalf("Pending after a partial heal: %v %v, want only down:r2", keys(got), err)
	}
	if _, err := Open(p); err == nil {
		t.Error("Open of a partly healed journal: no error")
	}
	// A second heal retries only what failed: the undone command is not run again.
	if failed, _ := Heal(context.Background(), p, io.Discard); !reflect.DeepEqual(keys(failed), []string{"down:r2"}) {
		t.Errorf("second Heal failed %v", keys(failed))
	}
	if b, _ := os.ReadFile(counter); string(b) != "once\n" {
		t.Errorf("undo command ran %d times (%q), want once", strings.Count(string(b), "once"), b)
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("toxic deleted %d times, want once: %q", n, fake.Calls())
	}
}

// A run killed mid-write leaves a cut last line; healing appends after it,
// and what it records must stay readable when something still fails.
func TestHealAfterACrashMidWrite(t *testing.T) {
	dir := t.TempDir()
	p := jpath(t)
	leave(t, p,
		cmdAction("a", "touch '"+filepath.Join(dir, "a")+"'"),
		cmdAction("b", "exit 1"),
		cmdAction("c", "touch '"+filepath.Join(dir, "c")+"'"),
		cmdAction("d", "touch '"+filepath.Join(dir, "d")+"'"),
	)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"op":"injected","seq":5,"act`)
	_ = f.Close()
	failed, _ := Heal(context.Background(), p, io.Discard)
	if !reflect.DeepEqual(keys(failed), []string{"b"}) {
		t.Fatalf("failed %v, want [b]", keys(failed))
	}
	for _, m := range []string{"a", "c", "d"} {
		if !exists(t, filepath.Join(dir, m)) {
			t.Errorf("undo %s did not run", m)
		}
	}
	got, err := Pending(p)
	if err != nil {
		t.Fatalf("Pending after healing a cut journal: %v", err)
	}
	if !reflect.DeepEqual(keys(got), []string{"b"}) {
		t.Errorf("Pending %v, want [b]", keys(got))
	}
}

func TestUndoCommandWritesItsMarker(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "resumed")
	if err := Undo(context.Background(), cmdAction("paused:r1", "echo resumed > '"+marker+"'")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "resumed\n" {
		t.Errorf("marker %q %v", b, err)
	}
	// A command without its own timeout gets the hooks' default (not 0).
	a := cmdAction("k", "true")
	a.Timeout = 0
	if err := Undo(context.Background(), a); err != nil {
		t.Errorf("Undo without a timeout: %v", err)
	}
}

func TestUndoErrors(t *testing.T) {
	fake, api := newFake(t)
	if err := Undo(context.Background(), Action{Kind: "reboot"}); err == nil || !strings.Contains(err.Error(), `"reboot"`) {
		t.Errorf("unknown kind: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "proxy not found", http.StatusNotFound)
	}))
	defer srv.Close()
	// A missing proxy is not "already enabled": only a gone toxic is healed by a 404.
	err := Undo(context.Background(), Action{Kind: KindProxy, API: srv.URL, Proxy: "p"})
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "proxy not found") {
		t.Errorf("proxy 404: %v", err)
	}
	if err := Undo(context.Background(), Action{Kind: KindToxic, API: api, Proxy: "a b", Toxic: "x/y"}); err != nil {
		t.Fatal(err)
	}
	if got := fake.Calls(); len(got) != 1 || got[0] != "DELETE /proxies/a%20b/toxics/x%2Fy" {
		t.Errorf("escaped call %q", got)
	}
}

// A crash after an entry but before its newline leaves a whole entry: it is
// pending, and healing after it keeps the journal readable.
func TestHealAfterAnEntryMissingItsNewline(t *testing.T) {
	dir := t.TempDir()
	p := jpath(t)
	leave(t, p, cmdAction("a", "touch '"+filepath.Join(dir, "a")+"'"), cmdAction("b", "exit 1"), cmdAction("c", "touch '"+filepath.Join(dir, "c")+"'"))
	raw, _ := os.ReadFile(p)
	if err := os.WriteFile(p, bytes.TrimSuffix(raw, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Pending(p); err != nil || !reflect.DeepEqual(keys(got), []string{"a", "b", "c"}) {
		t.Fatalf("Pending %v %v", keys(got), err)
	}
	if failed, _ := Heal(context.Background(), p, io.Discard); !reflect.DeepEqual(keys(failed), []string{"b"}) {
		t.Fatalf("failed %v, want [b]", keys(failed))
	}
	if !exists(t, filepath.Join(dir, "c")) {
		t.Error("the entry without a newline was not undone")
	}
	if got, err := Pending(p); err != nil || !reflect.DeepEqual(keys(got), []string{"b"}) {
		t.Errorf("Pending after heal %v %v, want [b]", keys(got), err)
	}
}
