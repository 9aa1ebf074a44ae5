// Package healthlog keeps, bounded, what a health loop did: the timing of
// its rounds (so a reader can tell a starved process from a slow system)
// and the status transitions it made (so a reader can date a failover or a
// failback on the loop's own clock, by age, without polling for it). The LB
// and every region's failover manager report both.
package healthlog

import (
	"slices"
	"time"
)

// Bounds on what is kept.
const (
	MaxRounds      = 256
	MaxTransitions = 1000
)

// Round is the timing of one completed round of a health loop.
type Round struct {
	Started time.Time `json:"started"` // the loop's clock, encoded RFC3339Nano
	// LateSeconds is how long after its scheduling tick the round started
	// (0 for the first round): large values mean the process was starved.
	LateSeconds float64 `json:"late_seconds"`
	TookSeconds float64 `json:"took_seconds"`
}

// Rounds reports whether a health loop kept its schedule.
type Rounds struct {
	Enabled         bool    `json:"enabled"` // false: no loop runs, rounds stays 0
	IntervalSeconds float64 `json:"interval_seconds"`
	// Rounds counts completed loop rounds since the loop started (rounds run
	// on demand outside the loop are not counted: they have no schedule).
	Rounds int64   `json:"rounds"`
	Recent []Round `json:"recent"` // the last MaxRounds rounds, oldest first
}

// Ring keeps the last MaxRounds rounds. Not safe for concurrent use: the
// owner guards it with its own lock.
type Ring struct {
	buf   []Round
	total int64
}

// Add records a completed round.
func (r *Ring) Add(x Round) {
	if len(r.buf) < MaxRounds {
		r.buf = append(r.buf, x)
	} else {
		r.buf[r.total%MaxRounds] = x
	}
	r.total++
}

// Snapshot returns the kept rounds, oldest first.
func (r *Ring) Snapshot(enabled bool, interval time.Duration) Rounds {
	out := Rounds{Enabled: enabled, IntervalSeconds: interval.Seconds(), Rounds: r.total, Recent: make([]Round, 0, len(r.buf))}
	if len(r.buf) < MaxRounds {
		out.Recent = append(out.Recent, r.buf...)
	} else { // full ring: the oldest entry is the next to be overwritten
		i := int(r.total % MaxRounds)
		out.Recent = append(append(out.Recent, r.buf[i:]...), r.buf[:i]...)
	}
	return out
}

// ReadyAt is when a round could start: its tick's due time (the ticker
// sends it, monotonic reading included), or the end of the previous round
// when that ran past the tick. A round that waits for a slow probe is not
// late; one that starts after it was ready is.
func ReadyAt(due, prevEnd time.Time) time.Time {
	if prevEnd.After(due) {
		return prevEnd
	}
	return due
}

// Transition is one change of a region's status.
type Transition struct {
	Region string    `json:"region"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	At     time.Time `json:"at"` // the loop's clock, encoded RFC3339Nano
}

// Log keeps the last MaxTransitions transitions. Not safe for concurrent
// use: the owner guards it with its own lock.
type Log struct {
	entries []Transition
	total   int64
}

// Add records a transition.
func (l *Log) Add(t Transition) {
	l.entries = append(l.entries, t)
	l.total++
	if len(l.entries) > MaxTransitions {
		l.entries = slices.Delete(l.entries, 0, len(l.entries)-MaxTransitions)
	}
}

// Snapshot returns a copy of the kept transitions, oldest first (never nil,
// so it encodes as []), and how many were ever recorded: more than were
// kept means the oldest were dropped.
func (l *Log) Snapshot() ([]Transition, int64) {
	out := slices.Clone(l.entries)
	if out == nil {
		out = []Transition{}
	}
	return out, l.total
}
