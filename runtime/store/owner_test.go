package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const (
	tokA = "token-of-owner-a-0123456789"
	tokB = "token-of-owner-b-0123456789"
)

func TestOwnedBy(t *testing.T) {
	s := &Session{Owner: OwnerHash(tokA)}
	if !s.OwnedBy(tokA) {
		t.Error("owner's token refused")
	}
	for _, tok := range []string{"", tokB, tokA + "x", tokA[:len(tokA)-1], OwnerHash(tokA)} {
		if s.OwnedBy(tok) {
			t.Errorf("token %q opens a session it does not own", tok)
		}
	}
	// Items stored before sessions had owners stay usable without a token.
	legacy := &Session{}
	if !legacy.OwnedBy("") || !legacy.OwnedBy(tokB) {
		t.Error("a session without owner refused a caller")
	}
	if h := OwnerHash(tokA); len(h) != 64 || strings.Contains(h, tokA) {
		t.Errorf("OwnerHash = %q, want 64 hex digits of SHA-256", h)
	}
}

// Only the hash is stored, under "owner"; an item without owner has no such attribute.
func TestOwnerStoredAsHashOnly(t *testing.T) {
	d := newStore(t, nil)
	ctx := ctxT(t)
	if _, err := d.Put(ctx, &Session{ID: "s", Version: 1, Owner: OwnerHash(tokA)}); err != nil {
		t.Fatal(err)
	}
	raw, err := d.getItem(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := raw["owner"].(*types.AttributeValueMemberS); o == nil || o.Value != OwnerHash(tokA) {
		t.Fatalf("owner attribute = %v, want the token's hash", raw["owner"])
	}
	for name, v := range raw {
		if sv, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(sv.Value, tokA) {
			t.Fatalf("attribute %s holds the token itself", name)
		}
	}
	if got, err := d.Get(ctx, "s"); err != nil || got.Owner != OwnerHash(tokA) {
		t.Fatalf("Get = %+v, %v; want owner %s", got, err, OwnerHash(tokA))
	}
	if _, err := d.Put(ctx, &Session{ID: "legacy", Version: 1}); err != nil {
		t.Fatal(err)
	}
	if raw, _ := d.getItem(ctx, "legacy"); raw["owner"] != nil {
		t.Fatalf("item without owner has owner attribute %v", raw["owner"])
	}
}

// The owner of a live item never changes, whatever the strategy: the owner's writes keep
// it (last-write-wins even with a lower version, merge when it unions), a write carrying
// another owner or none is refused with nothing written, and an item without owner
// cannot be claimed. Once the item expired, its expiry is told only to its owner, and a
// re-create sets the new owner.
func TestOwnerKeptByEveryStrategy(t *testing.T) {
	for _, st := range []Strategy{VersionWins, LastWriteWins, Merge} {
		t.Run(string(st), func(t *testing.T) {
			clk := newClock()
			d := newStore(t, func(c *DynamoConfig) { c.Strategy = st; c.Now = clk.Now; c.TTL = time.Minute })
			ctx := ctxT(t)
			a := OwnerHash(tokA)
			if _, err := d.Put(ctx, &Session{ID: "s", Version: 1, Owner: a, Messages: []Message{vmsg("m1", 1, 1, "r")}}); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Put(ctx, &Session{ID: "s", Version: 2, Owner: a, Messages: []Message{vmsg("m1", 1, 1, "r"), vmsg("m2", 2, 2, "r")}}); err != nil {
				t.Fatalf("owner's write: %v", err)
			}
			switch st {
			case LastWriteWins: // a partitioned writer of the same session with a lower version
				if _, err := d.Put(ctx, &Session{ID: "s", Version: 2, Owner: a, Messages: []Message{vmsg("m1", 1, 1, "r"), vmsg("m3", 3, 2, "x")}}); err != nil {
					t.Fatalf("last-write-wins write of the owner: %v", err)
				}
			case Merge: // the other side of a partition at the same version: unioned
				if _, err := d.Put(ctx, &Session{ID: "s", Version: 2, Owner: a, Messages: []Message{vmsg("m1", 1, 1, "r"), vmsg("m3", 3, 2, "x")}}); err != nil {
					t.Fatalf("merge write of the owner: %v", err)
				}
			}
			before, err := d.Get(ctx, "s")
			if err != nil || before.Owner != a {
				t.Fatalf("after the owner's writes Get = %+v, %v; want owner kept", before, err)
			}
			for _, other := range []string{OwnerHash(tokB), ""} {
				_, err := d.Put(ctx, &Session{ID: "s", Version: 10, Owner: other, Messages: []Message{vmsg("x1", 9, 10, "x")}})
				var ce *ConflictError
				if !errors.As(err, &ce) || !ce.OtherOwner || !strings.Contains(err.Error(), "another owner") {
					t.Fatalf("write with owner %q over a live session of another: %v, want a ConflictError naming the owner", other, err)
				}
			}
			after, err := d.Get(ctx, "s")
			if err != nil || after.Owner != a || after.Version != before.Version || !slices.Equal(ids(after.Messages), ids(before.Messages)) {
				t.Fatalf("a refused write changed the item: %+v, %v; want %+v", after, err, before)
			}

			// An item without owner is not claimed by a write that carries one.
			if _, err := d.Put(ctx, &Session{ID: "legacy", Version: 1}); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Put(ctx, &Session{ID: "legacy", Version: 2, Owner: a}); !errors.Is(err, ErrConflict) {
				t.Fatalf("claiming an item without owner: %v, want ErrConflict", err)
			}
			if _, err := d.Put(ctx, &Session{ID: "legacy", Version: 2}); err != nil {
				t.Fatalf("write without owner over an item without owner: %v", err)
			}
			if got, err := d.Get(ctx, "legacy"); err != nil || got.Owner != "" || got.Version != 2 {
				t.Fatalf("legacy item: %+v, %v", got, err)
			}

			clk.Advance(time.Minute)
			_, err = d.Get(ctx, "s")
			var ee *ExpiredError
			if !errors.Is(err, ErrExpired) || !errors.As(err, &ee) || ee.Owner != a {
				t.Fatalf("Get after expiry = %v, want an ExpiredError with the owner", err)
			}
			if !ExpiredOwnedBy(err, tokA) || ExpiredOwnedBy(err, tokB) || ExpiredOwnedBy(err, "") || ExpiredOwnedBy(ErrExpired, tokA) {
				t.Fatal("ExpiredOwnedBy: only the owner's token may learn of the expiry")
			}
			// Re-authentication: a new owner re-creates the expired id.
			if _, err := d.Put(ctx, &Session{ID: "s", Version: 1, Owner: OwnerHash(tokB)}); err != nil {
				t.Fatalf("re-create after expiry with another owner: %v", err)
			}
			if got, err := d.Get(ctx, "s"); err != nil || got.Owner != OwnerHash(tokB) || len(got.Messages) != 0 {
				t.Fatalf("re-created session = %+v, %v; want the new owner and no messages", got, err)
			}
		})
	}
}
