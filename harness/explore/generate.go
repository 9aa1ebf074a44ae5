package explore

import (
	"fmt"
	"math/rand"
	"slices"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// Options shape the schedules Generate draws.
type Options struct {
	Duration time.Duration // the fault phase; default 8 s
	Kinds    []string      // the catalog to draw from; default Kinds()
	// MaxFaults is the most faults in one schedule (at least 1); default 4.
	MaxFaults int
	// MinFor is the shortest fault; default 300 ms (long enough for a
	// health check to notice at the test defaults).
	MinFor time.Duration
}

func (o Options) withDefaults() Options {
	if o.Duration <= 0 {
		o.Duration = 8 * time.Second
	}
	if len(o.Kinds) == 0 {
		o.Kinds = Kinds()
	}
	if o.MaxFaults <= 0 {
		o.MaxFaults = 4
	}
	if o.MinFor <= 0 {
		o.MinFor = 300 * time.Millisecond
	}
	return o
}

// CheckKinds names the first kind the catalog does not have.
func CheckKinds(kinds []string) error {
	for _, k := range kinds {
		if !slices.Contains(Kinds(), k) {
			return fmt.Errorf("fault kind %q is not one of %v", k, Kinds())
		}
	}
	return nil
}

// Generate draws a schedule from seed: 1..MaxFaults faults of any kind on
// any region or link, anywhere in the first 70 % of the duration, each
// lasting MinFor..half the duration, overlapping freely except that two
// faults that stop one region's process never overlap. Same seed and
// options, same schedule.
func Generate(seed int64, spec topology.Spec, o Options) Schedule {
	o = o.withDefaults()
	rng := rand.New(rand.NewSource(seed))
	d := o.Duration
	regions := spec.RegionNames()
	s := Schedule{Version: 1, Seed: seed, Duration: Duration(d), Note: "drawn by chaos explore"}
	n := 1 + rng.Intn(o.MaxFaults)
	ms := func(lo, hi time.Duration) time.Duration { // a whole number of ms in [lo, hi]
		if hi <= lo {
			return lo.Round(time.Millisecond)
		}
		return (lo + time.Duration(rng.Int63n(int64(hi-lo)))).Round(time.Millisecond)
	}
	for tries := 0; len(s.Steps) < n && tries < 20*n; tries++ {
		st := Step{Kind: o.Kinds[rng.Intn(len(o.Kinds))], Region: regions[rng.Intn(len(regions))]}
		st.At = Duration(ms(0, d*7/10))
		st.For = Duration(ms(o.MinFor, d/2))
		if st.End() > d {
			st.For = Duration(d - st.At.D())
		}
		if st.For.D() < o.MinFor {
			continue
		}
		switch st.Kind {
		case KindKill:
			st.Cold = rng.Intn(2) == 0
		case KindSlowStore:
			// Slow but answering: 65-95 % of the timeout the region holds
			// its store calls to (region_health.timeout).
			to := spec.RegionHealthTimeout
			st.Delay = Duration(ms(to*65/100, to*95/100))
		case KindPartition, KindLatency:
			links := topology.RegionLinks(spec, st.Region)
			st.Link = links[rng.Intn(len(links))]
			st.Region = ""
			if st.Kind == KindLatency {
				st.Delay = Duration(ms(50*time.Millisecond, 400*time.Millisecond))
			}
		}
		if clashes(s.Steps, st) {
			continue
		}
		s.Steps = append(s.Steps, st)
	}
	slices.SortStableFunc(s.Steps, func(a, b Step) int { return int(a.At - b.At) })
	return s
}

// clashes reports whether st would stop a region another step stops at
// the same time.
func clashes(steps []Step, st Step) bool {
	if !stops(st.Kind) {
		return false
	}
	for _, o := range steps {
		if stops(o.Kind) && o.Region == st.Region && st.At.D() < o.End() && o.At.D() < st.End() {
			return true
		}
	}
	return false
}
