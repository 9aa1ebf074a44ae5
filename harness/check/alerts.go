package check

import (
	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/topology"
)

func firing(alerts []topology.Alert, name string) []topology.Alert {
	var out []topology.Alert
	for _, a := range alerts {
		if a.Name == name && a.Status == "firing" {
			out = append(out, a)
		}
	}
	return out
}

// AlertReceived fails when no firing alert called name arrived within bound
// of the fault that began the condition (measured from the injection's end,
// when it surely was in effect; on the harness's clock).
func AlertReceived(alerts []topology.Alert, name string, f Fault, bound bounds.Duration) Result {
	rn := "alert-received(" + name + ")"
	b := TimeBound(bound)
	fired := firing(alerts, name)
	if len(fired) == 0 {
		return result(rn, Liveness, false, 0, "s", b, "no firing %s alert reached on-call", name)
	}
	first := fired[0]
	for _, a := range fired {
		if a.At.Before(first.At) {
			first = a
		}
	}
	if first.At.Before(f.Start) {
		return result(rn, Liveness, false, -1, "s", b, "a %s alert fired %s before the condition began: a page while a region was still in rotation", name, bounds.Round(f.Start.Sub(first.At)))
	}
	d := max(0, first.At.Sub(f.End))
	if d > bound.Total() {
		return result(rn, Liveness, false, d.Seconds(), "s", b, "the first %s alert arrived %s after the condition began > bound %s", name, bounds.Round(d), bound)
	}
	return result(rn, Liveness, true, d.Seconds(), "s", b, "the first %s alert arrived %s after the condition began", name, bounds.Round(d))
}

// AlertOnce fails when more than one firing alert called name arrived for
// one incident: an alert storm. rounds is how many checker rounds the
// condition was observed for after the first alert, so the reason says how
// long the quiet was watched.
func AlertOnce(alerts []topology.Alert, name string, rounds int) Result {
	rn := "alert-once(" + name + ")"
	n := len(firing(alerts, name))
	if n > 1 {
		return result(rn, Safety, false, float64(n), "count", nil, "%d firing %s alerts for one incident: an alert storm (watched for %d LB health rounds)", n, name, rounds)
	}
	return result(rn, Safety, true, float64(n), "count", nil, "%d firing %s alert for the incident over %d LB health rounds", n, name, rounds)
}
