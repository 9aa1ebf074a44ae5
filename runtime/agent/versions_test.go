package agent

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/model"
	"github.com/agentops/failover-harness/runtime/store"
	"github.com/agentops/failover-harness/runtime/store/dynamotest"
)

// Every policy stamps a message with the version it was acknowledged at; a
// duplicate answers with the version the stored message carries.
func TestMessagesCarryTheirAckVersion(t *testing.T) {
	for _, p := range []Policy{OnAck, Periodic, OnMutation} {
		t.Run(string(p), func(t *testing.T) {
			clk := newClock()
			st := newMemStore(clk.Now, time.Hour)
			a := newSvc(t, "us-east-1", st, clk, p, time.Hour, nil)
			if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
				t.Fatal(err)
			}
			for i, id := range []string{"m1", "m2"} {
				r, err := a.PostMessage(ctx, "s", tok, id, "hello "+id)
				if err != nil {
					t.Fatal(err)
				}
				want := int64(i + 2)
				if r.Version != want || r.MessageVersion != want || r.Reply.Version != want || r.Reply.ID != id+":reply" {
					t.Fatalf("%s: result v%d message v%d reply %s v%d, want all v%d", id, r.Version, r.MessageVersion, r.Reply.ID, r.Reply.Version, want)
				}
			}
			if _, err := a.FlushAll(ctx); err != nil {
				t.Fatal(err)
			}
			got, _ := st.Get(ctx, "s")
			if v := msgVersions(got.Messages); !slices.Equal(v, []int64{2, 2, 3, 3}) {
				t.Fatalf("stored versions %v, want [2 2 3 3]", v)
			}
			clk.Advance(time.Second)
			d, err := a.PostMessage(ctx, "s", tok, "m1", "again")
			if err != nil || !d.Duplicate || d.MessageVersion != 2 || d.Reply.Version != 2 || d.Version != 3 {
				t.Fatalf("duplicate = %+v, %v; want message v2 in session v3", d, err)
			}
		})
	}
}

// Under the merge strategy a write whose version was taken meanwhile is
// stored at a higher one; the acknowledged messages and the returned reply
// carry the version actually written.
func TestOnAckMergeReplyCarriesWrittenVersion(t *testing.T) {
	ep := dynamotest.Endpoint(t)
	table := fmt.Sprintf("merge_%d_%d", time.Now().UnixNano(), dynTableSeq.Add(1))
	clk := newClock()
	stA := &hookStore{Store: newDynamo(t, ep, table, clk.Now, store.Merge)}
	stB := newDynamo(t, ep, table, clk.Now, store.Merge)
	a, err := New(Config{Region: "us-east-1", Store: stA, Model: model.FakeLLM{}, Policy: OnAck, MaxMessages: 4, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Region: "eu-west-1", Store: stB, Model: model.FakeLLM{}, Policy: OnAck, MaxMessages: 4, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	stA.before = func() { // B takes v2 between A's read (v1) and A's write (v2)
		if _, err := b.PostMessage(ctx, "s", tok, "b1", "from b"); err != nil {
			t.Error(err)
		}
	}
	r, err := a.PostMessage(ctx, "s", tok, "a1", "from a")
	if err != nil {
		t.Fatal(err)
	}
	got, err := stB.Get(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(msgIDs(got.Messages), []string{"b1", "b1:reply", "a1", "a1:reply"}) || !slices.Equal(msgVersions(got.Messages), []int64{2, 2, 3, 3}) {
		t.Fatalf("stored %v %v, want b1 at v2 then a1 at v3", msgIDs(got.Messages), msgVersions(got.Messages))
	}
	if r.Version != 3 || r.MessageVersion != 3 || r.Reply.Version != 3 || !r.Reply.Timestamp.Equal(got.Messages[3].Timestamp) {
		t.Fatalf("result v%d message v%d reply v%d, want all v3 as stored", r.Version, r.MessageVersion, r.Reply.Version)
	}
}

// The periodic checkpoint's conflict path merges by version: cur's messages
// keep their place and the unsaved ones follow by the version they were
// acknowledged at, whatever either region's clock says.
func TestPeriodicConflictMergesByVersion(t *testing.T) {
	clkA, clkB := newClock(), newClock()
	clkA.Advance(-time.Hour) // A's clock is an hour behind
	st := newMemStore(clkB.Now, time.Hour)
	a := newSvc(t, "us-east-1", st, clkA, Periodic, time.Hour, nil)
	b := newSvc(t, "eu-west-1", st, clkB, OnAck, 0, nil)
	if _, _, err := b.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PostMessage(ctx, "s", tok, "a1", "from a"); err != nil { // in memory at v2
		t.Fatal(err)
	}
	if _, err := b.PostMessage(ctx, "s", tok, "b1", "from b"); err != nil { // stored at v2
		t.Fatal(err)
	}
	if _, err := b.PostMessage(ctx, "s", tok, "b2", "from b"); err != nil { // stored at v3
		t.Fatal(err)
	}
	if _, err := a.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Get(ctx, "s")
	if want := []string{"b1", "b1:reply", "a1", "a1:reply", "b2", "b2:reply"}; !slices.Equal(msgIDs(got.Messages), want) || got.Version != 4 {
		t.Fatalf("stored v%d %v, want v4 %v (by version, not by A's older clock)", got.Version, msgIDs(got.Messages), want)
	}
	if v := msgVersions(got.Messages); !slices.IsSorted(v) {
		t.Fatalf("versions %v not in order", v)
	}
}

// A last-write-wins write that removes another region's messages is kept in
// the overwrite reports by id, with both regions named.
func TestOverwriteReportsNameTheMessages(t *testing.T) {
	ep := dynamotest.Endpoint(t)
	table := fmt.Sprintf("lww_%d_%d", time.Now().UnixNano(), dynTableSeq.Add(1))
	clk := newClock()
	a := newSvc(t, "us-east-1", newDynamo(t, ep, table, clk.Now, store.LastWriteWins), clk, Periodic, time.Hour, nil)
	b := newSvc(t, "eu-west-1", newDynamo(t, ep, table, clk.Now, store.LastWriteWins), clk, Periodic, time.Hour, nil)
	if _, _, err := a.CreateSession(ctx, "u", "s", tok); err != nil {
		t.Fatal(err)
	}
	// Both regions hold v1 and ack a message each at v2 (a partition).
	if _, err := a.PostMessage(ctx, "s", tok, "a1", "from a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PostMessage(ctx, "s", tok, "b1", "from b"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(a.Overwrites()) != 0 {
		t.Fatalf("a reported %+v", a.Overwrites())
	}
	ow := b.Overwrites()
	if len(ow) != 1 || ow[0].SessionID != "s" || !slices.Equal(ow[0].MessageIDs, []string{"a1", "a1:reply"}) ||
		ow[0].PreviousRegion != "us-east-1" || ow[0].Region != "eu-west-1" || !ow[0].At.Equal(clk.Now()) {
		t.Fatalf("overwrites = %+v, want a1 and its reply overwritten by eu-west-1 after us-east-1", ow)
	}
}

func TestOverwriteReportsBounded(t *testing.T) {
	clk := newClock()
	a := newSvc(t, "us-east-1", newMemStore(clk.Now, time.Hour), clk, OnAck, 0, nil)
	for i := range MaxOverwriteReports + 5 {
		a.reportOverwrite(fmt.Sprint("s", i), store.PutResult{Overwritten: []string{"m"}, PreviousRegion: "eu-west-1"})
	}
	a.reportOverwrite("quiet", store.PutResult{}) // nothing removed: not a report
	ow := a.Overwrites()
	if len(ow) != MaxOverwriteReports || ow[0].SessionID != "s5" || ow[len(ow)-1].SessionID != fmt.Sprint("s", MaxOverwriteReports+4) {
		t.Fatalf("kept %d reports %s..%s, want the last %d", len(ow), ow[0].SessionID, ow[len(ow)-1].SessionID, MaxOverwriteReports)
	}
	ow[0].MessageIDs[0] = "mutated"
	if a.Overwrites()[0].MessageIDs[0] != "m" {
		t.Fatal("Overwrites returned shared slices")
	}
}
