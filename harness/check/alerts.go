package check

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/topology"
)

// about reports whether notification a concerns the alert called name: its
// first alert does, or any alert it carries (an Alertmanager notification
// carries every alert of its group).
func about(a topology.Alert, name string) bool {
	return a.Name == name || slices.Contains(a.Names, name)
}

func firing(alerts []topology.Alert, name string) []topology.Alert {
	var out []topology.Alert
	for _, a := range alerts {
		if about(a, name) && a.Status == "firing" {
			out = append(out, a)
		}
	}
	return out
}

// incident is one stretch during which a source's alert was firing: from
// its firing notification to its resolved one (End zero while open).
type incident struct {
	Source     string
	Start, End time.Time
	Pages      int      // firing notifications received from Source while it was open
	Others     []string // the names of those that were about other alerts
}

// incidents splits a source's notifications for name into incidents: a
// resolved notification ends one, so a later firing opens a new one. Order
// is the order of arrival (each sender notifies synchronously, in order).
// Every firing notification from the source while an incident is open is a
// page of it, whatever alert it names: on-call is paged again either way
// (a sender that names each round's alert anew, an Alertmanager group
// notified apart, is the same storm).
func incidents(alerts []topology.Alert, name string) []incident {
	var out []incident
	open := map[string]int{} // source -> index in out
	for _, a := range alerts {
		i, isOpen := open[a.Source]
		if !about(a, name) {
			if isOpen && a.Status == "firing" {
				out[i].Pages++
				out[i].Others = append(out[i].Others, a.Name)
			}
			continue
		}
		switch a.Status {
		case "firing":
			if isOpen {
				out[i].Pages++
				continue
			}
			open[a.Source] = len(out)
			out = append(out, incident{Source: a.Source, Start: a.At, Pages: 1})
		case "resolved":
			if isOpen {
				out[i].End = a.At
				delete(open, a.Source)
			}
		}
	}
	return out
}

// AlertReceived fails when on-call was not paged about the condition the
// fault began within bound (measured from the injection's end, when it surely
// was in effect; on the harness's clock). The page is the first firing alert
// called name at or after the condition began, or an incident already open
// then (an earlier outage that had not ended is still being paged).
func AlertReceived(alerts []topology.Alert, name string, f Fault, bound bounds.Duration) Result {
	rn := "alert-received(" + name + ")"
	b := TimeBound(bound)
	if len(firing(alerts, name)) == 0 {
		return result(rn, Liveness, false, 0, "s", b, "no firing %s alert reached on-call", name)
	}
	earlier := 0
	for _, in := range incidents(alerts, name) {
		switch {
		case in.Start.Before(f.Start) && (in.End.IsZero() || !in.End.Before(f.Start)):
			return result(rn, Liveness, true, 0, "s", b, "a %s incident paged %s before the condition began was still open when it began", name, bounds.Round(f.Start.Sub(in.Start)))
		case in.Start.Before(f.Start):
			earlier++ // an earlier outage, paged and resolved: not this condition
		default:
			d := max(0, in.Start.Sub(f.End))
			if d > bound.Total() {
				return result(rn, Liveness, false, d.Seconds(), "s", b, "the first %s alert arrived %s after the condition began > bound %s", name, bounds.Round(d), bound)
			}
			return result(rn, Liveness, true, d.Seconds(), "s", b, "the first %s alert arrived %s after the condition began%s", name, bounds.Round(d), earlierNote(earlier))
		}
	}
	return result(rn, Liveness, false, 0, "s", b, "no firing %s alert reached on-call after the condition began%s", name, earlierNote(earlier))
}

func earlierNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d earlier incident(s) paged and resolved before it)", n)
}

// AlertOnce fails on an alert storm about the condition that began at
// since: an alert called name firing again while its incident was open (no
// resolved notification between), or more than one incident overlapping the
// condition (resolved and fired again while the condition held: flapping).
// An incident that ended before the condition began was another outage,
// paged once more by design. rounds is how many LB health rounds the
// condition was watched for after the first alert, so the reason says how
// long the quiet was watched.
func AlertOnce(alerts []topology.Alert, name string, since time.Time, rounds int) Result {
	rn := "alert-once(" + name + ")"
	ins := incidents(alerts, name)
	pages, worst, during := 0, 0, 0
	var others []string
	for _, in := range ins {
		pages += in.Pages
		if in.Pages > worst {
			worst, others = in.Pages, in.Others
		}
		if in.End.IsZero() || !in.End.Before(since) {
			during++
		}
	}
	switch {
	case worst > 1:
		return result(rn, Safety, false, float64(worst), "count", nil, "%d firing notifications for one %s incident%s: an alert storm (%d incident(s), %d pages; watched for %d LB health rounds)", worst, name, othersNote(others), len(ins), pages, rounds)
	case during > 1:
		return result(rn, Safety, false, float64(during), "count", nil, "%s resolved and fired again: %d incidents while one condition held, an alert storm (watched for %d LB health rounds)", name, during, rounds)
	}
	return result(rn, Safety, true, float64(during), "count", nil, "%d firing %s alert for the condition, %d incident(s) in all, each paged once (watched for %d LB health rounds)", during, name, len(ins), rounds)
}

// othersNote names the other alerts that paged during an incident.
func othersNote(names []string) string {
	if len(names) == 0 {
		return ""
	}
	const most = 5
	shown := names[:min(len(names), most)]
	more := ""
	if len(names) > most {
		more = fmt.Sprintf(" and %d more", len(names)-most)
	}
	return fmt.Sprintf(" (%d about other alerts while it was open: %s%s)", len(names), strings.Join(shown, ", "), more)
}

// Resolved counts resolved notifications for name at or after since.
func Resolved(alerts []topology.Alert, name string, since time.Time) int {
	n := 0
	for _, a := range alerts {
		if about(a, name) && a.Status == "resolved" && !a.At.Before(since) {
			n++
		}
	}
	return n
}

// AlertResolved judges the end of the incident the condition began at since:
// once a region was back (returned, on the harness's clock) on-call must
// hear that it is over, within bound, exactly once. A missing or late
// resolved notification is a liveness failure; more than one is a storm.
func AlertResolved(alerts []topology.Alert, name string, since, returned time.Time, bound bounds.Duration) Result {
	rn := "alert-resolved(" + name + ")"
	b := TimeBound(bound)
	if returned.IsZero() {
		return result(rn, Liveness, false, Never, "s", b, "no region returned to rotation, so the incident could not end")
	}
	var first time.Time
	n := 0
	for _, a := range alerts {
		if about(a, name) && a.Status == "resolved" && !a.At.Before(since) {
			if n == 0 {
				first = a.At
			}
			n++
		}
	}
	switch {
	case n == 0:
		return result(rn, Liveness, false, Never, "s", b, "no resolved %s notification reached on-call after a region returned", name)
	case n > 1:
		return result(rn, Safety, false, float64(n), "count", nil, "%d resolved %s notifications for one incident: an alert storm", n, name)
	}
	d := max(0, first.Sub(returned))
	if d > bound.Total() {
		return result(rn, Liveness, false, d.Seconds(), "s", b, "the resolved %s notification arrived %s after the first region returned > bound %s", name, bounds.Round(d), bound)
	}
	return result(rn, Liveness, true, d.Seconds(), "s", b, "one resolved %s notification, %s after the first region returned", name, bounds.Round(d))
}

// EachIncidentPagedOnce fails on an alert storm over a whole run of
// several outages (a randomized schedule): an alert called name firing
// again while its incident was open. Each outage may page once; how many
// outages there were is the schedule's business, not a storm.
func EachIncidentPagedOnce(alerts []topology.Alert, name string) Result {
	rn := "each-incident-paged-once(" + name + ")"
	ins := incidents(alerts, name)
	worst, pages := 0, 0
	var others []string
	for _, in := range ins {
		if in.Pages > worst {
			worst, others = in.Pages, in.Others
		}
		pages += in.Pages
	}
	if worst > 1 {
		return result(rn, Safety, false, float64(worst), "count", nil, "%d firing notifications for one %s incident%s: an alert storm (%d incident(s), %d pages)", worst, name, othersNote(others), len(ins), pages)
	}
	return result(rn, Safety, true, float64(len(ins)), "count", nil, "%d %s incident(s), each paged once", len(ins), name)
}
