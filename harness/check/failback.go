package check

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/topology"
)

// Heal is when a fault was healed: some moment between the start of the
// heal and its return, both on the harness's clock. Failback is measured
// from End, when the fault surely was gone.
type Heal = Fault

// rotationChange is a change of whether a region is in the LB's rotation.
type rotationChange struct {
	At time.Time
	In bool
	T  topology.Transition // the transition that made it
}

// rotation replays region's transitions into changes of whether it is in
// the LB's rotation: its health status is active AND it is not ejected.
// The LB records health changes (status→status), ejections (status→ejected)
// and their ends (ejected→status).
func rotation(transitions []topology.Transition, region string) []rotationChange {
	health, ejected, in := "active", false, true
	started := false
	var latest time.Time
	var out []rotationChange
	for _, t := range transitions {
		if t.Region != region {
			continue
		}
		if !started {
			// The LB keeps its last transitions only: start from the state
			// the first one kept left.
			started = true
			if t.From == "ejected" {
				ejected = true
			} else {
				health = t.From
			}
			in = health == "active" && !ejected
		}
		// An ejection's end is logged when it is noticed, stamped when it
		// was due: a change takes effect no earlier than the one before it.
		if t.At.After(latest) {
			latest = t.At
		}
		t.At = latest
		switch {
		case t.To == "ejected":
			health, ejected = t.From, true
		case t.From == "ejected":
			health, ejected = t.To, false
		default:
			health = t.To
		}
		if now := health == "active" && !ejected; now != in {
			in = now
			out = append(out, rotationChange{At: t.At, In: in, T: t})
		}
	}
	return out
}

// ReturnedAt is when the LB took region back into rotation at or after
// since (transitions on the harness's clock); zero when it did not.
func ReturnedAt(transitions []topology.Transition, region string, since time.Time) time.Time {
	for _, c := range rotation(transitions, region) {
		if c.In && !c.At.Before(since) {
			return c.At
		}
	}
	return time.Time{}
}

// FailbackTime measures how long after the heal the LB took region back
// into rotation, against bound. inRotation is whether it was in rotation
// when last read: a region that never left (or was back before the heal
// began) fails back in 0.
func FailbackTime(h Heal, transitions []topology.Transition, region string, inRotation bool, bound bounds.Duration) Result {
	name := "failback-time(" + region + ")"
	b := TimeBound(bound)
	at := ReturnedAt(transitions, region, h.Start)
	if at.IsZero() {
		if inRotation {
			return result(name, Liveness, true, 0, "s", b, "%s was in the LB's rotation when the heal began", region)
		}
		return result(name, Liveness, false, Never, "s", b, "%s never returned to the LB's rotation after the heal (bound %s)", region, bound)
	}
	d := max(0, at.Sub(h.End))
	if d > bound.Total() {
		return result(name, Liveness, false, d.Seconds(), "s", b, "%s returned to the LB's rotation %s after the heal > bound %s", region, bounds.Round(d), bound)
	}
	return result(name, Liveness, true, d.Seconds(), "s", b, "%s returned to the LB's rotation %s after the heal", region, bounds.Round(d))
}

// NoFlapping fails when region flapped in the LB's rotation after since
// (the heal's start): once back in rotation it must stay, so after its first
// return no departure. A departure before the return is the fault's own
// verdict landing late (a quick restart may be noticed after it), not a
// flap. watched says for how many LB health rounds after the return the
// quiet was watched.
func NoFlapping(transitions []topology.Transition, region string, since time.Time, watched int) Result {
	name := "no-flapping(" + region + ")"
	var seq []string
	returned, flaps := false, 0
	for _, c := range rotation(transitions, region) {
		if c.At.Before(since) {
			continue
		}
		seq = append(seq, c.T.From+"→"+c.T.To)
		switch {
		case c.In && !returned:
			returned = true
		case returned:
			flaps++
		}
	}
	if flaps > 0 {
		return result(name, Liveness, false, float64(flaps), "count", nil, "%s flapped after the heal: rotation changed %s (%d changes after its return; watched %d LB health rounds)", region, strings.Join(seq, ", "), flaps, watched)
	}
	return result(name, Liveness, true, 0, "count", nil, "%s stayed in rotation once back (rotation changes: %s), watched %d LB health rounds", region, orNone(seq), watched)
}

func orNone(seq []string) string {
	if len(seq) == 0 {
		return "none"
	}
	return strings.Join(seq, ", ")
}

// RouterFailback measures how long after the heal every region's router
// took region back to active, from each router's own log of its status
// changes (dated by age on its own clock, so no poll granularity and no
// clock comparison), against bound; the slowest viewer is the value. A
// router that shows region active and logged no return since the heal began
// never saw it leave (or saw it back before): 0. As a second result, whether
// any router's view flapped after its return (NoFlapping's rule, per
// router). views are every region's router, read after the watch.
func RouterFailback(h Heal, views []topology.RouterStatus, region string, bound bounds.Duration, watched int) (Result, Result) {
	name := "router-failback(" + region + ")"
	b := TimeBound(bound)
	var worst time.Duration
	slowest, never := "", []string{}
	var flaps []string
	nflaps := 0
	for _, v := range views {
		at := ReturnedAt(v.Transitions, region, h.Start)
		switch {
		case !at.IsZero():
			if d := max(0, at.Sub(h.End)); d >= worst {
				worst, slowest = d, v.Self
			}
		case v.Status(region) == "active":
			if slowest == "" {
				slowest = v.Self
			}
		default:
			never = append(never, fmt.Sprintf("%s (%s)", v.Self, viewOf(v, region)))
		}
		if f := NoFlapping(v.Transitions, region, h.Start, watched); !f.OK {
			nflaps += int(f.Value)
			flaps = append(flaps, v.Self+": "+strings.Join(afterFlap(v.Transitions, region, h.Start), ", "))
		}
	}
	flap := result("router-no-flapping("+region+")", Liveness, len(flaps) == 0, float64(nflaps), "count", nil,
		"no region's router changed its view of %s after its return (%d routers, watched %d LB health rounds)", region, len(views), watched)
	if len(flaps) > 0 {
		flap.Reason = fmt.Sprintf("routers changed their view of %s after its return: %s", region, strings.Join(flaps, "; "))
	}
	switch {
	case len(views) == 0:
		return result(name, Liveness, false, Never, "s", b, "no region's router could be read"), flap
	case len(never) > 0:
		return result(name, Liveness, false, Never, "s", b, "never saw %s active again: %s (bound %s)", region, strings.Join(never, ", "), bound), flap
	case worst > bound.Total():
		return result(name, Liveness, false, worst.Seconds(), "s", b, "%s's router saw %s active %s after the heal > bound %s", slowest, region, bounds.Round(worst), bound), flap
	}
	return result(name, Liveness, true, worst.Seconds(), "s", b, "every router saw %s active within %s of the heal (slowest: %s)", region, bounds.Round(worst), slowest), flap
}

// afterFlap lists region's status changes from since on.
func afterFlap(ts []topology.Transition, region string, since time.Time) []string {
	var out []string
	for _, c := range rotation(ts, region) {
		if !c.At.Before(since) {
			out = append(out, c.T.From+"→"+c.T.To)
		}
	}
	return out
}

// viewOf is v's status of region, in words when it has none.
func viewOf(v topology.RouterStatus, region string) string {
	switch s := v.Status(region); {
	case len(v.Regions) == 0:
		return "could not be read"
	case s == "":
		return "not listed"
	default:
		return s
	}
}
