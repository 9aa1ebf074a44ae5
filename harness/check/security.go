package check

import (
	"fmt"
	"strings"
)

// PeerAttack is one crafted peer request a security row sent to a region
// and what came of it: the answer, whether the region refused it (for a
// batch, the bad entry dropped), and how much the region's own refusal
// counter for that reason rose.
type PeerAttack struct {
	Kind    string // e.g. "forged", "replayed", "poisoned"
	Region  string
	Status  int
	Answer  string // the answer's code or body, for the reason text
	Refused bool
	Counted float64 // rise of the region's refusal counter for this reason
}

// PeerAttacksRefused is one safety result per attack: the region must
// refuse it and count it (a refusal nobody can see on a dashboard is an
// attack nobody investigates).
func PeerAttacksRefused(attacks []PeerAttack) []Result {
	out := make([]Result, 0, len(attacks))
	for _, a := range attacks {
		name := fmt.Sprintf("%s-warmup-refused(%s)", a.Kind, a.Region)
		ok := a.Refused && a.Counted >= 1
		switch {
		case !a.Refused:
			out = append(out, Safe(name, false, a.Counted, "%s accepted a %s warmup: HTTP %d %s", a.Region, a.Kind, a.Status, a.Answer))
		case a.Counted < 1:
			out = append(out, Safe(name, false, a.Counted, "%s refused a %s warmup (HTTP %d %s) but its refusal counter did not rise", a.Region, a.Kind, a.Status, a.Answer))
		default:
			out = append(out, Safe(name, ok, a.Counted, "%s refused a %s warmup (HTTP %d %s) and counted it", a.Region, a.Kind, a.Status, a.Answer))
		}
	}
	return out
}

// PoisonProbe is a user's question whose cached answer an attacker tried to
// poison, and the reply the user received.
type PoisonProbe struct {
	Session, MessageID string
	Status             int
	ToolCalls          []string // tool names in the reply
	Cache              string   // hit | miss
}

// NoPoisonServed fails when any user reply carried the poisoned tool call.
// A probe that was not answered proves nothing either way and is reported.
func NoPoisonServed(region, poisonTool string, probes []PoisonProbe) Result {
	name := "no-poisoned-reply(" + region + ")"
	answered := 0
	for _, p := range probes {
		if p.Status/100 != 2 {
			continue
		}
		answered++
		for _, tc := range p.ToolCalls {
			if tc == poisonTool {
				return Safe(name, false, 1, "session %s message %s got a reply carrying %s (cache %s): a poisoned entry was served", p.Session, p.MessageID, poisonTool, p.Cache)
			}
		}
	}
	if answered == 0 {
		return Seen(name, false, 0, "none of %d poisoned questions was answered by %s: nothing shows whether poison is served", len(probes), region)
	}
	return Safe(name, true, 0, "%d poisoned questions answered by %s, none with %s", answered, region, poisonTool)
}

// SlowlorisHeld is the evidence of a slowloris row: the attack held its
// connections open when the failover began (otherwise the row tested
// nothing), with how many the server had cut off by then.
func SlowlorisHeld(name string, opened, want, cut int64) Result {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d slow connections opened to the LB", opened, want)
	if cut > 0 {
		fmt.Fprintf(&b, ", %d cut off by its read timeouts", cut)
	}
	return Seen(name, opened == want, float64(opened), "%s", b.String())
}
