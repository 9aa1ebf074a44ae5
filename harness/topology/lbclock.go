package topology

import (
	"math"
	"slices"
	"time"
)

// AlignClock moves every LB timestamp (Now, transitions' At, regions'
// EjectedUntil, health rounds' Started) onto the caller's clock by its age
// on the LB's own clock: local = received - (s.Now - t). received is the
// caller's time.Now() taken right after the response arrived; the LB read
// Now before sending, so converted times are never earlier than the truth
// and late by at most the request's round trip. No two clocks are compared,
// so skew between the LB and the harness does not matter. Converted times
// carry received's monotonic reading, so comparing them with the caller's
// other time.Now() values is immune to wall-clock steps too.
//
// Without Now (an LB that does not report it) nothing changes and
// ClockAligned stays false. Calling it again is a no-op. Slices are copied
// before conversion, so copies of s made earlier keep the LB's times.
func (s *LBStatus) AlignClock(received time.Time) {
	if s.ClockAligned || s.Now.IsZero() {
		return
	}
	local := byAge(s.Now, received)
	s.Regions = slices.Clone(s.Regions)
	for i := range s.Regions {
		s.Regions[i].EjectedUntil = local(s.Regions[i].EjectedUntil)
	}
	s.Transitions = alignTransitions(s.Transitions, local)
	s.Health = alignRounds(s.Health, local)
	s.Now = received
	s.ClockAligned = true
}

// byAge converts a time on a remote clock that read now when it built a
// body into the caller's clock: received - (now - t). "Never" (zero) stays
// never.
func byAge(now, received time.Time) func(time.Time) time.Time {
	return func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return received.Add(-now.Sub(t))
	}
}

func alignTransitions(ts []Transition, local func(time.Time) time.Time) []Transition {
	ts = slices.Clone(ts)
	for i := range ts {
		ts[i].At = local(ts[i].At)
	}
	return ts
}

func alignRounds(h LBHealthRounds, local func(time.Time) time.Time) LBHealthRounds {
	h.Recent = slices.Clone(h.Recent)
	for i := range h.Recent {
		h.Recent[i].Started = local(h.Recent[i].Started)
	}
	return h
}

// MaxRoundLateness is the largest lateness among the LB health rounds that
// started at or after since (caller's clock), and how many such rounds the
// status holds. A large value means the LB's process was starved, so a
// liveness bound that depends on its schedule was not really tested. A loop
// stalled right now has no round to report: compare rounds with the elapsed
// time over the interval. It is (0, 0) unless ClockAligned: since could not
// be compared otherwise. See RoundsCover for rounds the LB no longer keeps.
func (s LBStatus) MaxRoundLateness(since time.Time) (late time.Duration, rounds int) {
	if !s.ClockAligned {
		return 0, 0
	}
	return roundsLateness(s.Health, since)
}

func roundsLateness(h LBHealthRounds, since time.Time) (late time.Duration, rounds int) {
	for _, r := range h.Recent {
		if r.Started.Before(since) {
			continue
		}
		rounds++
		late = max(late, seconds(r.LateSeconds))
	}
	return late, rounds
}

// RoundsSince counts the health rounds in the status that started at or
// after since (caller's clock); 0 unless ClockAligned.
func (s LBStatus) RoundsSince(since time.Time) int {
	_, n := s.MaxRoundLateness(since)
	return n
}

// RoundsCover reports whether Health.Recent still holds every round that
// started at or after since: the LB keeps only its last rounds, and a
// lateness verdict over a partial window could miss the starved stretch.
// False unless ClockAligned.
func (s LBStatus) RoundsCover(since time.Time) bool {
	if !s.ClockAligned {
		return false
	}
	rec := s.Health.Recent
	if s.Health.Rounds <= int64(len(rec)) {
		return true // nothing dropped yet
	}
	// Rounds run one after another: the dropped ones started before the
	// oldest kept one.
	return len(rec) > 0 && !rec[0].Started.After(since)
}

func seconds(x float64) time.Duration {
	return time.Duration(math.Round(x * float64(time.Second)))
}
