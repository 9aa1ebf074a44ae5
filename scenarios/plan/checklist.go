package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/traffic"
)

// Checklist is the article's production checklist as specs (label checklist).
func Checklist() []Row {
	return []Row{
		{Label: "checklist", Spec: "at least two regions are healthy and in the LB's rotation",
			Expected: ">= 2 regions healthy", body: checkRegionsHealthy},
		{Label: "checklist", Spec: "with every region healthy, traffic splits by the configured weights",
			Expected: "weighted routing 50/30/20 within tolerance", body: checkWeights},
		{Label: "checklist", Spec: "failover is exercised dry-run, then manual, then automatic, and each is in the admin API's history",
			Expected: "dry run changes nothing; manual and automatic failovers recorded in /regions/failover/history", body: checkFailoverModes},
		{Label: "checklist", Spec: "when no healthy region remains, on-call gets exactly one alert",
			Expected: "one Alertmanager alert, no storm", body: checkAlertNoHealthy},
		{Label: "checklist", Spec: "sessions carry the configured TTL",
			Expected: "expires_at = now + session TTL", body: checkTTL},
	}
}

func checkRegionsHealthy(ctx context.Context, r *run) error {
	if err := r.up(ctx, r.env.Spec); err != nil {
		return err
	}
	st, err := r.lbStatus(ctx)
	if err != nil {
		return err
	}
	in := 0
	for _, reg := range st.Regions {
		if reg.InRotation {
			in++
		}
	}
	r.out.add(passIf("regions-in-rotation", in >= 2, float64(in), "%d of %d regions in the LB's rotation", in, len(st.Regions)))
	healthy := 0
	for _, reg := range r.c.Regions() {
		resp, err := httpGet(ctx, reg.URL+"/health", "")
		if err == nil && resp.status == 200 {
			healthy++
		}
	}
	r.out.add(passIf("regions-healthy", healthy >= 2, float64(healthy), "%d regions answer /health with 200", healthy))
	r.finish(time.Time{})
	return nil
}

func checkWeights(ctx context.Context, r *run) error {
	if err := r.up(ctx, r.env.Spec); err != nil {
		return err
	}
	cl := traffic.NewClient(traffic.Config{LBURL: r.c.LBURL(), RequestTimeout: 2 * time.Second}, r.h)
	const n = 400 // bounded: one PutItem each
	for i := 0; i < n && ctx.Err() == nil; i++ {
		cl.CreateSession(ctx, history.KindCreate, fmt.Sprintf("w%d", i), "", fmt.Sprintf("s-w-%d-%d", r.spec.Seed, i))
	}
	weights := map[string]int{}
	for _, reg := range r.spec.Regions {
		weights[reg.Name] = reg.Weight
	}
	r.out.add(check.WeightSplit(r.h.Ops(), weights, 0.08))
	r.finish(time.Time{})
	return nil
}

func checkFailoverModes(ctx context.Context, r *run) error {
	if err := r.up(ctx, r.env.Spec); err != nil {
		return err
	}
	a, b, c := regionNames(r.spec)
	var bURL string
	for _, reg := range r.c.Regions() {
		if reg.Name == b {
			bURL = reg.URL
		}
	}
	tok := r.c.AdminToken()
	// Admin endpoints refuse callers without the token.
	if resp, err := httpGet(ctx, bURL+"/regions/failover/history", ""); err == nil {
		r.out.add(passIf("admin-requires-token", resp.status == 401, float64(resp.status), "history without a token answered %d", resp.status))
	}
	// 1. dry run: says what would happen, changes nothing.
	var plan struct {
		Current       string `json:"current"`
		WouldFailover bool   `json:"would_failover"`
	}
	resp, err := httpGet(ctx, bURL+"/regions/failover/dry-run", tok)
	if err != nil {
		return err
	}
	_ = json.Unmarshal(resp.body, &plan)
	r.out.add(passIf("dry-run", resp.status == 200 && plan.Current == a && !plan.WouldFailover, 0,
		"dry run answered %d: current %q, would fail over %v (want %s, false)", resp.status, plan.Current, plan.WouldFailover, a))
	// 2. manual failover to C, then back to A.
	for _, target := range []string{c, a} {
		resp, err := httpPost(ctx, bURL+"/regions/failover", tok, fmt.Sprintf(`{"target":%q,"reason":"checklist drill"}`, target))
		if err != nil {
			return err
		}
		r.out.add(passIf("manual-failover-to-"+target, resp.status == 200, float64(resp.status), "manual failover to %s answered %d %s", target, resp.status, trim(resp.body)))
	}
	// 3. automatic: the primary stops answering; B's manager fails over by itself.
	faultStart := time.Now()
	if _, err := r.inject(ctx, fault.Pause{Region: a}); err != nil {
		return err
	}
	var events []struct {
		Kind string `json:"kind"`
		From string `json:"from"`
		To   string `json:"to"`
	}
	bnd := r.spec.RegionHealthInterval*time.Duration(3) + r.spec.RegionHealthTimeout
	// Bounded: a manager that checks too rarely to notice within 15 s fails here.
	_ = r.wait(ctx, min(10*bnd+3*time.Second, 15*time.Second), "an automatic failover in "+b+"'s history", func() bool {
		resp, err := httpGet(ctx, bURL+"/regions/failover/history", tok)
		if err != nil || resp.status != 200 {
			return false
		}
		events = nil
		var wrapped struct {
			History json.RawMessage `json:"history"`
		}
		body := resp.body
		if json.Unmarshal(body, &wrapped) == nil && len(wrapped.History) > 0 {
			body = wrapped.History
		}
		_ = json.Unmarshal(body, &events)
		for _, e := range events {
			if e.Kind == "auto" && e.From == a {
				return true
			}
		}
		return false
	})
	manual, auto := 0, 0
	for _, e := range events {
		switch e.Kind {
		case "manual":
			manual++
		case "auto":
			if e.From == a {
				auto++
			}
		}
	}
	r.out.add(passIf("history-records-manual", manual >= 2, float64(manual), "%d manual failovers in %s's history", manual, b))
	r.out.add(passIf("history-records-automatic", auto >= 1, float64(auto), "%d automatic failovers away from %s in %s's history", auto, a, b))
	r.finish(faultStart)
	return nil
}

func checkAlertNoHealthy(ctx context.Context, r *run) error {
	if err := r.up(ctx, r.env.Spec); err != nil {
		return err
	}
	bnd := r.detectionBound()
	faultStart := time.Now()
	if _, err := r.inject(ctx, fault.RegionsDown{Regions: r.spec.RegionNames()}); err != nil {
		return err
	}
	_ = r.wait(ctx, 4*bnd+3*time.Second, "an alert at the webhook", func() bool { return len(r.c.Alerts()) > 0 })
	r.out.add(r.statusPage(ctx))
	quiet := 10*r.spec.LBHealth.Interval + 500*time.Millisecond
	t0 := time.Now()
	_ = r.wait(ctx, quiet+time.Second, "alert quiet period", func() bool { return time.Since(t0) > quiet })
	r.out.add(check.AlertsOnce(r.c.Alerts(), "NoHealthyRegion"))
	r.finish(faultStart)
	return nil
}

func checkTTL(ctx context.Context, r *run) error {
	if err := r.up(ctx, r.env.Spec); err != nil {
		return err
	}
	before := time.Now()
	resp, err := httpPost(ctx, r.c.LBURL()+"/v1/sessions", "", fmt.Sprintf(`{"user_id":"ttl","session_id":"s-ttl-%d"}`, r.spec.Seed))
	if err != nil {
		return err
	}
	var s struct {
		ExpiresAt time.Time `json:"expires_at"`
	}
	_ = json.Unmarshal(resp.body, &s)
	got := s.ExpiresAt.Sub(before)
	want := r.spec.SessionTTL
	diff := got - want
	if diff < 0 {
		diff = -diff
	}
	r.out.add(passIf("session-ttl", resp.status/100 == 2 && diff < time.Second, got.Seconds(), "session expires %v after creation; configured TTL %v", got.Round(time.Millisecond), want))
	r.finish(time.Time{})
	return nil
}

// statusPage checks what clients see with no region left: 503 with the
// JSON error for API clients and an HTML page for browsers.
func (r *run) statusPage(ctx context.Context) check.Result {
	var jsonOK, htmlOK bool
	var last string
	_ = r.wait(ctx, 4*r.detectionBound()+2*time.Second, "the LB's status page", func() bool {
		j, err := httpGet(ctx, r.c.LBURL()+"/v1/sessions/none", "")
		if err != nil {
			return false
		}
		jsonOK = j.status == 503 && bytes.Contains(j.body, []byte("NO_HEALTHY_REGION"))
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.c.LBURL()+"/", nil)
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
	return passIf("status-page-when-all-down", jsonOK && htmlOK, 0, "%s", last)
}

type answer struct {
	status int
	body   []byte
}

func httpDo(ctx context.Context, method, url, token, body string) (answer, error) {
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
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return answer{resp.StatusCode, b}, err
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
