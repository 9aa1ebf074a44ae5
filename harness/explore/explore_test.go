package explore

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

func spec() topology.Spec { return topology.DefaultSpec() }

func TestGenerateSameSeedSameSchedule(t *testing.T) {
	o := Options{Duration: 8 * time.Second}
	seen := map[string]bool{}
	for seed := int64(1); seed <= 200; seed++ {
		a, b := Generate(seed, spec(), o), Generate(seed, spec(), o)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: two draws differ:\n%v\n%v", seed, a.Title(), b.Title())
		}
		if err := a.Validate(spec()); err != nil {
			t.Fatalf("seed %d drew an invalid schedule: %v\n%s", seed, err, a.Title())
		}
		for _, st := range a.Steps {
			seen[st.Kind] = true
		}
	}
	for _, k := range Kinds() {
		if !seen[k] {
			t.Errorf("200 seeds never drew %s", k)
		}
	}
	if Generate(1, spec(), o).Title() == Generate(2, spec(), o).Title() {
		t.Error("seeds 1 and 2 drew the same schedule")
	}
	only := Generate(5, spec(), Options{Kinds: []string{KindPause}})
	for _, st := range only.Steps {
		if st.Kind != KindPause {
			t.Fatalf("--faults pause drew %s", st.Kind)
		}
	}
}

func TestScheduleJSONRoundTripAndErrors(t *testing.T) {
	s := Generate(42, spec(), Options{})
	var b bytes.Buffer
	if err := s.Write(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&b)
	if err != nil || !reflect.DeepEqual(s, back) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, s, back)
	}
	if _, err := Read(strings.NewReader(`{"version":1,"faultz":[]}`)); err == nil || !strings.Contains(err.Error(), "faultz") {
		t.Errorf("unknown field not named: %v", err)
	}
	a := "us-east-1"
	bad := []struct {
		s    Schedule
		want string
	}{
		{Schedule{Version: 2, Duration: Duration(time.Second), Steps: []Step{{Kind: KindPause, Region: a, For: Duration(time.Second)}}}, "version"},
		{Schedule{Version: 1, Duration: Duration(time.Second), Steps: []Step{{Kind: "meteor", Region: a, For: Duration(time.Second)}}}, "faults[0].kind"},
		{Schedule{Version: 1, Duration: Duration(time.Second), Steps: []Step{{Kind: KindPause, Region: "mars-1", For: Duration(time.Second)}}}, "faults[0].region"},
		{Schedule{Version: 1, Duration: Duration(time.Second), Steps: []Step{{Kind: KindPartition, Link: "a->b", For: Duration(time.Second)}}}, "faults[0].link"},
		{Schedule{Version: 1, Duration: Duration(time.Second), Steps: []Step{{Kind: KindPause, Region: a, At: Duration(time.Second), For: Duration(time.Second)}}}, "after the schedule's duration"},
		{Schedule{Version: 1, Duration: Duration(3 * time.Second), Steps: []Step{
			{Kind: KindPause, Region: a, For: Duration(2 * time.Second)},
			{Kind: KindKill, Region: a, At: Duration(time.Second), For: Duration(time.Second)}}}, "overlaps faults[0]"},
	}
	for _, tc := range bad {
		if err := tc.s.Validate(spec()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.s.Title(), err, tc.want)
		}
	}
}

// The shrinker finds the smallest schedule of a planted failure: it fails
// when us-east-1 is isolated from its store while eu-west-1 is killed.
func TestShrinkFindsTheMinimalSchedule(t *testing.T) {
	sp := spec()
	a, b := "us-east-1", "eu-west-1"
	s := Schedule{Version: 1, Seed: 9, Duration: Duration(8 * time.Second), Steps: []Step{
		{Kind: KindHTTP503, Region: "ap-southeast-1", At: 0, For: Duration(2 * time.Second)},
		{Kind: KindIsolate, Region: a, At: Duration(time.Second), For: Duration(4 * time.Second)},
		{Kind: KindLatency, Link: topology.RedisLink(b), Delay: Duration(100 * time.Millisecond), At: Duration(time.Second), For: Duration(3 * time.Second)},
		{Kind: KindKill, Region: b, At: Duration(2 * time.Second), For: Duration(2 * time.Second)},
		{Kind: KindPause, Region: "ap-southeast-1", At: Duration(5 * time.Second), For: Duration(2 * time.Second)},
	}}
	if err := s.Validate(sp); err != nil {
		t.Fatal(err)
	}
	cut := func(st Step) bool {
		return (st.Kind == KindIsolate && st.Region == a) || (st.Kind == KindPartition && st.Link == topology.DynamoLink(a))
	}
	fails := func(_ context.Context, c Schedule) (bool, error) {
		for _, x := range c.Steps {
			for _, y := range c.Steps {
				if cut(x) && y.Kind == KindKill && y.Region == b && x.At.D() < y.End() && y.At.D() < x.End() {
					return true, nil
				}
			}
		}
		return false, nil
	}
	var logged []string
	got, err := Shrink(context.Background(), s, sp, 300*time.Millisecond, 100, fails, func(l string) { logged = append(logged, l) })
	if err != nil {
		t.Fatal(err)
	}
	if got.Before != 5 || got.After != 2 || len(got.Schedule.Steps) != 2 {
		t.Fatalf("shrunk %d -> %d faults: %s", got.Before, got.After, got.Schedule.Title())
	}
	if st := got.Schedule.Steps[0]; st.Kind != KindPartition || st.Link != topology.DynamoLink(a) {
		t.Errorf("isolate not narrowed to the store link: %s", got.Schedule.Title())
	}
	if ok, _ := fails(context.Background(), got.Schedule); !ok {
		t.Fatal("the shrunk schedule does not fail")
	}
	for _, c := range Candidates(got.Schedule, sp, 300*time.Millisecond) {
		if ok, _ := fails(context.Background(), c.Schedule); ok {
			t.Fatalf("not minimal: %s still fails", c.What)
		}
	}
	if got.Schedule.Duration.D() >= s.Duration.D() || got.Runs != len(logged) {
		t.Errorf("duration %v, runs %d, log %d lines", got.Schedule.Duration, got.Runs, len(logged))
	}
	t.Logf("%d -> %d faults in %d runs: %s", got.Before, got.After, got.Runs, got.Schedule.Title())

	limited, err := Shrink(context.Background(), s, sp, 300*time.Millisecond, 3, fails, nil)
	if err != nil || limited.Runs != 3 {
		t.Fatalf("run limit not honoured: %d runs, %v", limited.Runs, err)
	}
}
