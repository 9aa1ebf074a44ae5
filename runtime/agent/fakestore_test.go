package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/agentops/failover-harness/runtime/store"
)

// tok is the session token the tests' sessions are created with.
const tok = "agent-test-token-0123456789"

// memStore is a version-wins store.Store for unit tests; it records every
// write so tests can check versions and counts. Like the real store it keeps a
// live session's owner (a write carrying another is a conflict) and names the
// owner of an expired one.
type memStore struct {
	mu       sync.Mutex
	items    map[string]*store.Session
	puts     []store.Session // accepted writes, in order
	rejected []store.Session
	ttl      time.Duration
	now      func() time.Time
	down     bool
	gets     int
}

func newMemStore(now func() time.Time, ttl time.Duration) *memStore {
	return &memStore{items: map[string]*store.Session{}, now: now, ttl: ttl}
}

func (m *memStore) Get(_ context.Context, id string) (*store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if m.down {
		return nil, store.ErrUnavailable
	}
	s, ok := m.items[id]
	if !ok {
		return nil, fmt.Errorf("%s: %w", id, store.ErrNotFound)
	}
	if !m.now().Before(s.ExpiresAt) {
		return nil, &store.ExpiredError{SessionID: id, ExpiredAt: s.ExpiresAt, Owner: s.Owner}
	}
	return clone(s), nil
}

func (m *memStore) Put(_ context.Context, s *store.Session) (store.PutResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return store.PutResult{}, store.ErrUnavailable
	}
	now := m.now()
	var res store.PutResult
	if old, ok := m.items[s.ID]; ok {
		if now.Before(old.ExpiresAt) && (old.Version >= s.Version || old.Owner != s.Owner) {
			m.rejected = append(m.rejected, *clone(s))
			return store.PutResult{}, &store.ConflictError{SessionID: s.ID, Current: old.Version, Attempted: s.Version, OtherOwner: old.Owner != s.Owner}
		}
		res.PreviousRegion = old.LastActiveRegion
	}
	c := clone(s)
	c.ExpiresAt = now.Add(m.ttl)
	s.ExpiresAt = c.ExpiresAt
	m.items[s.ID] = c
	m.puts = append(m.puts, *clone(c))
	res.Version, res.ExpiresAt = s.Version, c.ExpiresAt
	return res, nil
}

func (m *memStore) Ping(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return store.ErrUnavailable
	}
	return nil
}

func (m *memStore) putsFor(id string) []store.Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Session
	for _, p := range m.puts {
		if p.ID == id {
			out = append(out, p)
		}
	}
	return out
}

func (m *memStore) setDown(v bool) {
	m.mu.Lock()
	m.down = v
	m.mu.Unlock()
}

func clone(s *store.Session) *store.Session {
	c := *s
	c.Messages = append([]store.Message(nil), s.Messages...)
	c.Seen = append([]store.SeenID(nil), s.Seen...)
	return &c
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
