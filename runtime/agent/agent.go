// Package agent handles sessions and messages: the model call, the
// exact-match response cache, lazy restore from the global store and the
// three checkpoint policies (on-ack, periodic with one loop per session,
// on-mutation).
package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentops/failover-harness/runtime/cache"
	"github.com/agentops/failover-harness/runtime/model"
	"github.com/agentops/failover-harness/runtime/store"
)

// Policy says when a message becomes durable in the global store.
type Policy string

// Checkpoint policies.
const (
	OnAck      Policy = "on-ack"
	Periodic   Policy = "periodic"
	OnMutation Policy = "on-mutation"
)

// ParsePolicy accepts the config spelling of a policy.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case OnAck, Periodic, OnMutation:
		return p, nil
	}
	return "", fmt.Errorf("checkpoint.policy: %q must be one of on-ack, periodic, on-mutation", s)
}

// Config configures a Service.
type Config struct {
	Region      string
	Store       store.Store
	Cache       *cache.Cache      // nil: no response cache
	Replicator  *cache.Replicator // nil: no broadcast to peers
	Model       model.Model
	Policy      Policy
	Interval    time.Duration // periodic checkpoint interval
	TTL         time.Duration // session lifetime after last activity
	MaxMessages int           // conversation bound
	Now         func() time.Time
	// ExpiryNow is the clock session expiry is stamped and judged on: the
	// store's (store.Dynamo.Now) so that in-memory copies expire when the
	// stored item does. Default Now.
	ExpiryNow func() time.Time
	Logger    *slog.Logger
	// WriteBehind is a planted bug (config failpoints), nil in production:
	// while it returns true (given the fastest of this region's last three
	// store writes) an on-ack message is acknowledged first and written
	// WriteBehindDelay later, the session held meanwhile.
	WriteBehind      func(lastWrite time.Duration) bool
	WriteBehindDelay time.Duration
}

// Result is the outcome of PostMessage.
type Result struct {
	SessionID string
	MessageID string
	Version   int64 // session version after this message
	// MessageVersion is the Version the user message carries as stored (for a
	// duplicate: the version the stored message carries).
	MessageVersion int64
	// Reply is the assistant message as stored (its final timestamp and version).
	Reply    store.Message
	CacheHit bool
	// Durable is true when the message was in the global store before the reply.
	Durable bool
	// Duplicate is true when message_id was already acknowledged in this session: in the
	// conversation, or in its id record (store.SeenID) once the bound trimmed it. For a
	// trimmed one Reply holds only its id and version: the content is gone.
	Duplicate bool
	// RestoredFrom names the region that last wrote the session when this
	// request restored it here (SPEC §5 defect 1: the PREVIOUS region).
	RestoredFrom string
}

// SessionInfo describes a session this region holds or has served.
type SessionInfo struct {
	ID               string    `json:"session_id"`
	UserID           string    `json:"user_id,omitempty"`
	Version          int64     `json:"version"`
	Messages         int       `json:"messages"`
	Dirty            bool      `json:"dirty"`
	LastActiveRegion string    `json:"last_active_region"`
	LastActiveAt     time.Time `json:"last_active_at"`
	ExpiresAt        time.Time `json:"expires_at"`
}

// Stats are cumulative counters.
type Stats struct {
	Checkpoints    int64 // successful writes to the store
	CheckpointErrs int64
	Conflicts      int64 // conflicts seen by the agent (before/after retry)
	Restores       int64 // sessions loaded from the store that another region wrote last
	CacheHits      int64
	CacheMisses    int64
	// CacheRefused counts cached replies refused when read because they
	// carried a data-changing tool call (a poisoned or foreign entry).
	CacheRefused int64
	ActiveLoops  int64 // running per-session checkpoint loops
}

// Service is one region's agent. Safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]*entry
	closed   bool
	loops    sync.WaitGroup

	checkpoints, checkpointErrs, conflicts, restores  atomic.Int64
	cacheHits, cacheMisses, cacheRefused, activeLoops atomic.Int64
	// ns the last three on-ack store writes took, newest at index
	// writeN%3 (the planted write-behind bug's trigger reads the fastest)
	lastWrites [3]atomic.Int64
	writeN     atomic.Int64

	ovMu       sync.Mutex
	overwrites []OverwriteReport // the last MaxOverwriteReports, oldest first
}

// MaxOverwriteReports bounds the overwrite reports a Service keeps.
const MaxOverwriteReports = 1000

// OverwriteReport names the stored messages one write of this region removed
// (last-write-wins during a partition), so a lost message is reported by id.
type OverwriteReport struct {
	SessionID      string    `json:"session_id"`
	MessageIDs     []string  `json:"message_ids"`
	PreviousRegion string    `json:"previous_region"` // last writer before this write
	Region         string    `json:"region"`          // this region, the writer
	At             time.Time `json:"at"`              // this region's clock
}

// entry is one session's in-memory state; mu serialises its operations.
type entry struct {
	mu    sync.Mutex
	id    string
	sess  *store.Session // nil until loaded (on-ack keeps only metadata authority in the store)
	dirty bool
	// written is the last version known to be in the store.
	written int64
	info    SessionInfo
	stop    chan struct{} // this session's own checkpoint loop (SPEC §5 defect 5)
	done    chan struct{}
}

// Errors.
var (
	ErrClosed = errors.New("agent: service closed")
	// ErrSessionExists: CreateSession of a live id that the presented token does not
	// own. Nothing of the session is returned.
	ErrSessionExists = errors.New("session exists")
)

// notFound is what a caller without the session's token is told: exactly what an
// unknown id gets, so a guesser cannot tell a taken id from a free one.
func notFound(id string) error {
	return fmt.Errorf("session %q: %w", id, store.ErrNotFound)
}

// expiredFor passes a store error on as token's caller may see it: an expiry is told
// only to the session's owner (or, for a session without owner, to anyone); a
// stranger is answered as for an unknown id.
func expiredFor(id string, err error, token string) error {
	if errors.Is(err, store.ErrExpired) && !store.ExpiredOwnedBy(err, token) {
		return notFound(id)
	}
	return err
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Region == "" {
		return nil, errors.New("agent: region: required")
	}
	if cfg.Store == nil {
		return nil, errors.New("agent: store: required")
	}
	if cfg.Model == nil {
		return nil, errors.New("agent: model: required")
	}
	if cfg.Policy == "" {
		cfg.Policy = OnAck
	}
	if _, err := ParsePolicy(string(cfg.Policy)); err != nil {
		return nil, err
	}
	if cfg.Policy == Periodic && cfg.Interval <= 0 {
		return nil, fmt.Errorf("checkpoint.interval: %v must be > 0 for the periodic policy", cfg.Interval)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if cfg.MaxMessages <= 0 {
		cfg.MaxMessages = 50
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExpiryNow == nil {
		cfg.ExpiryNow = cfg.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("region", cfg.Region), sessions: map[string]*entry{}}, nil
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	return Stats{
		Checkpoints: s.checkpoints.Load(), CheckpointErrs: s.checkpointErrs.Load(),
		Conflicts: s.conflicts.Load(), Restores: s.restores.Load(),
		CacheHits: s.cacheHits.Load(), CacheMisses: s.cacheMisses.Load(), CacheRefused: s.cacheRefused.Load(),
		ActiveLoops: s.activeLoops.Load(),
	}
}

// Policy returns the checkpoint policy in use.
func (s *Service) Policy() Policy { return s.cfg.Policy }

func (s *Service) entry(id string) (*entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	e, ok := s.sessions[id]
	if !ok {
		e = &entry{id: id}
		s.sessions[id] = e
	}
	return e, nil
}

// lock returns id's current entry, locked. An entry forgotten while we
// waited for its lock is skipped so no state lands in an orphan.
func (s *Service) lock(id string) (*entry, error) {
	for {
		e, err := s.entry(id)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		s.mu.Lock()
		current := s.sessions[id] == e
		s.mu.Unlock()
		if current {
			return e, nil
		}
		e.mu.Unlock()
	}
}

// forget drops an entry (expired or ended) and stops its loop.
func (s *Service) forget(e *entry) {
	s.mu.Lock()
	if s.sessions[e.id] == e {
		delete(s.sessions, e.id)
	}
	s.mu.Unlock()
	if e.stop != nil {
		close(e.stop)
		e.stop = nil
	}
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CreateSession creates sessionID (random when empty) in the global store, owned by
// token (only its hash is stored), or returns the live session with created=false
// when token owns it (a client whose first answer was lost retries). A live session
// that token does not own is ErrSessionExists. An expired id is created afresh for
// any token: the re-authentication path.
func (s *Service) CreateSession(ctx context.Context, userID, sessionID, token string) (*store.Session, bool, error) {
	if token == "" { // every new session has an owner
		return nil, false, errors.New("session_token: required")
	}
	if sessionID == "" {
		sessionID = newID()
	}
	e, err := s.lock(sessionID)
	if err != nil {
		return nil, false, err
	}
	defer e.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		cur, err := s.cfg.Store.Get(ctx, sessionID)
		switch {
		case err == nil:
			// Checked before adopt: a stranger's create changes nothing here.
			if !cur.OwnedBy(token) {
				return nil, false, fmt.Errorf("session %q: %w", sessionID, ErrSessionExists)
			}
			s.adopt(e, cur)
			return cloneSession(cur), false, nil
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExpired):
		default:
			return nil, false, err
		}
		now := s.cfg.Now()
		sess := &store.Session{
			ID: sessionID, UserID: userID, Version: 1, State: map[string]string{},
			LastActiveRegion: s.cfg.Region, LastActiveAt: now, Owner: store.OwnerHash(token),
		}
		if _, err := s.cfg.Store.Put(ctx, sess); err != nil {
			if errors.Is(err, store.ErrConflict) {
				// Another region created it between our read and write: return theirs
				// (after the owner check above, on the next read).
				s.conflicts.Add(1)
				continue
			}
			return nil, false, err
		}
		s.checkpoints.Add(1)
		s.adopt(e, sess)
		return cloneSession(sess), true, nil
	}
	return nil, false, fmt.Errorf("create session %q: %w", sessionID, store.ErrConflict)
}

// adopt installs a session read from or written to the store as e's state.
func (s *Service) adopt(e *entry, sess *store.Session) {
	if s.cfg.Policy != OnAck {
		e.sess = cloneSession(sess)
		e.dirty = false
		s.startLoop(e)
	}
	e.written = sess.Version
	s.setInfo(e, sess)
}

func (s *Service) setInfo(e *entry, sess *store.Session) {
	info := SessionInfo{
		ID: sess.ID, UserID: sess.UserID, Version: sess.Version, Messages: len(sess.Messages),
		Dirty: e.dirty, LastActiveRegion: sess.LastActiveRegion, LastActiveAt: sess.LastActiveAt,
		ExpiresAt: sess.ExpiresAt,
	}
	s.mu.Lock()
	e.info = info
	s.mu.Unlock()
}

// load returns the session for e if token owns it: the in-memory copy when the
// policy keeps one, else a consistent read (lazy restore: nothing is scanned
// eagerly). A session token does not own is ErrNotFound, decided before anything
// else looks at the session (its id record, the model, a write, the restore count).
func (s *Service) load(ctx context.Context, e *entry, token string) (*store.Session, string, error) {
	now := s.cfg.ExpiryNow()
	if e.sess != nil {
		if !now.Before(e.sess.ExpiresAt) {
			exp := &store.ExpiredError{SessionID: e.id, ExpiredAt: e.sess.ExpiresAt, Owner: e.sess.Owner}
			s.forget(e)
			e.sess = nil
			return nil, "", expiredFor(e.id, exp, token)
		}
		if !e.sess.OwnedBy(token) {
			return nil, "", notFound(e.id)
		}
		return e.sess, "", nil
	}
	sess, err := s.cfg.Store.Get(ctx, e.id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired) {
			s.forget(e)
		}
		return nil, "", expiredFor(e.id, err, token)
	}
	if !sess.OwnedBy(token) {
		return nil, "", notFound(e.id)
	}
	// Capture the previous region BEFORE anything overwrites it (SPEC §5 defect 1).
	prev := sess.LastActiveRegion
	from := ""
	if prev != "" && prev != s.cfg.Region {
		from = prev
		s.restores.Add(1)
		s.log.Info("session restored", "session_id", e.id, "previous_region", prev, "version", sess.Version)
	}
	if s.cfg.Policy != OnAck {
		// The loaded snapshot becomes the working copy (SPEC §5 defect 4).
		e.sess = sess
		e.dirty = false
		e.written = sess.Version
		s.startLoop(e)
		return e.sess, from, nil
	}
	return sess, from, nil
}

// PostMessage appends a user message and the agent's reply, for the session's owner:
// token must own the session, else it is ErrNotFound (before duplicate detection, the
// model and any write).
func (s *Service) PostMessage(ctx context.Context, sessionID, token, messageID, content string) (Result, error) {
	if sessionID == "" {
		return Result{}, errors.New("session_id: required")
	}
	if messageID == "" {
		return Result{}, errors.New("message_id: required")
	}
	e, err := s.lock(sessionID)
	if err != nil {
		return Result{}, err
	}
	handoff := false // the planted write-behind bug unlocks e itself
	defer func() {
		if !handoff {
			e.mu.Unlock()
		}
	}()

	sess, from, err := s.load(ctx, e, token)
	if err != nil {
		return Result{}, err
	}
	// Idempotent for the session's life, not only while the message is kept: a retry
	// must never run the model (and its tool calls) twice.
	if r, ok := acknowledged(sess, messageID); ok {
		r.Durable = s.cfg.Policy == OnAck || (!e.dirty && e.written >= sess.Version)
		r.RestoredFrom = from
		return r, nil
	}
	// A message whose session item would be too large even with an empty
	// reply is refused before the model runs: its tool calls must not act for
	// a message that is never acknowledged. (The reply's own size is checked
	// once it is known: below, or by the store's guard.)
	probe, _, _ := s.appendTurn(sess, messageID, content, model.Reply{}, s.cfg.Now(), sess.Version+1)
	if err := store.CheckItemSize(probe); err != nil {
		return Result{}, err
	}
	reply, hit, err := s.answer(ctx, sess, content)
	if err != nil {
		return Result{}, err
	}
	if s.cfg.Policy == OnAck && s.cfg.WriteBehind != nil && s.cfg.WriteBehind(s.recentWrite()) {
		handoff = true
		return s.writeBehind(e, sess, token, messageID, content, reply, hit, from), nil
	}
	if s.cfg.Policy == OnAck {
		res, err := s.writeOnAck(ctx, e, sess, token, messageID, content, reply)
		if err != nil {
			return Result{}, err
		}
		res.CacheHit = hit && !res.Duplicate
		res.RestoredFrom = from
		return res, nil
	}

	// periodic / on-mutation: the in-memory copy is authoritative while dirty.
	now := s.cfg.Now()
	// every ack gets its own, increasing version; the next write uses it
	next, user, asst := s.appendTurn(sess, messageID, content, reply, now, sess.Version+1)
	next.ExpiresAt = s.cfg.ExpiryNow().Add(s.cfg.TTL)
	// This ack comes before the write: refuse now what the store would refuse later,
	// so nothing is acknowledged that can never become durable.
	if err := store.CheckItemSize(next); err != nil {
		return Result{}, err
	}
	e.sess = next
	e.dirty = true
	res := Result{SessionID: sessionID, MessageID: messageID, CacheHit: hit, RestoredFrom: from}
	if s.cfg.Policy == OnMutation && reply.HasMutation() {
		if err := s.checkpoint(ctx, e); err != nil {
			return Result{}, err
		}
		res.Durable = true
	}
	// Read back: a merge-strategy checkpoint may have stamped a higher version.
	if r, ok := inConversation(e.sess, messageID); ok {
		res.MessageVersion, res.Reply = r.MessageVersion, r.Reply
	} else { // evicted at once by a tiny bound
		res.MessageVersion, res.Reply = user.Version, asst
	}
	res.Version = e.sess.Version
	s.setInfo(e, e.sess)
	return res, nil
}

// turn builds the user message and its reply, both stamped with version and
// with a timestamp never earlier than the last message of sess: timestamps
// are for display, and a reader should not see them go backwards.
func (s *Service) turn(sess *store.Session, messageID, content string, reply model.Reply, now time.Time, version int64) (store.Message, store.Message) {
	if n := len(sess.Messages); n > 0 && now.Before(sess.Messages[n-1].Timestamp) {
		now = sess.Messages[n-1].Timestamp
	}
	user := store.Message{ID: messageID, Role: "user", Content: content, Region: s.cfg.Region, Timestamp: now, Version: version}
	asst := store.Message{ID: replyID(messageID), Role: "assistant", Content: reply.Content, Region: s.cfg.Region, Timestamp: now, Version: version, ToolCalls: reply.ToolCalls}
	return user, asst
}

// appendTurn returns a copy of sess at version with the turn appended: the
// id record gains the user message (recorded before the bound trims the
// conversation, so no id leaves unrecorded) and the conversation is bounded.
func (s *Service) appendTurn(sess *store.Session, messageID, content string, reply model.Reply, now time.Time, version int64) (*store.Session, store.Message, store.Message) {
	next := cloneSession(sess)
	next.Version = version
	user, asst := s.turn(sess, messageID, content, reply, now, version)
	all := append(next.Messages, user, asst)
	next.Seen = store.RecordMessages(next.Seen, all)
	next.Messages = bound(all, s.cfg.MaxMessages)
	next.LastActiveRegion = s.cfg.Region
	next.LastActiveAt = now
	return next, user, asst
}

// writeOnAck appends to the loaded session and writes loaded+1; on a
// version conflict it reloads once and retries with the same reply. Every
// attempt builds the messages after its (re)load, so their version and
// timestamp follow what is stored.
func (s *Service) writeOnAck(ctx context.Context, e *entry, sess *store.Session, token, messageID, content string, reply model.Reply) (Result, error) {
	for attempt := 0; ; attempt++ {
		// Built on each (re)load: the stored conversation and id record stay.
		next, user, asst := s.appendTurn(sess, messageID, content, reply, s.cfg.Now(), sess.Version+1)
		next.LastActiveAt = user.Timestamp
		began := time.Now()
		res, err := s.cfg.Store.Put(ctx, next)
		s.lastWrites[s.writeN.Add(1)%3].Store(int64(time.Since(began)))
		if err == nil {
			s.checkpoints.Add(1)
			s.reportOverwrite(e.id, res)
			if res.Version > next.Version {
				// merge wrote a higher version and stamped our new messages with it
				user.Version, asst.Version = res.Version, res.Version
				next.Version = res.Version
			}
			e.written = next.Version
			s.setInfo(e, next)
			return Result{
				SessionID: e.id, MessageID: messageID, Version: next.Version, MessageVersion: user.Version,
				Reply: asst, Durable: true,
			}, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 1 {
			if errors.Is(err, store.ErrConflict) {
				s.conflicts.Add(1)
			}
			return Result{}, err
		}
		s.conflicts.Add(1)
		if sess, err = s.cfg.Store.Get(ctx, e.id); err != nil {
			return Result{}, expiredFor(e.id, err, token)
		}
		// Meanwhile the session may have expired and been re-created by another
		// owner (the store refuses a write that would change a live owner): its id
		// record and conversation are not this caller's.
		if !sess.OwnedBy(token) {
			return Result{}, notFound(e.id)
		}
		// The concurrent writer may have been a retry of this very message.
		if r, ok := acknowledged(sess, messageID); ok {
			r.Durable = true
			return r, nil
		}
	}
}

// recentWrite is the fastest of the last three store writes: slow only when
// the store has been slow, not when one write spanned a pause.
func (s *Service) recentWrite() time.Duration {
	d := time.Duration(s.lastWrites[0].Load())
	for i := 1; i < 3; i++ {
		d = min(d, time.Duration(s.lastWrites[i].Load()))
	}
	return d
}

// writeBehind is the planted bug: it answers as a successful on-ack write
// would, then writes after WriteBehindDelay, holding the session's lock
// (handed over by PostMessage) so the next request of the session waits.
func (s *Service) writeBehind(e *entry, sess *store.Session, token, messageID, content string, reply model.Reply, hit bool, from string) Result {
	next, user, asst := s.appendTurn(sess, messageID, content, reply, s.cfg.Now(), sess.Version+1)
	res := Result{SessionID: e.id, MessageID: messageID, Version: next.Version, MessageVersion: user.Version,
		Reply: asst, Durable: true, CacheHit: hit, RestoredFrom: from}
	go func() {
		defer e.mu.Unlock()
		t := time.NewTimer(s.cfg.WriteBehindDelay)
		<-t.C
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.writeOnAck(ctx, e, sess, token, messageID, content, reply); err != nil {
			s.log.Warn("write-behind failed after the acknowledgement", "session_id", e.id, "message_id", messageID, "err", err)
		}
	}()
	return res
}

// restamp moves messages (and their id record entries) acknowledged at
// version from to version to (the version a merge-strategy store actually
// wrote them at). Only this region's unsaved messages carry from: it is above
// every version loaded from the store.
func restamp(sess *store.Session, from, to int64) {
	for i := range sess.Messages {
		if sess.Messages[i].Version == from {
			sess.Messages[i].Version = to
		}
	}
	for i := range sess.Seen {
		if sess.Seen[i].Version == from {
			sess.Seen[i].Version = to
		}
	}
}

// checkpoint writes e's dirty in-memory copy with its (fresh) version. On a
// conflict it reloads, re-applies the unsaved messages on top and retries
// once with a version above the stored one (SPEC §5 defects 2 and 6).
func (s *Service) checkpoint(ctx context.Context, e *entry) error {
	if e.sess == nil || !e.dirty {
		return nil
	}
	if e.sess.Version <= e.written {
		e.sess.Version = e.written + 1
	}
	for attempt := 0; ; attempt++ {
		snap := cloneSession(e.sess)
		res, err := s.cfg.Store.Put(ctx, snap)
		if err == nil {
			s.checkpoints.Add(1)
			s.reportOverwrite(e.id, res)
			if res.Version > snap.Version {
				restamp(e.sess, snap.Version, res.Version)
				e.sess.Version = res.Version
			}
			e.sess.ExpiresAt = snap.ExpiresAt
			e.written = e.sess.Version
			e.dirty = false
			s.setInfo(e, e.sess)
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			s.checkpointErrs.Add(1)
			return err
		}
		s.conflicts.Add(1)
		if attempt == 1 {
			s.checkpointErrs.Add(1)
			return err
		}
		cur, gerr := s.cfg.Store.Get(ctx, e.id)
		if gerr != nil {
			s.checkpointErrs.Add(1)
			return gerr
		}
		if cur.Owner != e.sess.Owner {
			// The session expired in the store and another owner re-created it (the
			// store refused this write for it). Merging would show this conversation
			// to the new owner: the unsaved messages of the expired session are dropped.
			s.checkpointErrs.Add(1)
			e.sess, e.dirty = nil, false
			s.forget(e)
			return fmt.Errorf("session %q: re-created by another owner, unsaved messages of the expired session dropped: %w", e.id, store.ErrExpired)
		}
		merged := cloneSession(cur)
		// By version, not timestamp: regions' clocks differ.
		all := store.MergeMessages(cur.Messages, e.sess.Messages)
		// Both ids records survive the reload: a retry of either side's message stays a duplicate.
		merged.Seen = store.RecordMessages(store.MergeSeen(cur.Seen, e.sess.Seen), all)
		merged.Messages = bound(all, s.cfg.MaxMessages)
		merged.Version = max(cur.Version, e.sess.Version) + 1
		merged.LastActiveRegion = s.cfg.Region
		merged.LastActiveAt = e.sess.LastActiveAt
		e.sess = merged
		e.written = cur.Version
	}
}

// startLoop starts e's own periodic checkpoint loop (one per session, SPEC
// §5 defect 5). Caller holds e.mu.
func (s *Service) startLoop(e *entry) {
	if s.cfg.Policy != Periodic || e.stop != nil {
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed { // Close is (or has been) waiting for the loops; start no new one
		return
	}
	e.stop, e.done = make(chan struct{}), make(chan struct{})
	s.loops.Add(1)
	s.activeLoops.Add(1)
	go s.loop(e, e.stop, e.done)
}

func (s *Service) loop(e *entry, stop, done chan struct{}) {
	// Deferred in reverse: done is closed last, so a waiter on done sees the
	// loop fully accounted for.
	defer close(done)
	defer s.loops.Done()
	defer s.activeLoops.Add(-1)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		e.mu.Lock()
		if e.sess != nil && !s.cfg.ExpiryNow().Before(e.sess.ExpiresAt) {
			// Expired: nothing more to save; stop this session's loop only.
			e.sess = nil
			s.forget(e)
			e.mu.Unlock()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Interval)
		if err := s.checkpoint(ctx, e); err != nil {
			s.log.Warn("periodic checkpoint failed", "session_id", e.id, "err", err)
		}
		cancel()
		e.mu.Unlock()
	}
}

// EndSession writes a final checkpoint of id and stops its loop (the seed's
// endSession); other sessions are unaffected.
func (s *Service) EndSession(ctx context.Context, id string) error {
	s.mu.Lock()
	e, ok := s.sessions[id]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := s.checkpoint(ctx, e); err != nil {
		return err
	}
	done := e.done
	s.forget(e)
	e.sess = nil
	if done != nil {
		e.mu.Unlock()
		<-done // the loop may be waiting for e.mu
		e.mu.Lock()
	}
	return nil
}

// GetSession returns the conversation to its owner (token must own it, else
// ErrNotFound): the in-memory copy when this region holds one, else a consistent
// read from the store.
func (s *Service) GetSession(ctx context.Context, id, token string) (*store.Session, error) {
	e, err := s.lock(id)
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	sess, _, err := s.load(ctx, e, token)
	if err != nil {
		return nil, err
	}
	if s.cfg.Policy == OnAck {
		s.setInfo(e, sess)
	}
	return cloneSession(sess), nil
}

// Sessions lists the sessions this region holds or has served.
func (s *Service) Sessions() []SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SessionInfo, 0, len(s.sessions))
	for _, e := range s.sessions {
		if e.info.ID != "" {
			out = append(out, e.info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ActiveSessions lists sessions active within the last `since`.
func (s *Service) ActiveSessions(since time.Duration) []SessionInfo {
	cutoff := s.cfg.Now().Add(-since)
	var out []SessionInfo
	for _, in := range s.Sessions() {
		if !in.LastActiveAt.Before(cutoff) && s.cfg.ExpiryNow().Before(in.ExpiresAt) {
			out = append(out, in)
		}
	}
	return out
}

// FlushAll writes every dirty session now and waits for the writes (the
// failover final checkpoint, SPEC §5 defect 2): each write carries a fresh
// version. It returns how many sessions were written.
func (s *Service) FlushAll(ctx context.Context) (int, error) {
	s.mu.Lock()
	entries := make([]*entry, 0, len(s.sessions))
	for _, e := range s.sessions {
		entries = append(entries, e)
	}
	s.mu.Unlock()
	n := 0
	var errs []error
	for _, e := range entries {
		e.mu.Lock()
		wasDirty := e.sess != nil && e.dirty
		err := s.checkpoint(ctx, e)
		e.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("session %q: %w", e.id, err))
		} else if wasDirty {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// Close stops every checkpoint loop, then writes a final checkpoint of every
// dirty session and waits for it.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	entries := make([]*entry, 0, len(s.sessions))
	for _, e := range s.sessions {
		entries = append(entries, e)
	}
	s.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		if e.stop != nil {
			close(e.stop)
			e.stop = nil
		}
		e.mu.Unlock()
	}
	s.loops.Wait()
	var errs []error
	for _, e := range entries {
		e.mu.Lock()
		if err := s.checkpoint(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("session %q: %w", e.id, err))
		}
		e.mu.Unlock()
	}
	return errors.Join(errs...)
}

func replyID(messageID string) string { return messageID + ":reply" }

// acknowledged reports whether messageID was already acknowledged in sess:
// from the conversation when it is still there (with its stored reply), else
// from the session's id record, whose entry gives the version it was stored at
// and only the reply's id (its content was trimmed with it).
func acknowledged(sess *store.Session, messageID string) (Result, bool) {
	if r, ok := inConversation(sess, messageID); ok {
		return r, true
	}
	v, ok := store.LookupSeen(sess.Seen, messageID)
	if !ok {
		return Result{}, false
	}
	return Result{
		SessionID: sess.ID, MessageID: messageID, Version: sess.Version, MessageVersion: v, Duplicate: true,
		Reply: store.Message{ID: replyID(messageID), Role: "assistant", Version: v},
	}, true
}

// inConversation finds messageID in sess's conversation and returns the
// stored reply and the version the stored message carries (its reply's when
// the bound evicted it).
func inConversation(sess *store.Session, messageID string) (Result, bool) {
	var user, reply *store.Message
	for i := range sess.Messages {
		switch sess.Messages[i].ID {
		case messageID:
			user = &sess.Messages[i]
		case replyID(messageID):
			reply = &sess.Messages[i]
		}
	}
	if user == nil && reply == nil {
		return Result{}, false
	}
	r := Result{SessionID: sess.ID, MessageID: messageID, Version: sess.Version, Duplicate: true}
	if reply != nil {
		r.Reply, r.MessageVersion = *reply, reply.Version
	}
	if user != nil {
		r.MessageVersion = user.Version
	}
	return r, true
}

func bound(msgs []store.Message, n int) []store.Message {
	if len(msgs) <= n {
		return msgs
	}
	return append([]store.Message(nil), msgs[len(msgs)-n:]...)
}

func cloneSession(s *store.Session) *store.Session {
	c := *s
	c.Messages = append([]store.Message(nil), s.Messages...)
	c.Seen = slices.Clone(s.Seen)
	if s.State != nil {
		c.State = make(map[string]string, len(s.State))
		for k, v := range s.State {
			c.State[k] = v
		}
	}
	return &c
}

// answer gets the reply from the exact-match cache or the model. Cache
// failures degrade to a model call: Redis is not needed to ack.
func (s *Service) answer(ctx context.Context, sess *store.Session, prompt string) (model.Reply, bool, error) {
	key := cache.Key(s.cfg.Model.Name(), prompt)
	if s.cfg.Cache != nil {
		if r, ok := s.cacheGet(ctx, key); ok {
			s.cacheHits.Add(1)
			return r, true, nil
		}
	}
	s.cacheMisses.Add(1)
	reply, err := s.cfg.Model.Complete(ctx, sess.Messages, prompt)
	if err != nil {
		return model.Reply{}, false, fmt.Errorf("model: %w", err)
	}
	// A reply that mutates is an action, not an answer: replaying it from a
	// cache would skip the tool call, so it is never cached.
	if s.cfg.Cache != nil && !reply.HasMutation() {
		s.cachePut(ctx, key, reply)
	}
	return reply, false, nil
}

// reportOverwrite logs and keeps a write that removed messages another
// writer had stored (last-write-wins during a partition): the store counts
// them in store_overwritten_messages_total; this names them, so none is silent.
func (s *Service) reportOverwrite(id string, res store.PutResult) {
	if len(res.Overwritten) == 0 {
		return
	}
	s.cfg.Logger.Warn("write overwrote stored messages", "session", id, "count", len(res.Overwritten),
		"message_ids", res.Overwritten, "previous_region", res.PreviousRegion)
	rep := OverwriteReport{
		SessionID: id, MessageIDs: slices.Clone(res.Overwritten), PreviousRegion: res.PreviousRegion,
		Region: s.cfg.Region, At: s.cfg.Now().UTC(),
	}
	s.ovMu.Lock()
	defer s.ovMu.Unlock()
	if len(s.overwrites) >= MaxOverwriteReports {
		s.overwrites = slices.Delete(s.overwrites, 0, len(s.overwrites)-MaxOverwriteReports+1)
	}
	s.overwrites = append(s.overwrites, rep)
}

// Overwrites returns the kept overwrite reports (the last
// MaxOverwriteReports), oldest first.
func (s *Service) Overwrites() []OverwriteReport {
	s.ovMu.Lock()
	defer s.ovMu.Unlock()
	out := make([]OverwriteReport, len(s.overwrites))
	for i, r := range s.overwrites {
		r.MessageIDs = slices.Clone(r.MessageIDs)
		out[i] = r
	}
	return out
}
