package plan

import (
	"strings"
	"testing"

	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/runtime/lb"
	"github.com/agentops/failover-harness/runtime/needtool"
)

// needAlertmanager skips without the Alertmanager binary, unless CI is set,
// where a missing one is a setup error.
func needAlertmanager(t *testing.T) {
	t.Helper()
	needtool.Path(t, "Debian: apt-get install prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
}

// The checklist's alert spec judged on what on-call receives through a real
// Alertmanager (the local provider's, grouping by alertname): one firing
// notification when no region is left, one resolved once one returns,
// nothing in between. It passes with the LB as configured and fails when
// the LB pages under a new alertname every round (the alert_storm
// failpoint): each is a group of its own, so on-call is paged again and again.
func TestAlertmanagerOnCall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a topology per case")
	}
	needAlertmanager(t)
	const label = "when no healthy region remains, on-call gets exactly one alert"
	throughAM := func(s *topology.Spec) { s.AlertsEnabled, s.Alertmanager = true, true }
	t.Run("passes", func(t *testing.T) {
		out := runRowWith(t, label, throughAM)
		// The bounds the checks held the notifications to name the
		// Alertmanager's terms (as the report shows them).
		for name, term := range map[string]string{"alert-received(NoHealthyRegion)": "alertmanager.group_wait",
			"alert-resolved(NoHealthyRegion)": "alertmanager.group_interval", "alert-once(NoHealthyRegion)": ""} {
			c, ok := out.Check(name)
			if !ok {
				t.Fatalf("check %s did not run; failures: %v", name, out.Failures())
			}
			var bound string
			if c.Bound != nil {
				bound = c.Bound.Text
			}
			t.Logf("%s: ok=%v %s; bound %s", name, c.OK, c.Reason, bound)
			if !strings.Contains(bound, term) {
				t.Errorf("%s: bound %q does not name %s", name, bound, term)
			}
		}
		requirePassed(t, out, label+" through an Alertmanager")
	})
	t.Run("alert storm fails", func(t *testing.T) {
		out := runRowWith(t, label, func(s *topology.Spec) {
			throughAM(s)
			s.LBDrift = func(c *lb.Config) { c.Failpoints.AlertStorm = true }
		})
		assertFails(t, out, "alert-once(NoHealthyRegion)", "the LB fires a new alertname every health round: an Alertmanager notifies each")
	})
}
