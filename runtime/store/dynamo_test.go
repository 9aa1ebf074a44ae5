package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agentops/failover-harness/runtime/store/dynamotest"
)

// clock is a settable time source shared with the store under test.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var tableSeq atomic.Int64

// newStore returns a store on a fresh table of a real TCP endpoint (embedded unless
// $DYNAMODB_ENDPOINT points at e.g. DynamoDB Local).
func newStore(t testing.TB, mod func(*DynamoConfig)) *Dynamo {
	t.Helper()
	cfg := DynamoConfig{
		Endpoint: dynamotest.Endpoint(t),
		Table:    fmt.Sprintf("sessions_%d_%d", time.Now().UnixNano(), tableSeq.Add(1)),
		TTL:      time.Hour,
		Strategy: VersionWins,
	}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := NewDynamo(ctx, cfg)
	if err != nil {
		t.Fatalf("NewDynamo: %v", err)
	}
	if err := d.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return d
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var t0 = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

func msg(id string, sec int, region string) Message {
	return Message{ID: id, Role: "user", Content: "text " + id, Region: region, Timestamp: t0.Add(time.Duration(sec) * time.Second)}
}

// vmsg is msg acknowledged at session version v.
func vmsg(id string, sec int, v int64, region string) Message {
	m := msg(id, sec, region)
	m.Version = v
	return m
}

func versions(ms []Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Version
	}
	return out
}

func ids(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestParseStrategy(t *testing.T) {
	for _, s := range []string{"version-wins", "last-write-wins", "merge"} {
		if got, err := ParseStrategy(s); err != nil || string(got) != s {
			t.Errorf("ParseStrategy(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseStrategy("newest"); err == nil || !strings.Contains(err.Error(), "conflict_strategy") {
		t.Errorf("ParseStrategy(newest) err = %v, want one naming conflict_strategy", err)
	}
}

func TestNewDynamoValidation(t *testing.T) {
	ctx := ctxT(t)
	cases := map[string]DynamoConfig{
		"dynamodb.table":       {Endpoint: "http://127.0.0.1:1"},
		"session.ttl":          {Endpoint: "http://127.0.0.1:1", Table: "t", TTL: -time.Second},
		"session.max_messages": {Endpoint: "http://127.0.0.1:1", Table: "t", MaxMessages: -1},
		"conflict_strategy":    {Endpoint: "http://127.0.0.1:1", Table: "t", Strategy: "x"},
	}
	for field, cfg := range cases {
		if _, err := NewDynamo(ctx, cfg); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v, want one naming the field", field, err)
		}
	}
}

func TestPutValidation(t *testing.T) {
	d := newStore(t, nil)
	if _, err := d.Put(ctxT(t), &Session{ID: "s"}); err == nil || !strings.Contains(err.Error(), "session.version") {
		t.Errorf("version 0: err = %v, want one naming session.version", err)
	}
	if _, err := d.Put(ctxT(t), &Session{Version: 1}); err == nil || !strings.Contains(err.Error(), "session.id") {
		t.Errorf("no id: err = %v, want one naming session.id", err)
	}
}

func TestCreateTableIsIdempotentAndEnablesTTL(t *testing.T) {
	d := newStore(t, nil)
	ctx := ctxT(t)
	if err := d.CreateTable(ctx); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
	out, err := d.db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(d.cfg.Table)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.TimeToLiveDescription.AttributeName); got != "ttl" || out.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Fatalf("TTL = %q %s, want ttl ENABLED", got, out.TimeToLiveDescription.TimeToLiveStatus)
	}
	if err := d.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestGetMissingIsNotFound(t *testing.T) {
	d := newStore(t, nil)
	if _, err := d.Get(ctxT(t), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
}

func TestRoundTripAndItemLayout(t *testing.T) {
	clk := newClock()
	d := newStore(t, func(c *DynamoConfig) { c.Now = clk.Now; c.TTL = 90 * time.Minute })
	ctx := ctxT(t)
	in := &Session{
		ID: "s1", UserID: "u1", Version: 1, LastActiveRegion: "us-east-1", LastActiveAt: clk.Now(),
		State:    map[string]string{"issue": "42"},
		Messages: []Message{{ID: "m1", Role: "assistant", Content: "done", Region: "us-east-1", Timestamp: t0, ToolCalls: []ToolCall{{Name: "create_issue", Args: map[string]string{"title": "x"}}}}},
	}
	res, err := d.Put(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	wantExp := clk.Now().Add(90 * time.Minute)
	if res.Version != 1 || !res.ExpiresAt.Equal(wantExp) || !in.ExpiresAt.Equal(wantExp) {
		t.Fatalf("PutResult = %+v, s.ExpiresAt = %v; want version 1, expiry %v", res, in.ExpiresAt, wantExp)
	}
	got, err := d.Get(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "u1" || got.Version != 1 || got.LastActiveRegion != "us-east-1" || got.State["issue"] != "42" ||
		!got.LastActiveAt.Equal(clk.Now()) || !got.ExpiresAt.Equal(wantExp) || len(got.Messages) != 1 ||
		got.Messages[0].ToolCalls[0].Args["title"] != "x" || !got.Messages[0].Timestamp.Equal(t0) {
		t.Fatalf("Get = %+v", got)
	}
	raw, err := d.getItem(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if pk := raw["pk"].(*types.AttributeValueMemberS).Value; pk != "session#s1" {
		t.Errorf("pk = %q, want session#s1", pk)
	}
	if ttl := raw["ttl"].(*types.AttributeValueMemberN).Value; ttl != strconv.FormatInt(wantExp.Unix(), 10) {
		t.Errorf("ttl = %s, want epoch seconds %d", ttl, wantExp.Unix())
	}
}

func TestVersionWinsRejectsStaleWriter(t *testing.T) {
	d := newStore(t, nil)
	ctx := ctxT(t)
	for v := int64(1); v <= 2; v++ {
		if _, err := d.Put(ctx, &Session{ID: "s", Version: v, Messages: []Message{msg("m1", 1, "a")}}); err != nil {
			t.Fatalf("put v%d: %v", v, err)
		}
	}
	// A region that missed v2 (or a periodic checkpoint resending v2) must see a conflict.
	_, err := d.Put(ctx, &Session{ID: "s", Version: 2, Messages: []Message{msg("x", 2, "b")}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("stale put = %v, want ErrConflict", err)
	}
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Current != 2 || ce.Attempted != 2 || !strings.Contains(err.Error(), "current version 2, attempted 2") {
		t.Fatalf("conflict error = %v (%+v), want current 2 attempted 2", err, ce)
	}
	got, err := d.Get(ctx, "s")
	if err != nil || got.Version != 2 || !slices.Equal(ids(got.Messages), []string{"m1"}) {
		t.Fatalf("after conflict Get = %+v, %v; want v2 [m1] untouched", got, err)
	}
	if st := d.Stats(); st.Conflicts != 1 || st.Puts != 2 {
		t.Fatalf("stats = %+v, want 1 conflict 2 puts", st)
	}
}

// SPEC §5 defect 1: the previous region must be read from the item before the write.
func TestPutReportsPreviousRegion(t *testing.T) {
	for _, st := range []Strategy{VersionWins, LastWriteWins, Merge} {
		t.Run(string(st), func(t *testing.T) {
			d := newStore(t, func(c *DynamoConfig) { c.Strategy = st })
			ctx := ctxT(t)
			res, err := d.Put(ctx, &Session{ID: "s", Version: 1, LastActiveRegion: "us-east-1"})
			if err != nil || res.PreviousRegion != "" {
				t.Fatalf("first put = %+v, %v; want no previous region", res, err)
			}
			res, err = d.Put(ctx, &Session{ID: "s", Version: 2, LastActiveRegion: "eu-west-1"})
			if err != nil || res.PreviousRegion != "us-east-1" {
				t.Fatalf("second put = %+v, %v; want PreviousRegion us-east-1", res, err)
			}
			if got, _ := d.Get(ctx, "s"); got == nil || got.LastActiveRegion != "eu-west-1" {
				t.Fatalf("Get = %+v, want lastActiveRegion eu-west-1", got)
			}
		})
	}
}

func TestLastWriteWinsCountsOverwrites(t *testing.T) {
	d := newStore(t, func(c *DynamoConfig) { c.Strategy = LastWriteWins })
	ctx := ctxT(t)
	a := &Session{ID: "s", Version: 3, LastActiveRegion: "us-east-1", Messages: []Message{msg("m1", 1, "a"), msg("a2", 2, "a"), msg("a3", 3, "a")}}
	if _, err := d.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	// The partitioned region only knew m1 and writes a LOWER version: LWW still applies it.
	b := &Session{ID: "s", Version: 2, LastActiveRegion: "eu-west-1", Messages: []Message{msg("m1", 1, "a"), msg("b2", 4, "b")}}
	res, err := d.Put(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Overwritten, []string{"a2", "a3"}) || res.PreviousRegion != "us-east-1" {
		t.Fatalf("PutResult = %+v, want Overwritten [a2 a3] from us-east-1", res)
	}
	if st := d.Stats(); st.OverwrittenMessages != 2 {
		t.Fatalf("stats = %+v, want 2 overwritten", st)
	}
	got, _ := d.Get(ctx, "s")
	if got == nil || got.Version != 2 || !slices.Equal(ids(got.Messages), []string{"m1", "b2"}) {
		t.Fatalf("Get = %+v, want b's write", got)
	}
}

// SPEC §5 defect 8: the conversation is bounded on every write, and trimming is not an overwrite.
func TestConversationBoundedTo50(t *testing.T) {
	for _, st := range []Strategy{VersionWins, LastWriteWins, Merge} {
		t.Run(string(st), func(t *testing.T) {
			d := newStore(t, func(c *DynamoConfig) { c.Strategy = st })
			ctx := ctxT(t)
			var msgs []Message
			for i := range 60 {
				msgs = append(msgs, vmsg(fmt.Sprintf("m%02d", i), i, int64(i+1), "a")) // one message per version
			}
			if _, err := d.Put(ctx, &Session{ID: "s", Version: 1, Messages: msgs[:55]}); err != nil {
				t.Fatal(err)
			}
			res, err := d.Put(ctx, &Session{ID: "s", Version: 2, Messages: msgs})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Overwritten) != 0 {
				t.Fatalf("Overwritten = %v, want none (only bound trimming)", res.Overwritten)
			}
			got, err := d.Get(ctx, "s")
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Messages) != 50 || got.Messages[0].ID != "m10" || got.Messages[49].ID != "m59" {
				t.Fatalf("kept %d messages %s..%s, want 50 m10..m59", len(got.Messages), got.Messages[0].ID, got.Messages[len(got.Messages)-1].ID)
			}
		})
	}
}

func TestMergeUnionsBothSides(t *testing.T) {
	d := newStore(t, func(c *DynamoConfig) { c.Strategy = Merge })
	ctx := ctxT(t)
	if _, err := d.Put(ctx, &Session{ID: "s", Version: 2, LastActiveRegion: "us-east-1", State: map[string]string{"a": "1"},
		Messages: []Message{vmsg("m1", 1, 1, "a"), vmsg("a2", 3, 2, "a")}}); err != nil {
		t.Fatal(err)
	}
	// The other side of a partition wrote from the same base with the same version; its
	// clock is behind, so b2's timestamp is earlier than a2's.
	res, err := d.Put(ctx, &Session{ID: "s", Version: 2, LastActiveRegion: "eu-west-1", State: map[string]string{"b": "2"},
		Messages: []Message{vmsg("m1", 1, 1, "a"), vmsg("b2", 2, 2, "b")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 3 || len(res.Overwritten) != 0 || res.PreviousRegion != "us-east-1" {
		t.Fatalf("PutResult = %+v, want version 3, nothing overwritten", res)
	}
	got, _ := d.Get(ctx, "s")
	if got == nil || !slices.Equal(ids(got.Messages), []string{"m1", "a2", "b2"}) || got.State["a"] != "1" || got.State["b"] != "2" {
		t.Fatalf("Get = %+v, want union ordered by version and both state keys", got)
	}
	// b2 was first stored by the v3 write, so it carries 3, not the requested 2.
	if !slices.Equal(versions(got.Messages), []int64{1, 2, 3}) {
		t.Fatalf("versions = %v, want [1 2 3]", versions(got.Messages))
	}
}

func TestMergeConcurrentWritersLoseNothing(t *testing.T) {
	d := newStore(t, func(c *DynamoConfig) { c.Strategy = Merge; c.MergeAttempts = 50 })
	ctx := ctxT(t)
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			_, err := d.Put(ctx, &Session{ID: "s", Version: 1, Messages: []Message{vmsg(fmt.Sprintf("w%d", i), i, 1, "r")}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Get(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	// Write order decides the order: each message carries the version that stored it.
	if !slices.Equal(slices.Sorted(slices.Values(ids(got.Messages))), []string{"w0", "w1", "w2", "w3"}) || got.Version != writers ||
		!slices.Equal(versions(got.Messages), []int64{1, 2, 3, 4}) {
		t.Fatalf("Get = %v %v v%d, want all 4 writers' messages at versions 1..4", ids(got.Messages), versions(got.Messages), got.Version)
	}
}

// SPEC §5 defect 7: TTL is enforced on read, without waiting for DynamoDB to delete the item.
func TestTTLEnforcedOnRead(t *testing.T) {
	clk := newClock()
	d := newStore(t, func(c *DynamoConfig) { c.Now = clk.Now; c.TTL = time.Minute })
	ctx := ctxT(t)
	if _, err := d.Put(ctx, &Session{ID: "s", Version: 1}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Second)
	if _, err := d.Get(ctx, "s"); err != nil {
		t.Fatalf("Get before expiry: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := d.Get(ctx, "s"); !errors.Is(err, ErrExpired) {
		t.Fatalf("Get at expiry = %v, want ErrExpired", err)
	}
	// An expired id can be started afresh under version-wins; its old messages are not "overwritten".
	res, err := d.Put(ctx, &Session{ID: "s", Version: 1})
	if err != nil || len(res.Overwritten) != 0 {
		t.Fatalf("re-create after expiry = %+v, %v", res, err)
	}
	if _, err := d.Get(ctx, "s"); err != nil {
		t.Fatalf("Get after re-create: %v", err)
	}
}

func TestUnavailableWhenEndpointDown(t *testing.T) {
	srv, err := dynamotest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := newStore(t, func(c *DynamoConfig) { c.Endpoint = srv.URL })
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	start := time.Now()
	if _, err := d.Get(ctx, "s"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get = %v, want ErrUnavailable", err)
	}
	if _, err := d.Put(ctx, &Session{ID: "s", Version: 1}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Put = %v, want ErrUnavailable", err)
	}
	if err := d.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping = %v, want ErrUnavailable", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("failing took %v; the small retryer should fail fast", el)
	}
	if d.Stats().Errors < 3 {
		t.Fatalf("stats = %+v, want errors counted", d.Stats())
	}
}

func TestUnavailableOn5xxButNotOn4xx(t *testing.T) {
	var status atomic.Int32
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(int(status.Load()))
		if status.Load() == 500 {
			fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}`)
		} else {
			fmt.Fprint(w, `{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}`)
		}
	}))
	defer ts.Close()
	d, err := NewDynamo(ctxT(t), DynamoConfig{Endpoint: ts.URL, Table: "t"})
	if err != nil {
		t.Fatal(err)
	}
	status.Store(500)
	if _, err := d.Get(ctxT(t), "s"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("500: err = %v, want ErrUnavailable", err)
	}
	if h := hits.Load(); h != 2 {
		t.Fatalf("500 answered %d times, want 2 attempts (MaxAttempts default)", h)
	}
	status.Store(400)
	if _, err := d.Get(ctxT(t), "s"); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("400: err = %v, want a non-unavailable error", err)
	}
}

func TestOpTimeoutBoundsAHangingEndpoint(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hang like a partition with a timeout toxic
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer ts.Close()
	defer close(release)
	d, err := NewDynamo(ctxT(t), DynamoConfig{Endpoint: ts.URL, Table: "t", OpTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = d.Get(ctxT(t), "s")
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("took %v, want about OpTimeout", el)
	}
}

func BenchmarkPutGet(b *testing.B) {
	d := newStore(b, nil)
	ctx := context.Background()
	s := &Session{ID: "bench", UserID: "u", LastActiveRegion: "us-east-1"}
	for i := range 20 {
		s.Messages = append(s.Messages, msg(fmt.Sprintf("m%d", i), i, "a"))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.Version = int64(i + 1)
		if _, err := d.Put(ctx, s); err != nil {
			b.Fatal(err)
		}
		if _, err := d.Get(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
