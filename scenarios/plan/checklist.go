package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/harness/traffic"
)

// Checklist is the article's production checklist as specs (label checklist).
func Checklist() []engine.Row {
	return []engine.Row{
		{Label: "checklist", Spec: "at least two regions are healthy and in the LB's rotation",
			Expected: ">= 2 regions healthy", Body: body(checkRegionsHealthy)},
		{Label: "checklist", Spec: "with every region healthy, traffic splits by the configured weights",
			Expected: "weighted routing 50/30/20 within tolerance", Body: body(checkWeights)},
		{Label: "checklist", Spec: "failover is exercised dry-run, then manual, then automatic, and each is in the admin API's history",
			Expected: "dry run changes nothing; manual and automatic failovers recorded in /regions/failover/history", Body: body(checkFailoverModes),
			Faults: func(s topology.Spec) []fault.Fault { return []fault.Fault{fault.Pause{Region: s.RegionNames()[0]}} }},
		{Label: "checklist", Spec: "when no healthy region remains, on-call gets exactly one alert",
			Expected: "one firing notification, one resolved once a region returns, none in between", Body: body(checkAlertNoHealthy),
			Faults: func(s topology.Spec) []fault.Fault { return []fault.Fault{fault.RegionsDown{Regions: s.RegionNames()}} }},
		{Label: "checklist", Spec: "sessions carry the configured TTL",
			Expected: "expires_at = now + session TTL", Body: body(checkTTL)},
	}
}

func checkRegionsHealthy(ctx context.Context, r *run) error {
	if err := r.Up(ctx, r.Env.Spec); err != nil {
		return err
	}
	st, err := r.LBStatus(ctx)
	if err != nil {
		return err
	}
	in := 0
	for _, reg := range st.Regions {
		if reg.InRotation {
			in++
		}
	}
	r.Out.Add(check.Live("regions-in-rotation", in >= 2, float64(in), "%d of %d regions in the LB's rotation", in, len(st.Regions)))
	healthy := 0
	for _, reg := range r.Cluster.Regions() {
		resp, err := httpGet(ctx, reg.URL+"/health", "")
		if err == nil && resp.status == 200 {
			healthy++
		}
	}
	r.Out.Add(check.Live("regions-healthy", healthy >= 2, float64(healthy), "%d regions answer /health with 200", healthy))
	return nil
}

func checkWeights(ctx context.Context, r *run) error {
	if err := r.Up(ctx, r.Env.Spec); err != nil {
		return err
	}
	cl := traffic.NewClient(traffic.Config{LBURL: r.Cluster.LBURL(), RequestTimeout: 2 * time.Second}, r.History)
	// Sessions are the unit (routing is sticky per session); 1000 of them
	// tell a 50/30/20 split from an even one with a false-alarm rate of
	// 1e-4 (bounded: one PutItem each).
	const n = 1000
	for i := 0; i < n && ctx.Err() == nil; i++ {
		cl.CreateSession(ctx, history.KindCreate, fmt.Sprintf("w%d", i), "", fmt.Sprintf("s-w-%d-%d", r.Spec.Seed, i))
	}
	r.Out.Add(check.WeightSplit(r.History.Ops(), r.Spec.Weights(), r.Env.Alpha()))
	return nil
}

func checkFailoverModes(ctx context.Context, r *run) error {
	if err := r.Up(ctx, r.Env.Spec); err != nil {
		return err
	}
	a, b, c := regionNames(r.Spec)
	var bURL string
	for _, reg := range r.Cluster.Regions() {
		if reg.Name == b {
			bURL = reg.URL
		}
	}
	tok := r.Cluster.AdminToken()
	// Admin endpoints refuse callers without the token.
	if resp, err := httpGet(ctx, bURL+"/regions/failover/history", ""); err == nil {
		r.Out.Add(check.Safe("admin-requires-token", resp.status == 401, float64(resp.status), "history without a token answered %d", resp.status))
	}
	// 1. dry run: says what would happen, changes nothing. A fresh
	// deployment's primary is A; one that outlives rows (an external
	// target) keeps the primary its last failover chose, as production
	// does until an operator fails back: B's router names it.
	want := a
	if sh, ok := r.Cluster.(topology.Shared); ok && sh.Shared() {
		rs, err := topology.ReadRouter(ctx, &http.Client{Timeout: 5 * time.Second}, topology.Region{Name: b, URL: bURL}, tok)
		if err != nil {
			return err
		}
		want = rs.Current
	}
	var plan struct {
		Current       string `json:"current"`
		WouldFailover bool   `json:"would_failover"`
	}
	resp, err := httpGet(ctx, bURL+"/regions/failover/dry-run", tok)
	if err != nil {
		return err
	}
	_ = json.Unmarshal(resp.body, &plan)
	r.Out.Add(check.Safe("dry-run", resp.status == 200 && plan.Current == want && !plan.WouldFailover, 0,
		"dry run answered %d: current %q, would fail over %v (want %s, false)", resp.status, plan.Current, plan.WouldFailover, want))
	// 2. manual failover to C, then back to A.
	for _, target := range []string{c, a} {
		resp, err := httpPost(ctx, bURL+"/regions/failover", tok, fmt.Sprintf(`{"target":%q,"reason":"checklist drill"}`, target))
		if err != nil {
			return err
		}
		r.Out.Add(check.Live("manual-failover-to-"+target, resp.status == 200, float64(resp.status), "manual failover to %s answered %d %s", target, resp.status, trim(resp.body)))
	}
	// The dry run tells the truth: the target it names now is where the
	// automatic failover below goes (liveness: B's view of the others could
	// change in between on a machine that does not keep time; the runtime's
	// own test pins the rule without timing).
	var before struct {
		Target string `json:"target"`
	}
	if err := getJSON(ctx, bURL+"/regions/failover/dry-run", tok, &before); err != nil {
		return err
	}
	// 3. automatic: the primary stops answering; B's manager fails over by
	// itself within its detection bound. The row waits at most 15 s: a
	// manager that checks too rarely to notice by then fails here.
	_, f, err := r.Inject(ctx, fault.Pause{Region: a})
	if err != nil {
		return err
	}
	det := bounds.RegionDetection(bounds.Probe{Interval: r.Spec.RegionHealthInterval, Timeout: r.Spec.RegionHealthTimeout, Threshold: r.Spec.RegionUnhealthyThreshold}, r.Allow())
	var events []struct {
		Kind string `json:"kind"`
		From string `json:"from"`
		To   string `json:"to"`
	}
	var seenAt time.Time
	_ = r.Wait(ctx, min(engine.MarkDeadline(det), 15*time.Second), "an automatic failover in "+b+"'s history", func() bool {
		var wrapped struct {
			History json.RawMessage `json:"history"`
		}
		if getJSON(ctx, bURL+"/regions/failover/history", tok, &wrapped) != nil {
			return false
		}
		events = nil
		_ = json.Unmarshal(wrapped.History, &events)
		for _, e := range events {
			if e.Kind == "auto" && e.From == a {
				seenAt = time.Now() // the harness's clock, not B's
				return true
			}
		}
		return false
	})
	manual, auto, autoTo := 0, 0, ""
	for _, e := range events {
		switch e.Kind {
		case "manual":
			manual++
		case "auto":
			if e.From == a {
				auto++
				autoTo = e.To
			}
		}
	}
	if autoTo != "" {
		r.Out.Add(check.Live("dry-run-names-the-next-failover", before.Target == autoTo, 0,
			"the dry run before the fault named %q; the automatic failover went to %q", before.Target, autoTo))
		// With the old primary frozen, a dry run must not name it.
		var after struct {
			Target string `json:"target"`
		}
		if err := getJSON(ctx, bURL+"/regions/failover/dry-run", tok, &after); err == nil {
			r.Out.Add(check.Safe("dry-run-names-an-active-region", after.Target != a, 0,
				"with %s frozen, the dry run names %q", a, after.Target))
		}
	}
	r.Out.Add(check.Safe("history-records-manual", manual >= 2, float64(manual), "%d manual failovers in %s's history", manual, b))
	took := math.Inf(1)
	if !seenAt.IsZero() {
		took = seenAt.Sub(f.Start).Seconds()
	}
	auto1 := check.Live("history-records-automatic", auto >= 1 && took <= det.Total().Seconds(), took,
		"%d automatic failovers away from %s in %s's history, seen %.3fs after the fault (bound %s)", auto, a, b, took, det)
	auto1.Bound = check.TimeBound(det)
	r.Out.Add(auto1)
	return nil
}

func checkAlertNoHealthy(ctx context.Context, r *run) error {
	if err := r.Up(ctx, r.Env.Spec); err != nil {
		return err
	}
	// What on-call receives: the LB's page, or an Alertmanager's notification.
	page := r.AlertBound()
	regions := r.Spec.RegionNames()
	heal, f, err := r.Inject(ctx, fault.RegionsDown{Regions: regions})
	if err != nil {
		return err
	}
	_ = r.Wait(ctx, engine.MarkDeadline(page), "an alert at on-call", func() bool { return len(r.Cluster.Alerts()) > 0 })
	r.Out.Add(r.statusPage(ctx))
	r.Out.Add(check.AlertReceived(r.Cluster.Alerts(), "NoHealthyRegion", f, page))
	rounds := r.WaitRounds(ctx, 10, "ten LB health rounds with every region down")
	r.Out.Add(check.Seen("alert-storm-watched", rounds >= 10, float64(rounds), "watched %d LB health rounds with every region down after the alert (want 10)", rounds))
	// The incident ends: on-call hears it once, and nothing in between.
	h, err := r.Heal(ctx, heal)
	if err != nil {
		return fmt.Errorf("heal: %w", err)
	}
	_ = r.WaitIn(ctx, engine.MarkDeadline(r.LBFailbackBound(true)), regions[0])
	r.alertResolved(ctx, "NoHealthyRegion", f.Start, h, regions...)
	r.Out.Add(check.AlertOnce(r.Cluster.Alerts(), "NoHealthyRegion", f.Start, rounds))
	return nil
}

// checkTTL reads a new session back and compares its expiry with its last
// activity: both stamped by the region that wrote it, on one clock, during
// the create request, so the expiry lies within [TTL, TTL + that request's
// duration] of the activity.
func checkTTL(ctx context.Context, r *run) error {
	if err := r.Up(ctx, r.Env.Spec); err != nil {
		return err
	}
	id := fmt.Sprintf("s-ttl-%d", r.Spec.Seed)
	t0 := time.Now()
	tok := traffic.SessionToken(id)
	resp, err := httpPost(ctx, r.Cluster.LBURL()+"/v1/sessions", "", fmt.Sprintf(`{"user_id":"ttl","session_id":%q,"session_token":%q}`, id, tok))
	took := time.Since(t0)
	if err != nil {
		return err
	}
	var s struct {
		LastActiveAt time.Time `json:"last_active_at"`
		ExpiresAt    time.Time `json:"expires_at"`
	}
	a, gerr := httpDoH(ctx, http.MethodGet, r.Cluster.LBURL()+"/v1/sessions/"+id, "", map[string]string{traffic.SessionTokenHeader: tok})
	if gerr == nil && a.status != http.StatusOK {
		gerr = fmt.Errorf("GET session: %d %s", a.status, trim(a.body))
	}
	if gerr == nil {
		gerr = json.Unmarshal(a.body, &s)
	}
	got := s.ExpiresAt.Sub(s.LastActiveAt)
	want := r.Spec.SessionTTL
	const precision = time.Millisecond // the store keeps expiries in milliseconds
	ok := resp.status/100 == 2 && gerr == nil && got >= want-precision && got <= want+took+precision
	r.Out.Add(check.Safe("session-ttl", ok, got.Seconds(),
		"session expires %v after its last activity (both on the writing region's clock); configured TTL %v, within [TTL, TTL + the create request's %v] (create answered %d, read: %v)",
		got, want, bounds.Round(took), resp.status, gerr))
	return nil
}

// statusPage checks what clients see with no region left: 503 with the
// JSON error for API clients and an HTML page for browsers.
func (r *run) statusPage(ctx context.Context) check.Result {
	var jsonOK, htmlOK bool
	var last string
	_ = r.Wait(ctx, engine.MarkDeadline(r.DetectionBound()), "the LB's status page", func() bool {
		j, err := httpGet(ctx, r.Cluster.LBURL()+"/v1/sessions/none", "")
		if err != nil {
			return false
		}
		jsonOK = j.status == 503 && bytes.Contains(j.body, []byte("NO_HEALTHY_REGION"))
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.Cluster.LBURL()+"/", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		htmlOK = resp.StatusCode == 503 && strings.Contains(resp.Header.Get("Content-Type"), "text/html") && bytes.Contains(bytes.ToLower(b), []byte("<html"))
		last = fmt.Sprintf("json %d %s; html %d %s", j.status, trim(j.body), resp.StatusCode, resp.Header.Get("Content-Type"))
		return jsonOK && htmlOK
	})
	return check.Live("status-page-when-all-down", jsonOK && htmlOK, 0, "%s", last)
}

type answer struct {
	status int
	body   []byte
}

func httpDo(ctx context.Context, method, url, token, body string) (answer, error) {
	var hdr map[string]string
	if token != "" {
		hdr = map[string]string{"Authorization": "Bearer " + token}
	}
	return httpDoH(ctx, method, url, body, hdr)
}

// httpDoH is httpDo with any headers (a session's X-Session-Token).
func httpDoH(ctx context.Context, method, url, body string, hdr map[string]string) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return answer{resp.StatusCode, b}, err
}

// getJSON reads url into v; a non-2xx answer is an error.
func getJSON(ctx context.Context, url, token string, v any) error {
	a, err := httpGet(ctx, url, token)
	if err != nil {
		return err
	}
	if a.status/100 != 2 {
		return fmt.Errorf("GET %s: %d %s", url, a.status, trim(a.body))
	}
	return json.Unmarshal(a.body, v)
}

func httpGet(ctx context.Context, url, token string) (answer, error) {
	return httpDo(ctx, http.MethodGet, url, token, "")
}

func httpPost(ctx context.Context, url, token, body string) (answer, error) {
	return httpDo(ctx, http.MethodPost, url, token, body)
}

func trim(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
