// Package journal is the heal journal of a run against an external target:
// before anything is injected, the action that undoes it is appended (and
// synced) to a file, and marked healed once it is undone. After a crash or a
// SIGKILL of the run, `chaos heal --journal FILE` undoes what is still
// injected, newest first. The file is JSON lines, one entry per line.
package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/target"
)

// Kinds of undo.
const (
	KindToxic   = "toxic"   // remove a toxic from a toxiproxy proxy
	KindProxy   = "proxy"   // enable a disabled toxiproxy proxy
	KindCommand = "command" // run a hook's rendered command
)

// Action undoes one injected change.
type Action struct {
	Key  string `json:"key"`  // what is changed: the same key is healed by whoever undoes it
	What string `json:"what"` // for people: what was injected
	Kind string `json:"kind"`

	API   string `json:"api,omitempty"` // toxiproxy API URL
	Proxy string `json:"proxy,omitempty"`
	Toxic string `json:"toxic,omitempty"`

	Command string  `json:"command,omitempty"`
	Timeout float64 `json:"timeout_seconds,omitempty"`
}

type entry struct {
	Op     string    `json:"op"` // injected | healed
	At     time.Time `json:"at"`
	Seq    int       `json:"seq"`
	Action *Action   `json:"action,omitempty"` // injected
}

// Journal appends to one file. Safe for concurrent use.
type Journal struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	seq     int
	pending map[string]int // key -> seq of its injection
}

// Open starts the journal at path, mode 0600. A journal a crashed run left
// with changes still injected must be healed first, never continued.
func Open(path string) (*Journal, error) {
	left, err := Pending(path)
	if err != nil {
		return nil, err
	}
	if len(left) > 0 {
		return nil, fmt.Errorf("heal journal %s holds %d change(s) a previous run left injected (first: %s); run `chaos heal --journal %s` first", path, len(left), left[0].What, path)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("heal journal: %w", err)
	}
	return &Journal{path: path, f: f, pending: map[string]int{}}, nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

func (j *Journal) write(e entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("heal journal %s: %w", j.path, err)
	}
	return j.f.Sync()
}

// Before records a before the change it undoes is made. A change already
// pending under the same key is not recorded twice.
func (j *Journal) Before(a Action) error {
	_, err := j.Record(a)
	return err
}

// Record is Before that also says whether a was recorded by this call:
// false when a change under its key was already pending.
func (j *Journal) Record(a Action) (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.pending[a.Key]; ok {
		return false, nil
	}
	j.seq++
	if err := j.write(entry{Op: "injected", At: time.Now(), Seq: j.seq, Action: &a}); err != nil {
		return false, err
	}
	j.pending[a.Key] = j.seq
	return true, nil
}

// Healed records that the change under key is undone.
func (j *Journal) Healed(key string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	seq, ok := j.pending[key]
	if !ok {
		return nil
	}
	if err := j.write(entry{Op: "healed", At: time.Now(), Seq: seq}); err != nil {
		return err
	}
	delete(j.pending, key)
	return nil
}

// Open reports how many changes are still recorded as injected.
func (j *Journal) Open() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pending)
}

// Close closes the file and removes it when nothing is left injected; a
// journal with changes left stays for `chaos heal`, and the error says so.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.f.Close(); err != nil {
		return err
	}
	if n := len(j.pending); n > 0 {
		return fmt.Errorf("heal journal %s: %d change(s) still injected; run `chaos heal --journal %s`", j.path, n, j.path)
	}
	return os.Remove(j.path)
}

// Pending reads a journal and returns the changes injected and not healed,
// in the order they were injected.
func Pending(path string) ([]Action, error) {
	recs, err := read(path)
	out := make([]Action, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.a)
	}
	return out, err
}

type pendingRec struct {
	seq int
	a   Action
}

func read(path string) ([]pendingRec, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("heal journal: %w", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	var order []pendingRec
	healed := map[int]bool{}
	for i, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(l, &e); err != nil {
			if i == len(lines)-1 {
				break // a crash cut the last line short: it recorded nothing done
			}
			return nil, fmt.Errorf("heal journal %s: line %d: %v", path, i+1, err)
		}
		switch e.Op {
		case "injected":
			if e.Action == nil {
				return nil, fmt.Errorf("heal journal %s: line %d: injected without an action", path, i+1)
			}
			order = append(order, pendingRec{e.Seq, *e.Action})
		case "healed":
			healed[e.Seq] = true
		default:
			return nil, fmt.Errorf("heal journal %s: line %d: op %q is not injected or healed", path, i+1, e.Op)
		}
	}
	var out []pendingRec
	for _, r := range order {
		if !healed[r.seq] {
			out = append(out, r)
		}
	}
	return out, nil
}

// Heal undoes every pending change of the journal at path, newest first,
// and records each as healed. It returns what it could not undo; the file
// is removed once nothing is left.
func Heal(ctx context.Context, path string, log io.Writer) ([]Action, error) {
	left, err := read(path)
	if err != nil || len(left) == 0 {
		if err == nil {
			err = os.Remove(path)
			if errors.Is(err, os.ErrNotExist) {
				err = nil
			}
		}
		return nil, err
	}
	if err := wholeLines(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("heal journal: %w", err)
	}
	j := &Journal{path: path, f: f, pending: map[string]int{}}
	var failed []Action
	var errs []error
	for i := len(left) - 1; i >= 0; i-- {
		a := left[i].a
		if err := Undo(ctx, a); err != nil {
			fmt.Fprintf(log, "heal: FAILED %s: %v\n", a.What, err)
			failed = append([]Action{a}, failed...)
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(log, "heal: undone %s\n", a.What)
		j.pending[a.Key] = left[i].seq
		if err := j.Healed(a.Key); err != nil {
			errs = append(errs, err)
		}
	}
	if err := f.Close(); err != nil {
		errs = append(errs, err)
	}
	if len(failed) == 0 && len(errs) == 0 {
		return nil, os.Remove(path)
	}
	return failed, errors.Join(errs...)
}

// wholeLines makes the journal end with a whole line before Heal appends
// to it: a last line a crash cut short (which read ignores) is dropped, so
// the first record appended does not join it into a line no read can parse;
// a whole entry missing only its newline gets it.
func wholeLines(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("heal journal: %w", err)
	}
	if len(b) == 0 || b[len(b)-1] == '\n' {
		return nil
	}
	cut := bytes.LastIndexByte(b, '\n') + 1
	var e entry
	if json.Unmarshal(b[cut:], &e) != nil {
		return os.Truncate(path, int64(cut))
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("heal journal: %w", err)
	}
	_, err = f.Write([]byte{'\n'})
	return errors.Join(err, f.Close())
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// Undo performs one action. A toxic already gone is undone.
func Undo(ctx context.Context, a Action) error {
	switch a.Kind {
	case KindToxic:
		u := strings.TrimRight(a.API, "/") + "/proxies/" + url.PathEscape(a.Proxy) + "/toxics/" + url.PathEscape(a.Toxic)
		return call(ctx, http.MethodDelete, u, nil, http.StatusNotFound)
	case KindProxy:
		u := strings.TrimRight(a.API, "/") + "/proxies/" + url.PathEscape(a.Proxy)
		return call(ctx, http.MethodPost, u, []byte(`{"enabled":true}`))
	case KindCommand:
		t := time.Duration(a.Timeout * float64(time.Second))
		if t <= 0 {
			t = target.DefaultHookTimeout
		}
		return target.Run(ctx, a.Command, t)
	}
	return fmt.Errorf("action kind %q is not toxic, proxy or command", a.Kind)
}

func call(ctx context.Context, method, u string, body []byte, alsoOK ...int) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	for _, c := range alsoOK {
		if resp.StatusCode == c {
			return nil
		}
	}
	return fmt.Errorf("%s %s: status %d: %s", method, u, resp.StatusCode, strings.TrimSpace(string(msg)))
}
