package store

import (
	"errors"
	"testing"
	"time"
)

// The estimate stays within the interval every answer allows, narrows as
// answers arrive at other phases of the second, and starts again when the
// clocks jump.
func TestStoreClockEstimate(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const skew = -10*time.Second - 300*time.Millisecond // the region is behind the store
	local := base
	c := &storeClock{local: func() time.Time { return local }}
	if !c.Now().Equal(local) {
		t.Fatal("before any answer the local clock is used")
	}
	// answers 40 ms after their requests, at phases 0.1, 0.35, 0.6, 0.85 s
	for _, ph := range []time.Duration{100, 350, 600, 850} {
		s := base.Add(ph * time.Millisecond)
		r := s.Add(40 * time.Millisecond)
		date := s.Add(20 * time.Millisecond).Add(-skew).Truncate(time.Second) // the store answers mid-flight
		c.observe(date, s, r)
		local = r
		off := c.Now().Sub(local)
		if d := off - (-skew); d < -time.Second-40*time.Millisecond || d > time.Second {
			t.Fatalf("phase %v: offset %v, true %v", ph, off, -skew)
		}
		base = base.Add(3 * time.Second)
	}
	if d := c.Now().Sub(local) - (-skew); d.Abs() > 300*time.Millisecond {
		t.Fatalf("after 4 phases the estimate is %v off, want within 300ms", d)
	}
	// A skewed region's first answer puts it within half a second (plus the
	// round trip) of the store, whatever the phase: the middle of what the
	// answer allows, not its edge.
	for _, ph := range []time.Duration{10, 480, 990} {
		at := time.Date(2030, 1, 1, 0, 0, 7, int(ph*time.Millisecond), time.UTC)
		sk := &storeClock{local: func() time.Time { return at }}
		sk.observe(at.Add(2*time.Millisecond).Add(-skew).Truncate(time.Second), at, at.Add(4*time.Millisecond))
		if d := sk.Now().Sub(at) - (-skew); d.Abs() > 504*time.Millisecond {
			t.Fatalf("phase %v: first estimate %v off, want within 504ms", ph, d)
		}
	}
	// A region whose clock agrees with the store's keeps it exactly, from
	// the first answer (whatever its phase in the second).
	for _, ph := range []time.Duration{10, 480, 990} {
		at := time.Date(2030, 1, 1, 0, 0, 7, int(ph*time.Millisecond), time.UTC)
		ok := &storeClock{local: func() time.Time { return at }}
		ok.observe(at.Add(2*time.Millisecond).Truncate(time.Second), at, at.Add(4*time.Millisecond))
		if !ok.Now().Equal(at) {
			t.Fatalf("phase %v: a correct clock was moved by %v", ph, ok.Now().Sub(at))
		}
	}
	// The region's clock is stepped 1 h: the next answer contradicts every
	// earlier one and the estimate starts again from it.
	s := base.Add(-time.Hour)
	date := base.Add(-skew).Truncate(time.Second)
	c.observe(date, s, s.Add(10*time.Millisecond))
	local = s.Add(10 * time.Millisecond)
	if d := c.Now().Sub(local) - (time.Hour - skew); d.Abs() > time.Second {
		t.Fatalf("after a step the offset is %v off", d)
	}
}

// A region 10 s behind writes a session with an 8 s TTL. Judged on the
// regions' own clocks (the old behaviour), a region with a correct clock
// reads it as already expired and may re-create it over the live item;
// judged on the store's clock, both agree it is live.
func TestStoreClockAgreesOnExpiryAcrossSkewedRegions(t *testing.T) {
	for _, storeClock := range []bool{false, true} {
		behind := func() time.Time { return time.Now().Add(-10 * time.Second) }
		w := newStore(t, func(c *DynamoConfig) { c.Now, c.TTL, c.StoreClock = behind, 8*time.Second, storeClock })
		r := newStore(t, func(c *DynamoConfig) {
			c.Endpoint, c.Table, c.TTL, c.StoreClock = w.cfg.Endpoint, w.cfg.Table, 8*time.Second, storeClock
		})
		ctx := ctxT(t)
		if _, err := w.Put(ctx, &Session{ID: "s", UserID: "u", Version: 1, Owner: "o1", LastActiveRegion: "behind"}); err != nil {
			t.Fatal(err)
		}
		_, err := r.Get(ctx, "s")
		_, reErr := r.Put(ctx, &Session{ID: "s", UserID: "u2", Version: 1, Owner: "o2", LastActiveRegion: "synced"})
		if !storeClock {
			if !errors.Is(err, ErrExpired) || reErr != nil {
				t.Fatalf("region clocks: read %v, re-create %v; want the session expired 2 s after it was written, and replaced", err, reErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("store clock: read %v, want the session live (written 0 s ago, TTL 8 s)", err)
		}
		if !errors.Is(reErr, ErrConflict) {
			t.Fatalf("store clock: re-create by another owner: %v, want a conflict (the session is live)", reErr)
		}
	}
}
