package plan

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/explore"
	"github.com/agentops/failover-harness/harness/provider/local"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/reports"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
)

// plantBug turns on, in every region, the planted bug no plan row catches:
// while one of its peers is down and its own store is slow, a region
// acknowledges a message before writing it
// (failpoints.ack_before_write_while_peer_down), to hide the slowness. A
// session that stays put until the write lands sees nothing wrong; one
// that moves to another region meanwhile (a failback), or a crash, breaks
// what was acknowledged. Slow is above 60 % of the store timeout (the
// health timeout): row 4 slows a store by a quarter of it.
func plantBug(s *topology.Spec) {
	slow := s.RegionHealthTimeout * 6 / 10
	s.RegionDrift = func(_ string, c *rtconfig.Config) {
		c.Failpoints.AckBeforeWriteWhilePeerDown = true
		c.Failpoints.SlowStore = slow
		c.Failpoints.WriteDelay = time.Second
	}
}

// bugChecks are the safety checks that see the planted bug.
var bugChecks = []string{"no-acked-message-lost", "linearizable", "rpo"}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newExplorer(t *testing.T, seed int64) *Explorer {
	t.Helper()
	t.Setenv(local.EnvBinDir, binDir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := t.TempDir()
	s, err := engine.NewSuite(ctx, engine.SuiteOptions{Seed: seed, Provider: "local", Out: out, Progress: logWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &Explorer{Suite: s, Out: out, Log: logWriter{t}}
}

// TestExploreFindsThePlantedBug: chaos explore finds the planted bug,
// shrinks its schedule, and the shrunk schedule fails again on replay, and
// passes against the runtime without the bug. $CHAOS_EXPLORE_SEED
// explores from another seed than 1.
func TestExploreFindsThePlantedBug(t *testing.T) {
	if testing.Short() || os.Getenv("CHAOS_PLANTED") == "" {
		t.Skip("minutes of randomized schedules whose outcome depends on timing: set CHAOS_PLANTED=1")
	}
	seed := int64(1)
	if v := os.Getenv("CHAOS_EXPLORE_SEED"); v != "" {
		n, err := engine.ParseSeed(v)
		if err != nil {
			t.Fatal(err)
		}
		seed = n
	}
	x := newExplorer(t, seed)
	plantBug(&x.Suite.Base)
	ctx := context.Background()
	// The catalog an SRE would aim at "a slow store during a failover":
	// chaos explore --faults slow-store,pause,kill,isolate --max-faults 3.
	draw := explore.Options{Duration: 6 * time.Second, Kinds: []string{explore.KindSlowStore, explore.KindPause, explore.KindKill, explore.KindIsolate}, MaxFaults: 3}
	rep := x.Explore(ctx, ExploreOptions{Seed: seed, Draw: draw, Runs: 40, Shrink: true, ShrinkRuns: 10})
	if len(rep.Found) == 0 {
		t.Fatalf("explore ran %d schedules (%d inconclusive) in %s and did not find the planted bug", rep.Ran, rep.Inconclusive, rep.Elapsed)
	}
	f := rep.Found[0]
	if !slices.ContainsFunc(f.Checks, func(c string) bool { return slices.Contains(bugChecks, c) }) {
		t.Fatalf("the failure is not the planted bug's: failed %v", f.Checks)
	}
	t.Logf("found after %d schedules in %s: %s (failed %v)", f.After, f.Elapsed.Round(time.Second), f.Schedule.Title(), f.Checks)
	t.Logf("shrunk %d -> %d faults in %d runs (%s): %s", f.Shrunk.Before, f.Shrunk.After, f.Shrunk.Runs, f.ShrinkTime.Round(time.Second), f.Shrunk.Schedule.Title())
	if f.Shrunk.After > f.Shrunk.Before || f.ShrunkPath == "" {
		t.Fatalf("shrinking grew the schedule or wrote nothing: %+v", f.Shrunk)
	}
	// The shrunk schedule, read back from its file as chaos replay reads it.
	file, err := os.Open(f.ShrunkPath)
	if err != nil {
		t.Fatal(err)
	}
	small, err := explore.Read(file)
	file.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A replay reruns the schedule, not the machine's timing: the bug shows
	// when a session moves while a write is pending, so up to three runs.
	var failed []string
	replayed := false
	for i := 1; i <= 3 && !replayed; i++ {
		v, got := x.Run(ctx, fmt.Sprintf("replay %d", i), small)
		replayed = v == reports.Failed && slices.ContainsFunc(got, func(c string) bool { return slices.Contains(f.Checks, c) })
		failed = got
		t.Logf("replay %d of the shrunk schedule: %s %v", i, v, got)
	}
	if !replayed {
		t.Fatalf("three replays of the shrunk schedule did not fail with one of %v", f.Checks)
	}
	t.Logf("replay failed again: %v", failed)
	// Without the bug the same schedule passes: the failure was the bug's.
	x.Suite.Base.RegionDrift = nil
	if v, failed := x.Run(ctx, "replay without the bug", small); v == reports.Failed {
		t.Fatalf("the shrunk schedule fails the correct runtime too: %v", failed)
	}
}

// TestPlantedBugEscapesThePlan runs every row of the plan against the
// runtime with the planted bug: none fails, which is why explore exists.
// Minutes long: run with CHAOS_PLANTED=1.
func TestPlantedBugEscapesThePlan(t *testing.T) {
	if testing.Short() || os.Getenv("CHAOS_PLANTED") == "" {
		t.Skip("runs the whole plan; set CHAOS_PLANTED=1")
	}
	for i, row := range Rows() {
		// A subtest per row: its topology is torn down before the next starts.
		t.Run(fmt.Sprintf("%02d-%s", i+1, row.Label), func(t *testing.T) {
			out := runJudged(t, row, func(seed int64) topology.Spec {
				spec := engine.SuiteDefaults()
				spec.Seed = seed
				plantBug(&spec)
				return spec
			})
			t.Logf("%s with the planted bug: %s %s", row.Label, out.Verdict, out.Why)
			if out.Verdict == check.Failed {
				t.Errorf("%s caught the planted bug: %v", row.Label, out.Failures())
			}
		})
	}
}

// TestScheduleRowJudges: a schedule run as a row passes against the
// correct runtime and fails, naming the loss, against one whose periodic
// checkpoint loses what a crash interrupts.
func TestScheduleRowJudges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a topology per case")
	}
	sched := explore.Schedule{Version: 1, Seed: 3, Duration: explore.Duration(2 * time.Second), Steps: []explore.Step{
		{Kind: explore.KindKill, Region: "us-east-1", At: explore.Duration(300 * time.Millisecond), For: explore.Duration(time.Second)},
	}}
	row := ScheduleRow("test", sched)
	t.Run("correct runtime", func(t *testing.T) {
		good := runJudged(t, row, func(seed int64) topology.Spec {
			spec := engine.SuiteDefaults()
			spec.Seed = seed
			return spec
		})
		if good.Verdict == check.Failed {
			t.Fatalf("kill and restart failed the correct runtime: %v", good.Failures())
		}
		for _, name := range []string{"linearizable", "no-acked-message-lost", "each-incident-paged-once(NoHealthyRegion)", "every-user-served-after-failback"} {
			if _, ok := good.Check(name); !ok {
				t.Errorf("schedule row did not run %s", name)
			}
		}
	})
	t.Run("periodic checkpoint", func(t *testing.T) {
		bad := runJudged(t, row, func(seed int64) topology.Spec {
			spec := engine.SuiteDefaults()
			spec.Seed = seed
			spec.CheckpointPolicy, spec.CheckpointInterval = "periodic", 5*time.Second
			return spec
		})
		assertFails(t, bad, "no-acked-message-lost", "a periodic 5 s checkpoint loses what the killed region acknowledged")
	})
}
