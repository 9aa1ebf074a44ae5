package check

import (
	"fmt"
	"strings"

	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/stats"
)

// WeightSplit tests that sessions split over regions by the configured
// weights. The LB is sticky per session, so the independent unit is the
// session: each counts once, for the region that created it; requests
// inside a session would only repeat its draw. Each region's count gets an
// exact two-sided binomial test, Bonferroni-corrected so that a correct LB
// fails with probability at most alpha.
func WeightSplit(ops []history.Op, weights map[string]int, alpha float64) Result {
	const name = "weight-split"
	counts := map[string]int{}
	seen := map[string]bool{}
	for _, op := range ops {
		if op.Kind != history.KindCreate || !op.OK() || op.ServedBy == "" || seen[op.Session] {
			continue
		}
		seen[op.Session] = true
		counts[op.ServedBy]++
	}
	w := map[string]float64{}
	for r, x := range weights {
		w[r] = float64(x)
	}
	if len(seen) == 0 {
		return result(name, Liveness, false, 0, "ratio", nil, "no session was created: nothing to compare")
	}
	t := stats.Proportions(counts, w, alpha, "sessions")
	var parts []string
	for _, r := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s %d", r, counts[r]))
	}
	b := &Bound{Limit: alpha, Unit: "p", Text: fmt.Sprintf("exact binomial test per region, Bonferroni over %d regions, false-alarm probability %g", len(w), alpha)}
	return result(name, Liveness, !t.Reject, t.Worst.Deviation, "ratio", b, "%d sessions (%s): %s", len(seen), strings.Join(parts, ", "), t.Reason)
}
