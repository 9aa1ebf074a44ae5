// Package store is the global session store: one DynamoDB item per session, a bounded
// conversation, a version, a TTL enforced on read, and three conflict strategies.
package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Message is one conversation turn.
type Message struct {
	ID, Role, Content, Region string
	// Timestamp is the writing region's clock: for display only, never for ordering.
	Timestamp time.Time
	// Version is the session version of the write that first stored the message (the
	// version at which it was acknowledged). Order is judged by it, not by Timestamp:
	// timestamps come from different regions' clocks. 0: stored before versions existed.
	Version   int64      `json:",omitempty"`
	ToolCalls []ToolCall `json:",omitempty"`
}

// ToolCall is a tool invocation the agent made while answering.
type ToolCall struct {
	Name string
	Args map[string]string
}

// Session is the durable state of one conversation.
type Session struct {
	ID, UserID       string
	Messages         []Message
	State            map[string]string
	Version          int64
	LastActiveRegion string
	LastActiveAt     time.Time
	ExpiresAt        time.Time
}

// Strategy decides what happens when two regions write the same session.
type Strategy string

// Conflict strategies.
const (
	VersionWins   Strategy = "version-wins"
	LastWriteWins Strategy = "last-write-wins"
	Merge         Strategy = "merge"
)

// ParseStrategy accepts the config spelling of a strategy.
func ParseStrategy(s string) (Strategy, error) {
	switch st := Strategy(s); st {
	case VersionWins, LastWriteWins, Merge:
		return st, nil
	}
	return "", fmt.Errorf("conflict_strategy: %q must be one of version-wins, last-write-wins, merge", s)
}

// Errors returned by Store; test with errors.Is.
var (
	ErrNotFound    = errors.New("session not found")
	ErrExpired     = errors.New("session expired")
	ErrConflict    = errors.New("version conflict")
	ErrUnavailable = errors.New("store unavailable")
)

// PutResult describes what a write did.
type PutResult struct {
	// Version actually written (merge may pick a higher one than requested).
	Version int64
	// Overwritten holds ids of messages of the previous item that this write removed,
	// not counting messages evicted by the MaxMessages bound (see overwritten in dynamo.go).
	Overwritten []string
	// PreviousRegion is lastActiveRegion of the item BEFORE the write (SPEC §5 defect 1).
	PreviousRegion string
	// ExpiresAt is when the written item expires.
	ExpiresAt time.Time
}

// Store is the global session store.
type Store interface {
	// Get is a consistent read. ErrNotFound when absent; ErrExpired once the TTL has passed,
	// even if DynamoDB has not deleted the item yet.
	Get(ctx context.Context, id string) (*Session, error)
	// Put writes s; s.Version is the NEW version the caller wants to write.
	Put(ctx context.Context, s *Session) (PutResult, error)
	// Ping checks the store is reachable.
	Ping(ctx context.Context) error
}

// StoreStats are cumulative counters since the store was created.
type StoreStats struct {
	Puts, Conflicts, OverwrittenMessages, Errors int64
}

// MergeMessages is the clock-free union of two conversations: cur (the stored one, in
// stored order) and mine (a writer's view). A message id in both keeps cur's copy: cur's
// is the one first stored, so its Version stays the version it was acknowledged at.
// The result is ordered by Version with a stable sort over cur's messages followed by
// mine's messages not in cur, so equal versions keep that order (a user message before
// its reply). No timestamps are compared.
//
// Version order matters for the bound the caller applies next: a writer's stale view may
// hold messages cur already evicted; appended at the end they would be resurrected, while
// sorted by version they land at the front, where the bound drops them again.
func MergeMessages(cur, mine []Message) []Message {
	out := make([]Message, 0, len(cur)+len(mine))
	have := make(map[string]bool, len(cur)+len(mine))
	for _, list := range [][]Message{cur, mine} {
		for _, m := range list {
			if !have[m.ID] {
				have[m.ID] = true
				out = append(out, m)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Message) int { return cmp.Compare(a.Version, b.Version) })
	return out
}
