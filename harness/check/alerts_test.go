package check

import (
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

func alert(name, status string, ms int) topology.Alert {
	return topology.Alert{Name: name, Status: status, At: at(ms), Source: "lb"}
}

func TestAlerts(t *testing.T) {
	const name = "NoHealthyRegion"
	within := bound(500 * time.Millisecond)
	cases := []struct {
		name           string
		alerts         []topology.Alert
		receivedOK     bool
		receivedValue  float64
		onceOK         bool
		onceValue      float64
		receivedReason string
	}{
		{"none", nil, false, 0, true, 0, "no firing NoHealthyRegion alert reached on-call"},
		{"flapping: resolved and fired again while the condition held", []topology.Alert{alert(name, "firing", 100), alert(name, "resolved", 200), alert(name, "firing", 300)}, true, 0.1, false, 2, "arrived 100ms"},
		{"only other alerts or resolutions", []topology.Alert{alert("RegionDown", "firing", 100), alert(name, "resolved", 200)}, false, 0, true, 0, "no firing"},
		{"one", []topology.Alert{alert(name, "firing", 300)}, true, 0.3, true, 1, "arrived 300ms after the condition began"},
		{"one firing, then resolved", []topology.Alert{alert(name, "firing", 300), alert(name, "resolved", 900)}, true, 0.3, true, 1, "arrived 300ms"},
		{"exactly at the bound", []topology.Alert{alert(name, "firing", 500)}, true, 0.5, true, 1, "arrived 500ms"},
		{"two firing: a storm", []topology.Alert{alert(name, "firing", 300), alert(name, "firing", 400)}, true, 0.3, false, 2, "arrived 300ms"},
		{"late", []topology.Alert{alert(name, "firing", 800)}, false, 0.8, true, 1, "arrived 800ms after the condition began > bound 500ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := AlertReceived(c.alerts, name, Fault{Start: at(0), End: at(0)}, within)
			if r.OK != c.receivedOK || !near(r.Value, c.receivedValue) || r.Class != Liveness || r.Name != "alert-received(NoHealthyRegion)" {
				t.Errorf("AlertReceived = %+v: want ok %v value %v", r, c.receivedOK, c.receivedValue)
			}
			wantReason(t, r, c.receivedReason)
			o := AlertOnce(c.alerts, name, at(0), 12)
			if o.OK != c.onceOK || o.Value != c.onceValue || o.Class != Safety || o.Name != "alert-once(NoHealthyRegion)" {
				t.Errorf("AlertOnce = %+v: want ok %v value %v", o, c.onceOK, c.onceValue)
			}
			wantReason(t, o, "12 LB health rounds")
			if !c.onceOK {
				wantReason(t, o, "alert storm")
			}
		})
	}
}

// Judged together, a missing alert is a liveness failure (inconclusive on a
// starved machine) while a storm fails whatever the machine did.
func TestAlertsJudged(t *testing.T) {
	const name = "NoHealthyRegion"
	none := []Result{AlertReceived(nil, name, Fault{Start: at(0), End: at(0)}, bound(time.Second)), AlertOnce(nil, name, at(0), 3)}
	if v, _ := Judge(none, Health{Starved: true}); v != Inconclusive {
		t.Errorf("no alert on a starved machine: %s", v)
	}
	storm := []topology.Alert{alert(name, "firing", 10), alert(name, "firing", 20)}
	rs := []Result{AlertReceived(storm, name, Fault{Start: at(0), End: at(0)}, bound(time.Second)), AlertOnce(storm, name, at(0), 3)}
	if v, _ := Judge(rs, Health{Starved: true}); v != Failed || rs[1].Verdict != Failed {
		t.Errorf("a storm on a starved machine: %s / %s", v, rs[1].Verdict)
	}
}

// A soak under load found this: the last region was ejected for 0.3 s before
// the all-down fault (a real outage, paged and resolved), then the fault was
// paged once. Two incidents, each paged once: no storm, and the page for the
// fault is the one after it began.
func TestAlertsEarlierIncidentIsNotAStorm(t *testing.T) {
	const name = "NoHealthyRegion"
	alerts := []topology.Alert{alert(name, "firing", -7000), alert(name, "resolved", -6700), alert(name, "firing", 200)}
	f := Fault{Start: at(0), End: at(0)}
	r := AlertReceived(alerts, name, f, bound(time.Second))
	if !r.OK || !near(r.Value, 0.2) {
		t.Fatalf("AlertReceived = %+v", r)
	}
	wantReason(t, r, "1 earlier incident(s) paged and resolved")
	if o := AlertOnce(alerts, name, f.Start, 10); !o.OK || o.Value != 1 {
		t.Fatalf("AlertOnce = %+v", o)
	}
	// The same, but the earlier firing repeated while open: a storm still.
	storm := append([]topology.Alert{alert(name, "firing", -6900)}, alerts...)
	if o := AlertOnce(storm, name, f.Start, 10); o.OK {
		t.Fatalf("a repeat while open must fail: %+v", o)
	}
	// An incident open when the condition began is the page for it.
	open := []topology.Alert{alert(name, "firing", -300)}
	if r := AlertReceived(open, name, f, bound(time.Second)); !r.OK || r.Value != 0 {
		t.Fatalf("open incident: %+v", r)
	}
	// Paged and resolved before, and never again: the condition was not paged.
	if r := AlertReceived(alerts[:2], name, f, bound(time.Second)); r.OK {
		t.Fatalf("only an earlier incident: %+v", r)
	}
}

func TestEachIncidentPagedOnce(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(s int, status string) topology.Alert {
		return topology.Alert{At: t0.Add(time.Duration(s) * time.Second), Source: "lb", Status: status, Name: "NoHealthyRegion"}
	}
	twoOutages := []topology.Alert{at(1, "firing"), at(2, "resolved"), at(5, "firing"), at(6, "resolved")}
	if r := EachIncidentPagedOnce(twoOutages, "NoHealthyRegion"); !r.OK || r.Value != 2 || r.Class != Safety {
		t.Fatalf("two outages paged once each judged %+v", r)
	}
	storm := []topology.Alert{at(1, "firing"), at(2, "firing"), at(3, "firing"), at(4, "resolved")}
	if r := EachIncidentPagedOnce(storm, "NoHealthyRegion"); r.OK || r.Value != 3 {
		t.Fatalf("a storm passed: %+v", r)
	}
}

// Through an Alertmanager on-call gets notifications, each carrying its
// group's alerts: one notification for several senders' alerts is one page;
// a second firing notification before the resolved one is a storm, whether
// it names the incident's alert or another (a sender naming each round's
// alert anew, each a group of its own).
func TestAlertsThroughAlertmanager(t *testing.T) {
	const name = "NoHealthyRegion"
	am := func(status string, ms int, names ...string) topology.Alert {
		return topology.Alert{Name: names[0], Names: names, Status: status, At: at(ms), Source: "alertmanager"}
	}
	f := Fault{Start: at(0), End: at(0)}
	one := []topology.Alert{am("firing", 300, name, name), am("resolved", 2000, name, name)}
	if o := AlertOnce(one, name, f.Start, 10); !o.OK || o.Value != 1 {
		t.Fatalf("one grouped notification: %+v", o)
	}
	if r := AlertResolved(one, name, f.Start, at(1500), bound(time.Second)); !r.OK || !near(r.Value, 0.5) {
		t.Fatalf("resolved: %+v", r)
	}
	// A notification whose first alert is another one still concerns name.
	mixed := []topology.Alert{am("firing", 300, "RegionDown", name)}
	if r := AlertReceived(mixed, name, f, bound(time.Second)); !r.OK {
		t.Fatalf("a notification carrying %s among others: %+v", name, r)
	}
	// The group changed (another sender's alert joined): notified again.
	again := []topology.Alert{am("firing", 300, name), am("firing", 1300, name), am("resolved", 2000, name)}
	if o := AlertOnce(again, name, f.Start, 10); o.OK || o.Value != 2 {
		t.Fatalf("a second firing notification in between passed: %+v", o)
	}
	// A storm of renamed alerts: each a notification of its own.
	storm := []topology.Alert{am("firing", 300, name), am("firing", 400, name+"-1"), am("firing", 500, name+"-2"), am("resolved", 2000, name), am("resolved", 2000, name+"-1")}
	o := AlertOnce(storm, name, f.Start, 10)
	if o.OK || o.Value != 3 {
		t.Fatalf("a storm of renamed alerts passed: %+v", o)
	}
	wantReason(t, o, "NoHealthyRegion-1, NoHealthyRegion-2")
	if r := EachIncidentPagedOnce(storm, name); r.OK {
		t.Fatalf("EachIncidentPagedOnce passed a storm: %+v", r)
	}
	if r := AlertResolved(storm, name, f.Start, at(1500), bound(time.Second)); !r.OK {
		t.Fatalf("one resolved %s: %+v", name, r)
	}
	// Other alerts after the incident resolved are not its pages.
	after := []topology.Alert{am("firing", 300, name), am("resolved", 2000, name), am("firing", 2500, "Other")}
	if o := AlertOnce(after, name, f.Start, 10); !o.OK {
		t.Fatalf("an alert after the incident: %+v", o)
	}
}
