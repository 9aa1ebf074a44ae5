// Package explore draws randomized fault schedules from the fault catalog
// (any region, overlapping faults, partial heals, restarts), and shrinks a
// failing one to the smallest schedule that still fails. A schedule is
// data: JSON a user can keep, replay (`chaos replay`) and paste as a
// regression row. Running one is scenarios/plan's ScheduleRow.
package explore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/topology"
)

// Fault kinds of the catalog.
const (
	KindPause       = "pause"        // freeze the region's process
	KindKill        = "kill"         // crash it; restarted (warm or cold cache) at the end
	KindIsolate     = "isolate"      // cut every link of the region
	KindPartition   = "partition"    // cut one link (Link), timing out
	KindHTTP503     = "http-503"     // the region answers 503
	KindFailureRate = "failure-rate" // the region fails half its requests
	KindLatency     = "latency"      // delay one link (Link) by Delay
	KindSlowStore   = "slow-store"   // delay the region's answers from the global store by Delay (slow, not timing out)
)

// Kinds lists the catalog in a stable order.
func Kinds() []string {
	return []string{KindPause, KindKill, KindIsolate, KindPartition, KindHTTP503, KindFailureRate, KindLatency, KindSlowStore}
}

// stops reports whether the kind stops the region's process: two of these
// on one region must not overlap (a kill of a frozen process, a resume of a
// new one).
func stops(kind string) bool { return kind == KindPause || kind == KindKill }

// Duration is a time.Duration written as text ("1.5s") in JSON.
type Duration time.Duration

func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1.5s" (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: want text like \"1.5s\", got %s", b)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Step is one fault of a schedule: injected At after the schedule starts,
// healed For later.
type Step struct {
	Kind   string   `json:"kind"`
	Region string   `json:"region,omitempty"`
	Link   string   `json:"link,omitempty"`  // partition, latency
	Cold   bool     `json:"cold,omitempty"`  // kill: restart with an empty cache
	Delay  Duration `json:"delay,omitempty"` // latency, slow-store
	At     Duration `json:"at"`
	For    Duration `json:"for"`
}

// End is when the step is healed.
func (s Step) End() time.Duration { return s.At.D() + s.For.D() }

// Fault is the step as a fault of the catalog.
func (s Step) Fault() fault.Fault {
	switch s.Kind {
	case KindPause:
		return fault.Pause{Region: s.Region}
	case KindKill:
		return fault.Kill{Region: s.Region, ColdCache: s.Cold}
	case KindIsolate:
		return fault.IsolateRegion{Region: s.Region, Mode: "timeout"}
	case KindPartition:
		return fault.Partition{Link: s.Link, Mode: "timeout"}
	case KindHTTP503:
		return fault.HTTPStatus{Region: s.Region, Code: 503}
	case KindFailureRate:
		return fault.FailureRate{Region: s.Region, Rate: 0.5}
	case KindLatency:
		return fault.Latency{Link: s.Link, Latency: s.Delay.D()}
	case KindSlowStore:
		return fault.Latency{Link: topology.DynamoLink(s.Region), Latency: s.Delay.D()}
	}
	return nil
}

// String is the step as the report and the shrinker's log show it.
func (s Step) String() string {
	name := s.Kind
	if f := s.Fault(); f != nil {
		name = f.Name()
	}
	if s.Kind == KindSlowStore {
		name = fmt.Sprintf("slow-store(%s,%v)", s.Region, s.Delay)
	}
	return fmt.Sprintf("%s @%v for %v", name, s.At, s.For)
}

// Schedule is one randomized run: the faults, each with its window, over
// Duration of user traffic. Same seed, same schedule.
type Schedule struct {
	Version  int      `json:"version"`
	Seed     int64    `json:"seed"`
	Duration Duration `json:"duration"`
	Steps    []Step   `json:"faults"`
	// Note says where the schedule came from (drawn, shrunk from ...).
	Note string `json:"note,omitempty"`
}

// Title is the schedule as one line (the row's spec text).
func (s Schedule) Title() string {
	parts := make([]string, len(s.Steps))
	for i, st := range s.Steps {
		parts[i] = st.String()
	}
	return fmt.Sprintf("schedule seed %d over %v: %s", s.Seed, s.Duration, strings.Join(parts, "; "))
}

// Validate names the first field that cannot run against spec.
func (s Schedule) Validate(spec topology.Spec) error {
	if s.Version != 1 {
		return fmt.Errorf("version: %d, want 1", s.Version)
	}
	if s.Duration <= 0 {
		return errors.New("duration: must be > 0")
	}
	if len(s.Steps) == 0 {
		return errors.New("faults: empty")
	}
	regions := spec.RegionNames()
	links := map[string]bool{}
	for _, r := range regions {
		for _, l := range topology.RegionLinks(spec, r) {
			links[l] = true
		}
	}
	for i, st := range s.Steps {
		at := fmt.Sprintf("faults[%d]", i)
		switch st.Kind {
		case KindPause, KindKill, KindIsolate, KindHTTP503, KindFailureRate, KindSlowStore:
			if !slices.Contains(regions, st.Region) {
				return fmt.Errorf("%s.region: %q is not one of %v", at, st.Region, regions)
			}
			if st.Kind == KindSlowStore && st.Delay <= 0 {
				return fmt.Errorf("%s.delay: must be > 0", at)
			}
		case KindPartition, KindLatency:
			if !links[st.Link] {
				return fmt.Errorf("%s.link: %q is not a link of the topology", at, st.Link)
			}
			if st.Kind == KindLatency && st.Delay <= 0 {
				return fmt.Errorf("%s.delay: must be > 0", at)
			}
		default:
			return fmt.Errorf("%s.kind: %q is not one of %v", at, st.Kind, Kinds())
		}
		if st.At < 0 || st.For <= 0 {
			return fmt.Errorf("%s: at must be >= 0 and for > 0 (at %v, for %v)", at, st.At, st.For)
		}
		if st.End() > s.Duration.D() {
			return fmt.Errorf("%s: ends at %v, after the schedule's duration %v", at, st.End(), s.Duration)
		}
		for j, o := range s.Steps[:i] {
			if stops(st.Kind) && stops(o.Kind) && st.Region == o.Region && st.At.D() < o.End() && o.At.D() < st.End() {
				return fmt.Errorf("%s: %s overlaps faults[%d] %s on the same region (both stop its process)", at, st.Kind, j, o.Kind)
			}
		}
	}
	return nil
}

// Write writes the schedule as indented JSON.
func (s Schedule) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// Read reads a schedule written by Write; unknown fields are errors, so a
// typo in a hand-edited schedule is named rather than ignored.
func Read(r io.Reader) (Schedule, error) {
	var s Schedule
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Schedule{}, fmt.Errorf("schedule: %w", err)
	}
	return s, nil
}
