package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func seenIDs(seen []SeenID) []string {
	out := make([]string, len(seen))
	for i, e := range seen {
		out[i] = e.ID
	}
	return out
}

// The bound of the id record is chosen so that a full record of the longest ids and
// versions stays well under DynamoDB's 400 KB item: this holds the arithmetic.
func TestSeenRecordWorstCaseSize(t *testing.T) {
	full := make([]SeenID, MaxSeenIDs)
	for i := range full {
		id := fmt.Sprintf("%0128d", i) // the agent API's longest id: 128 bytes
		full[i] = SeenID{ID: id, Version: math.MaxInt64 - int64(MaxSeenIDs-i)}
	}
	raw, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > MaxSeenRecordBytes {
		t.Fatalf("full record encodes to %d bytes, over MaxSeenRecordBytes %d", len(raw), MaxSeenRecordBytes)
	}
	if MaxSeenRecordBytes > (400<<10)/2 {
		t.Fatalf("MaxSeenRecordBytes %d leaves less than half of DynamoDB's item to the conversation", MaxSeenRecordBytes)
	}
	s := &Session{ID: "s", Version: math.MaxInt64, Seen: full}
	if n, err := ItemSize(s); err != nil || n > MaxItemBytes {
		t.Fatalf("a session holding only a full record: ItemSize = %d, %v; want under MaxItemBytes", n, err)
	}
}

func TestMergeSeenUnionsBoundsAndKeepsStoredVersion(t *testing.T) {
	cur := []SeenID{{"a", 2}, {"b", 3}}
	mine := []SeenID{{"b", 9}, {"c", 4}, {"d", 1}}
	got := MergeSeen(cur, mine)
	want := []SeenID{{"d", 1}, {"a", 2}, {"b", 3}, {"c", 4}}
	if !slices.Equal(got, want) {
		t.Fatalf("MergeSeen = %v, want %v (union by id, stored version wins, by version)", got, want)
	}
	if !slices.Equal(cur, []SeenID{{"a", 2}, {"b", 3}}) || !slices.Equal(mine, []SeenID{{"b", 9}, {"c", 4}, {"d", 1}}) {
		t.Fatalf("inputs modified: %v %v", cur, mine)
	}
	var many []SeenID
	for i := range MaxSeenIDs + 10 {
		many = append(many, SeenID{ID: fmt.Sprint("m", i), Version: int64(i + 1)})
	}
	got = MergeSeen(nil, many)
	if len(got) != MaxSeenIDs || got[0].ID != "m10" || got[len(got)-1].ID != fmt.Sprint("m", MaxSeenIDs+9) {
		t.Fatalf("bounded record: %d ids %s..%s, want the last %d", len(got), got[0].ID, got[len(got)-1].ID, MaxSeenIDs)
	}
	if v, ok := LookupSeen(got, "m10"); !ok || v != 11 {
		t.Fatalf("LookupSeen(m10) = %d, %v", v, ok)
	}
	if _, ok := LookupSeen(got, "m9"); ok {
		t.Fatal("m9 should have been dropped as the oldest")
	}
}

// Every strategy keeps the ids of user messages the bound trimmed, with the version they
// were stored at, in the item; and reads them back.
func TestIDRecordOutlivesTrimming(t *testing.T) {
	for _, st := range []Strategy{VersionWins, LastWriteWins, Merge} {
		t.Run(string(st), func(t *testing.T) {
			d := newStore(t, func(c *DynamoConfig) { c.Strategy = st; c.MaxMessages = 4 })
			ctx := ctxT(t)
			var msgs []Message
			for i := range 6 {
				m := vmsg(fmt.Sprintf("m%d", i), i, int64(i+1), "a")
				r := vmsg(fmt.Sprintf("m%d:reply", i), i, int64(i+1), "a")
				r.Role = "assistant"
				msgs = append(msgs, m, r)
				// The writer passes on only what it loaded: the record, not the trimmed messages.
				var seen []SeenID
				if i > 0 {
					got, err := d.Get(ctx, "s")
					if err != nil {
						t.Fatal(err)
					}
					seen = got.Seen
				}
				if _, err := d.Put(ctx, &Session{ID: "s", Version: int64(i + 1), Messages: bound(msgs, 4), Seen: seen}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := d.Get(ctx, "s")
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Messages) != 4 || got.Messages[0].ID != "m4" {
				t.Fatalf("conversation %v, want the last 4", ids(got.Messages))
			}
			if want := []string{"m0", "m1", "m2", "m3", "m4", "m5"}; !slices.Equal(seenIDs(got.Seen), want) {
				t.Fatalf("record %v, want %v", got.Seen, want)
			}
			if v, ok := LookupSeen(got.Seen, "m0"); !ok || v != 1 {
				t.Fatalf("m0 recorded at v%d (%v), want v1", v, ok)
			}
		})
	}
}

// merge unions the two writers' records (and stamps a new id with the version actually
// written), so a retry of either region's message stays a duplicate.
func TestMergeUnionsIDRecords(t *testing.T) {
	d := newStore(t, func(c *DynamoConfig) { c.Strategy = Merge; c.MaxMessages = 2 })
	ctx := ctxT(t)
	a := &Session{ID: "s", Version: 2, Messages: []Message{vmsg("a1", 1, 2, "a")}, Seen: []SeenID{{"old-a", 1}, {"a1", 2}}}
	if _, err := d.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	// B read v1 before A's write: it asks for v2 too and gets v3.
	b := &Session{ID: "s", Version: 2, Messages: []Message{vmsg("b1", 1, 2, "b")}, Seen: []SeenID{{"old-b", 1}, {"b1", 2}}}
	res, err := d.Put(ctx, b)
	if err != nil || res.Version != 3 {
		t.Fatalf("merge put = %+v, %v; want v3", res, err)
	}
	got, err := d.Get(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	want := []SeenID{{"old-a", 1}, {"old-b", 1}, {"a1", 2}, {"b1", 3}}
	if !slices.Equal(got.Seen, want) {
		t.Fatalf("record %v, want %v", got.Seen, want)
	}
}

// An item over MaxItemBytes is refused before the write: nothing is stored, and the error
// says the size and the limit.
func TestItemSizeGuardRefusesBeforeWriting(t *testing.T) {
	for _, st := range []Strategy{VersionWins, LastWriteWins, Merge} {
		t.Run(string(st), func(t *testing.T) {
			d := newStore(t, func(c *DynamoConfig) { c.Strategy = st })
			ctx := ctxT(t)
			if _, err := d.Put(ctx, &Session{ID: "s", Version: 1, Messages: []Message{msg("m1", 1, "a")}}); err != nil {
				t.Fatal(err)
			}
			big := msg("big", 2, "a")
			big.Content = strings.Repeat("x", 900<<10)
			_, err := d.Put(ctx, &Session{ID: "s", Version: 2, Messages: []Message{msg("m1", 1, "a"), big}})
			var tl *TooLargeError
			if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tl) || tl.Limit != MaxItemBytes || tl.Size <= MaxItemBytes ||
				!strings.Contains(err.Error(), fmt.Sprint(MaxItemBytes)) {
				t.Fatalf("oversized put = %v, want a TooLargeError naming the %d-byte limit", err, MaxItemBytes)
			}
			got, err := d.Get(ctx, "s")
			if err != nil || got.Version != 1 || !slices.Equal(ids(got.Messages), []string{"m1"}) {
				t.Fatalf("after refusal Get = %+v, %v; want v1 untouched", got, err)
			}
			// JSON escaping counts: 60 KiB of '<' is 360 KiB as stored.
			html := msg("html", 2, "a")
			html.Content = strings.Repeat("<", 60<<10)
			if err := CheckItemSize(&Session{ID: "s", Version: 2, Messages: []Message{html}}); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("escaped content: CheckItemSize = %v, want ErrTooLarge", err)
			}
		})
	}
}

// Real DynamoDB answers an oversized item with a ValidationException: the caller gets
// ErrTooLarge from it too, not an unclassified error.
func TestValidationExceptionForSizeIsTooLarge(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(400)
		fmt.Fprint(w, `{"__type":"com.amazon.coral.validate#ValidationException","message":"Item size has exceeded the maximum allowed size"}`)
	}))
	defer ts.Close()
	d, err := NewDynamo(ctxT(t), DynamoConfig{Endpoint: ts.URL, Table: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctxT(t), &Session{ID: "s", Version: 1}); !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}
