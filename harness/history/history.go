// Package history records every client operation of a chaos run, safely from
// many goroutines, and reads/writes it as JSON lines.
package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Operation kinds.
const (
	KindCreate  = "create"
	KindMessage = "message"
	KindRead    = "read"
	KindReauth  = "reauth"
)

// Op is one client operation as the client saw it.
type Op struct {
	Seq       int64     `json:"seq"` // order of completion in this history
	Kind      string    `json:"kind"`
	User      string    `json:"user"`
	Client    string    `json:"client_region,omitempty"`
	Session   string    `json:"session,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Status    int       `json:"status"` // 0 when no HTTP answer arrived
	Code      string    `json:"code,omitempty"`
	ServedBy  string    `json:"served_by,omitempty"`
	Version   int64     `json:"version,omitempty"` // the session's version in the answer
	// MessageVersion is the session version the message was stored at (its
	// place in the conversation's logical order), also on duplicate answers.
	MessageVersion int64  `json:"message_version,omitempty"`
	Durable        bool   `json:"durable,omitempty"`
	Duplicate      bool   `json:"duplicate,omitempty"`
	Cache          string `json:"cache,omitempty"`
	// Tools names the tool calls of the reply (a poisoned cache entry shows
	// here as a tool call the user never asked for).
	Tools []string `json:"tools,omitempty"`
	// IDs are the user message ids a read answered with, in stored order:
	// what the linearizability check compares with the writes.
	IDs   []string `json:"ids,omitempty"`
	Error string   `json:"error,omitempty"`
	// Abandoned: the run ended while the request was out, so no answer came.
	// The request may still have taken effect; only the linearizability check
	// reads these (Abandoned()), as operations of unknown outcome.
	Abandoned bool `json:"abandoned,omitempty"`
}

// OK reports a 2xx answer.
func (o Op) OK() bool { return o.Status >= 200 && o.Status < 300 }

// Unavailable reports an answer that says the service was not there: no
// HTTP answer, or a 5xx. A 409 or 410 is the system answering correctly.
func (o Op) Unavailable() bool { return o.Status == 0 || o.Status >= 500 }

// History is an append-only, concurrency-safe list of operations.
type History struct {
	mu        sync.Mutex
	ops       []Op
	abandoned []Op
}

// New returns an empty history.
func New() *History { return &History{} }

// Add appends op, stamping its completion sequence number.
func (h *History) Add(op Op) Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	op.Seq = int64(len(h.ops))
	h.ops = append(h.ops, op)
	return op
}

// Abandon records a request the run's end cut off before any answer. It is
// kept apart from Ops: no answer is not a failure of the system, so the
// availability checks never see it.
func (h *History) Abandon(op Op) {
	h.mu.Lock()
	defer h.mu.Unlock()
	op.Abandoned = true
	op.Seq = -1
	h.abandoned = append(h.abandoned, op)
}

// Abandoned returns a copy of the requests the run's end cut off.
func (h *History) Abandoned() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.abandoned...)
}

// Ops returns a copy of every operation in completion order.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.ops...)
}

// Each calls fn for every operation in completion order, under the lock and
// without copying: polling loops use it so a long history costs no garbage.
// fn must not keep op or call back into h.
func (h *History) Each(fn func(op *Op)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.ops {
		fn(&h.ops[i])
	}
}

// Len is the number of operations.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ops)
}

// WriteJSONL writes one JSON object per line, the abandoned requests last.
func (h *History) WriteJSONL(w io.Writer) error {
	return WriteJSONL(w, append(h.Ops(), h.Abandoned()...))
}

// WriteJSONL writes ops one JSON object per line.
func WriteJSONL(w io.Writer, ops []Op) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, op := range ops {
		if err := enc.Encode(op); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadJSONL reads a history written by WriteJSONL (abandoned requests go
// back to Abandoned); blank lines are skipped and a bad line is reported by
// number.
func ReadJSONL(r io.Reader) (*History, error) {
	h := New()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var op Op
		if err := json.Unmarshal(line, &op); err != nil {
			return nil, fmt.Errorf("history line %d: %w", n, err)
		}
		if op.Abandoned {
			h.abandoned = append(h.abandoned, op)
			continue
		}
		h.ops = append(h.ops, op)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return h, nil
}

// Excerpt returns up to n JSON lines of operations around t (by end time),
// for a failure report.
func Excerpt(ops []Op, t time.Time, n int) []string {
	if len(ops) == 0 || n <= 0 {
		return nil
	}
	sorted := append([]Op(nil), ops...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].End.Before(sorted[j].End) })
	i := sort.Search(len(sorted), func(i int) bool { return !sorted[i].End.Before(t) })
	lo := max(0, i-n/2)
	hi := min(len(sorted), lo+n)
	lo = max(0, hi-n)
	out := make([]string, 0, hi-lo)
	for _, op := range sorted[lo:hi] {
		b, _ := json.Marshal(op)
		out = append(out, string(b))
	}
	return out
}
