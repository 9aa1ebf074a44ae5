package store

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// stamps assigns a message's timestamp from its region and its position in the
// conversation; the store must reach the same verdicts under every one of them.
var stamps = map[string]func(region string, seq int) time.Time{
	"in-order": func(_ string, seq int) time.Time { return t0.Add(time.Duration(seq) * time.Second) },
	"reversed": func(_ string, seq int) time.Time { return t0.Add(-time.Duration(seq) * time.Second) },
	"a+5s,b-5s": func(region string, seq int) time.Time {
		return t0.Add(time.Duration(seq)*10*time.Millisecond + skew(region, 5*time.Second))
	},
	"a-5s,b+5s": func(region string, seq int) time.Time {
		return t0.Add(time.Duration(seq)*10*time.Millisecond - skew(region, 5*time.Second))
	},
}

func skew(region string, d time.Duration) time.Duration {
	if region == "a" {
		return d
	}
	return -d
}

// turnAt is a user message and its reply acknowledged at version v.
func turnAt(id string, v int64, region string, seq int, stamp func(string, int) time.Time) []Message {
	ts := stamp(region, seq)
	return []Message{
		{ID: id, Role: "user", Content: id, Region: region, Timestamp: ts, Version: v},
		{ID: id + ":reply", Role: "assistant", Content: "re " + id, Region: region, Timestamp: ts, Version: v},
	}
}

func cat(parts ...[]Message) []Message { return slices.Concat(parts...) }

func TestMergeMessagesOrdersByVersionNotTimestamp(t *testing.T) {
	late := func(string, int) time.Time { return t0.Add(time.Hour) }
	early := func(string, int) time.Time { return t0.Add(-time.Hour) }
	cur := cat(turnAt("c1", 1, "a", 1, late), turnAt("c2", 2, "a", 2, late))
	// A concurrent writer at version 2 with an earlier clock, and its own copy of c1.
	mine := cat(turnAt("c1", 1, "b", 1, early), turnAt("m2", 2, "b", 2, early), turnAt("m3", 3, "b", 3, early))
	got := MergeMessages(cur, mine)
	want := []string{"c1", "c1:reply", "c2", "c2:reply", "m2", "m2:reply", "m3", "m3:reply"}
	if !slices.Equal(ids(got), want) {
		t.Fatalf("MergeMessages = %v, want %v (by version; equal versions: cur first, user before reply)", ids(got), want)
	}
	if got[0].Region != "a" {
		t.Fatalf("c1 = %+v, want cur's copy", got[0])
	}
}

// A writer's stale view holds messages the store already evicted: sorted by version
// they land at the front and the bound drops them again instead of resurrecting them.
func TestMergeMessagesDoesNotResurrectEvicted(t *testing.T) {
	st := stamps["in-order"]
	cur := cat(turnAt("c3", 3, "a", 3, st), turnAt("c4", 4, "a", 4, st)) // c1, c2 evicted by the bound of 4
	stale := cat(turnAt("c1", 1, "b", 1, st), turnAt("c2", 2, "b", 2, st), turnAt("c3", 3, "b", 3, st), turnAt("n5", 5, "b", 5, st))
	got := bound(MergeMessages(cur, stale), 4)
	if want := []string{"c4", "c4:reply", "n5", "n5:reply"}; !slices.Equal(ids(got), want) {
		t.Fatalf("bounded merge = %v, want %v", ids(got), want)
	}
}

func TestOverwrittenIsPositional(t *testing.T) {
	st := stamps["in-order"]
	m1, m2, a3, b3 := turnAt("m1", 1, "a", 1, st), turnAt("m2", 2, "a", 2, st), turnAt("a3", 3, "a", 3, st), turnAt("b3", 3, "b", 3, st)
	cases := []struct {
		name               string
		old, written, kept []Message
		want               []string
	}{
		{"bound evicted the head (writer's full list)", cat(m1, m2), cat(m1, m2, b3), cat(m2, b3), nil},
		{"writer's own bound evicted the head", cat(m1, m2), cat(m2, b3), cat(m2, b3), nil},
		{"newest overwritten", cat(m2, a3), cat(m2, b3), cat(m2, b3), []string{"a3", "a3:reply"}},
		{"nothing in common", cat(a3), cat(b3), cat(b3), []string{"a3", "a3:reply"}},
		{"nothing kept at all", cat(m1, m2), nil, nil, []string{"m1", "m1:reply", "m2", "m2:reply"}},
		{"no previous item", nil, cat(b3), cat(b3), nil},
	}
	for _, c := range cases {
		if got := overwritten(c.old, c.written, c.kept); !slices.Equal(got, c.want) {
			t.Errorf("%s: overwritten = %v, want %v", c.name, got, c.want)
		}
	}
}

// The same writes through the store give the same overwrite counts whatever the
// timestamps say: in order, reversed, or skewed ±5 s between the two regions.
func TestOverwriteCountsIgnoreTimestamps(t *testing.T) {
	type scenario struct {
		name     string
		strategy Strategy
		// run writes the session and returns the last write's result.
		run  func(t *testing.T, d *Dynamo, id string, st func(string, int) time.Time) PutResult
		want []string
	}
	put := func(t *testing.T, d *Dynamo, s *Session) PutResult {
		t.Helper()
		res, err := d.Put(ctxT(t), s)
		if err != nil {
			t.Fatalf("put v%d: %v", s.Version, err)
		}
		return res
	}
	scenarios := []scenario{{
		// b knew v2 and appends; the store's bound of 4 evicts m1: not an overwrite.
		name: "bound evicts the head", strategy: VersionWins, want: nil,
		run: func(t *testing.T, d *Dynamo, id string, st func(string, int) time.Time) PutResult {
			m1, m2 := turnAt("m1", 1, "a", 1, st), turnAt("m2", 2, "a", 2, st)
			put(t, d, &Session{ID: id, Version: 2, LastActiveRegion: "a", Messages: cat(m1, m2)})
			return put(t, d, &Session{ID: id, Version: 3, LastActiveRegion: "b", Messages: cat(m1, m2, turnAt("b3", 3, "b", 3, st))})
		},
	}, {
		// b's own bound already dropped m1 from what it writes.
		name: "writer's bound evicts the head", strategy: LastWriteWins, want: nil,
		run: func(t *testing.T, d *Dynamo, id string, st func(string, int) time.Time) PutResult {
			m1, m2 := turnAt("m1", 1, "a", 1, st), turnAt("m2", 2, "a", 2, st)
			put(t, d, &Session{ID: id, Version: 2, LastActiveRegion: "a", Messages: cat(m1, m2)})
			return put(t, d, &Session{ID: id, Version: 3, LastActiveRegion: "b", Messages: cat(m2, turnAt("b3", 3, "b", 3, st))})
		},
	}, {
		// a wrote a3 at v3 (evicting m1); b, partitioned at v2, writes its own v3.
		name: "last-write-wins overwrites the newest", strategy: LastWriteWins, want: []string{"a3", "a3:reply"},
		run: func(t *testing.T, d *Dynamo, id string, st func(string, int) time.Time) PutResult {
			m1, m2 := turnAt("m1", 1, "a", 1, st), turnAt("m2", 2, "a", 2, st)
			put(t, d, &Session{ID: id, Version: 2, LastActiveRegion: "a", Messages: cat(m1, m2)})
			put(t, d, &Session{ID: id, Version: 3, LastActiveRegion: "a", Messages: cat(m1, m2, turnAt("a3", 3, "a", 3, st))})
			return put(t, d, &Session{ID: id, Version: 3, LastActiveRegion: "b", Messages: cat(m1, m2, turnAt("b3", 3, "b", 4, st))})
		},
	}, {
		// The kept head is b's; a's overwritten turn may carry an earlier clock than it.
		name: "last-write-wins overwrite behind the kept head", strategy: LastWriteWins, want: []string{"a3", "a3:reply"},
		run: func(t *testing.T, d *Dynamo, id string, st func(string, int) time.Time) PutResult {
			b1, b2 := turnAt("b1", 1, "b", 1, st), turnAt("b2", 2, "b", 2, st)
			put(t, d, &Session{ID: id, Version: 2, LastActiveRegion: "b", Messages: cat(b1, b2)})
			put(t, d, &Session{ID: id, Version: 3, LastActiveRegion: "a", Messages: cat(b1, b2, turnAt("a3", 3, "a", 3, st))})
			return put(t, d, &Session{ID: id, Version: 3, LastActiveRegion: "b", Messages: cat(b1, b2, turnAt("b3", 3, "b", 4, st))})
		},
	}, {
		name: "merge never overwrites", strategy: Merge, want: nil,
		run: func(t *testing.T, d *Dynamo, id string, st func(string, int) time.Time) PutResult {
			m1, m2 := turnAt("m1", 1, "a", 1, st), turnAt("m2", 2, "a", 2, st)
			put(t, d, &Session{ID: id, Version: 2, LastActiveRegion: "a", Messages: cat(m1, m2)})
			put(t, d, &Session{ID: id, Version: 3, LastActiveRegion: "a", Messages: cat(m1, m2, turnAt("a3", 3, "a", 3, st))})
			return put(t, d, &Session{ID: id, Version: 3, LastActiveRegion: "b", Messages: cat(m1, m2, turnAt("b3", 3, "b", 4, st))})
		},
	}}
	stores := map[Strategy]*Dynamo{}
	for _, sc := range scenarios {
		if stores[sc.strategy] == nil {
			stores[sc.strategy] = newStore(t, func(c *DynamoConfig) { c.Strategy = sc.strategy; c.MaxMessages = 4 })
		}
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			d := stores[sc.strategy]
			for _, mode := range slices.Sorted(maps.Keys(stamps)) {
				before := d.Stats().OverwrittenMessages
				id := fmt.Sprintf("s%d", tableSeq.Add(1))
				res := sc.run(t, d, id, stamps[mode])
				if !slices.Equal(res.Overwritten, sc.want) {
					t.Errorf("%s: Overwritten = %v, want %v", mode, res.Overwritten, sc.want)
				}
				if n := d.Stats().OverwrittenMessages - before; n != int64(len(sc.want)) {
					t.Errorf("%s: store_overwritten_messages grew by %d, want %d", mode, n, len(sc.want))
				}
				got, err := d.Get(ctxT(t), id)
				if err != nil {
					t.Fatal(err)
				}
				if v := versions(got.Messages); !slices.IsSorted(v) {
					t.Errorf("%s: stored versions %v not in order", mode, v)
				}
			}
		})
	}
}
