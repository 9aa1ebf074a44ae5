package reports

// PlanRows is the number of rows in the failover test plan (SPEC §4).
const PlanRows = 7

// ChecklistLabel marks specs that cover the article's checklist.
const ChecklistLabel = "checklist"

// PlanRow describes one row of the failover test plan, so the report can show
// rows that did not run.
type PlanRow struct {
	Row      int
	Scenario string
	Expected string
	Checks   string
}

// Plan is the failover test plan from SPEC §4, indexed by row-1.
var Plan = [PlanRows]PlanRow{
	{1, "Region A unresponsive", "LB redirects to B",
		"every session continues; no acked message lost; RTO ≤ detection bound + margin"},
	{2, "Region A returns 503", "health check fails → A marked degraded",
		"no new traffic to A after the detection window"},
	{3, "Region A partially up (50 % of requests fail)", "A marked degraded",
		"client-visible error rate stays low (graceful degradation)"},
	{4, "Network partition", "health check times out",
		"on restore the configured conflict strategy holds; every overwrite is counted and reported"},
	{5, "Both A and B down", "C serves everyone; with all down, 503 with status page",
		"on-call notified (alert received once)"},
	{6, "Quick restart (< 30 s)", "cache warmup from peers",
		"A's replicator receives entries; cache hits come back"},
	{7, "Long outage (> TTL)", "sessions expire via TTL",
		"returning users get the expired-session answer and re-authenticate"},
}
