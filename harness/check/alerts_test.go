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
			o := AlertOnce(c.alerts, name, 12)
			if o.OK != c.onceOK || o.Value != c.onceValue || o.Class != Safety || o.Name != "alert-once(NoHealthyRegion)" {
				t.Errorf("AlertOnce = %+v: want ok %v value %v", o, c.onceOK, c.onceValue)
			}
			wantReason(t, o, "12 LB health rounds")
			if !c.onceOK {
				wantReason(t, o, "2 firing NoHealthyRegion alerts", "alert storm")
			}
		})
	}
}

// Judged together, a missing alert is a liveness failure (inconclusive on a
// starved machine) while a storm fails whatever the machine did.
func TestAlertsJudged(t *testing.T) {
	const name = "NoHealthyRegion"
	none := []Result{AlertReceived(nil, name, Fault{Start: at(0), End: at(0)}, bound(time.Second)), AlertOnce(nil, name, 3)}
	if v, _ := Judge(none, Health{Starved: true}); v != Inconclusive {
		t.Errorf("no alert on a starved machine: %s", v)
	}
	storm := []topology.Alert{alert(name, "firing", 10), alert(name, "firing", 20)}
	rs := []Result{AlertReceived(storm, name, Fault{Start: at(0), End: at(0)}, bound(time.Second)), AlertOnce(storm, name, 3)}
	if v, _ := Judge(rs, Health{Starved: true}); v != Failed || rs[1].Verdict != Failed {
		t.Errorf("a storm on a starved machine: %s / %s", v, rs[1].Verdict)
	}
}
