// Package store is the global session store: one DynamoDB item per session, a bounded
// conversation, a version, a TTL enforced on read, and three conflict strategies.
package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
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
	// Seen records the user message ids acknowledged in this session (see SeenID),
	// oldest version first, at most MaxSeenIDs.
	Seen []SeenID
	// Owner is OwnerHash of the session token its creator presented: only the hash is
	// stored, so a reader of the table cannot act as the owner. "" for items written
	// before sessions had owners (usable without a token, see OwnedBy).
	Owner string
}

// OwnerHash is what a session stores of its token: hex SHA-256.
func OwnerHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// OwnedBy reports whether token opens s: its hash equals s.Owner, compared in constant
// time (hashes of equal length, so neither the token's bytes nor its length leak). A
// session without an owner (stored before owners existed) is open to any caller.
func (s *Session) OwnedBy(token string) bool {
	return ownerMatches(s.Owner, token)
}

func ownerMatches(owner, token string) bool {
	if owner == "" {
		return true
	}
	h := OwnerHash(token)
	return subtle.ConstantTimeCompare([]byte(h), []byte(owner)) == 1
}

// SeenID records that a user message id was acknowledged at Version (the session version
// its message was stored at; its reply, id + ":reply", carries the same). The conversation
// keeps only the last MaxMessages messages, so idempotency by message id rests on this
// record: it lives in the session item, so every region sees it after a failover, it
// outlives the trimmed messages and it expires with the session.
type SeenID struct {
	ID      string `json:"i"`
	Version int64  `json:"v"`
}

// MaxSeenIDs bounds a session's id record; beyond it the ids of the lowest versions go,
// so the idempotency guarantee covers the last MaxSeenIDs message ids of a session.
//
// Worst case of a full record, as stored (JSON): ids are at most 128 bytes of
// [A-Za-z0-9._-] (the agent API's id pattern; nothing to escape) and versions int64 (at
// most 20 characters), so one entry `{"i":"…","v":…},` is at most 6+128+2+4+20+1+1 = 162
// bytes and 1024 entries at most 165,890 bytes: 40% of DynamoDB's 400 KB item, leaving
// the rest to the conversation. Typical ids (36-byte UUIDs, 5-digit versions) take about
// 57 KB for a full record. MaxSeenRecordBytes is that worst case; a test holds it.
const MaxSeenIDs = 1024

// MaxSeenRecordBytes is the largest encoding of a full id record (see MaxSeenIDs).
const MaxSeenRecordBytes = 2 + MaxSeenIDs*162

// MaxItemBytes bounds the encoded session item (attribute names and values, numbers at
// their 21-byte maximum). DynamoDB refuses an item over 400 KB (409,600 bytes) with a
// ValidationException, which a client could only see as an internal error after the
// model ran; refusing at 350 KiB, before the write, keeps the rest as headroom for
// endpoints that account sizes slightly differently.
const MaxItemBytes = 350 << 10

// ErrTooLarge: the session item a write would produce exceeds MaxItemBytes. Nothing was
// written.
var ErrTooLarge = errors.New("session item too large")

// TooLargeError is the ErrTooLarge a write gets; it says by how much.
type TooLargeError struct {
	SessionID   string
	Size, Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("session %q: the session item would be %d bytes, over the %d-byte limit (DynamoDB items are at most 400 KB)", e.SessionID, e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) hold.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// LookupSeen returns the version id was acknowledged at, if the record holds it.
func LookupSeen(seen []SeenID, id string) (int64, bool) {
	for _, e := range seen {
		if e.ID == id {
			return e.Version, true
		}
	}
	return 0, false
}

// RecordMessages returns seen plus the user messages of msgs it lacks (at their
// versions), ordered by version and bounded to MaxSeenIDs. Writers call it with the
// conversation BEFORE it is trimmed, so no message leaves the conversation unrecorded
// (items written before the record existed included). seen is not modified.
func RecordMessages(seen []SeenID, msgs []Message) []SeenID {
	return MergeSeen(seen, userIDs(msgs))
}

func userIDs(msgs []Message) []SeenID {
	out := make([]SeenID, 0, len(msgs)/2+1)
	for _, m := range msgs {
		if m.Role == "user" {
			out = append(out, SeenID{ID: m.ID, Version: m.Version})
		}
	}
	return out
}

// MergeSeen is the union of two id records by id: an id in both keeps cur's entry (the
// stored one: the version the message was first acknowledged at). The result is ordered
// by version (stable: cur's entries, then mine's) and keeps the MaxSeenIDs highest.
// Neither input is modified.
func MergeSeen(cur, mine []SeenID) []SeenID {
	out := make([]SeenID, 0, len(cur)+len(mine))
	have := make(map[string]bool, len(cur)+len(mine))
	for _, list := range [][]SeenID{cur, mine} {
		for _, e := range list {
			if !have[e.ID] {
				have[e.ID] = true
				out = append(out, e)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b SeenID) int { return cmp.Compare(a.Version, b.Version) })
	if len(out) > MaxSeenIDs {
		out = slices.Clone(out[len(out)-MaxSeenIDs:])
	}
	return out
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

// ExpiredError is the ErrExpired a read of an expired session gets. It carries the
// owner so that only the owner is told the session expired (a stranger is answered as
// for an unknown id).
type ExpiredError struct {
	SessionID string
	ExpiredAt time.Time
	Owner     string // Session.Owner of the expired item
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("session %q expired at %s: %v", e.SessionID, e.ExpiredAt.Format(time.RFC3339), ErrExpired)
}

// Is makes errors.Is(err, ErrExpired) hold.
func (e *ExpiredError) Is(target error) bool { return target == ErrExpired }

// ExpiredOwnedBy reports whether err is an expiry that token may be told about: an
// ExpiredError whose owner token matches (or that has no owner). Any other error,
// a plain ErrExpired included, says nothing about the owner: false.
func ExpiredOwnedBy(err error, token string) bool {
	e, ok := errors.AsType[*ExpiredError](err)
	return ok && ownerMatches(e.Owner, token)
}

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
	// Get is a consistent read. ErrNotFound when absent; ErrExpired (an *ExpiredError naming
	// the owner) once the TTL has passed, even if DynamoDB has not deleted the item yet.
	Get(ctx context.Context, id string) (*Session, error)
	// Put writes s; s.Version is the NEW version the caller wants to write. Under every
	// strategy a live item keeps its Owner: a write carrying another one gets ErrConflict
	// and writes nothing; over an absent or expired item s.Owner becomes the owner.
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
