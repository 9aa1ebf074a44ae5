package server

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/redis/go-redis/v9"

	"github.com/agentops/failover-harness/runtime/alert"
	"github.com/agentops/failover-harness/runtime/cache"
	"github.com/agentops/failover-harness/runtime/failover"
	"github.com/agentops/failover-harness/runtime/needtool"
	"github.com/agentops/failover-harness/runtime/region"
)

// promtoolPath finds promtool; without it the test is skipped, unless CI is
// set, where a missing promtool is a setup error.
func promtoolPath(t *testing.T) string {
	t.Helper()
	return needtool.Path(t, "Debian: apt-get install prometheus", "promtool")
}

// A region runtime's /metrics, wired as agent-runtime wires it (every
// optional part present) and with every family holding series, passes
// `promtool check metrics`, and carries the names the harness reads
// (docs/ARCHITECTURE.md), each series with the region label.
func TestMetricsPassPromtool(t *testing.T) {
	promtool := promtoolPath(t)
	e := newEnv(t)
	n := e.node(t, regionOpts{}) // store, replicator and agent, as the other tests build them

	const self = "us-east-1"
	hook := newHTTPServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})) // the alert webhook: 200
	defer hook.Close()
	router, err := region.NewRouter(region.Config{
		Regions: []region.Region{
			{Name: self, Endpoint: n.http.URL, Weight: 50},
			{Name: "eu-west-1", Endpoint: "http://127.0.0.1:1", Weight: 30, Priority: 1},
		},
		Self: self, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	sender := alert.NewSender(hook.URL, nil, "agent-runtime/"+self)
	fm, err := failover.New(failover.Config{Router: router, Self: self, Interval: time.Hour, Alert: sender, Flusher: n.svc})
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: e.redisAddr})
	defer rdb.Close()
	srv, err := New(Config{
		Region: self, Agent: n.svc, Store: n.store, StoreStats: n.store.Stats, Cache: cache.New(rdb, self, time.Minute, nil),
		Replicator: n.repl, Router: router, Failover: fm, Alert: sender, AdminToken: adminToken,
		HealthTimeout: time.Second, Logger: discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := newHTTPServer(srv.Handler())
	defer hs.Close()
	u := hs.URL

	// Traffic that puts series in every family.
	auth := []string{"Authorization", "Bearer " + adminToken}
	expect(t, do(t, "POST", u+"/v1/sessions", `{"user_id":"u","session_id":"s","session_token":"tok-0123456789abcdef"}`), 201, "")
	expect(t, do(t, "POST", u+"/v1/sessions/s/messages", `{"message_id":"m1","content":"hello"}`, owner...), 200, "")
	expect(t, do(t, "POST", u+"/v1/sessions/s/messages", `{"message_id":"m1","content":"hello"}`, owner...), 200, "")
	expect(t, do(t, "POST", u+"/v1/sessions/s/messages", `{"message_id":"m2","content":"hello"}`, owner...), 200, "")
	expect(t, do(t, "POST", u+"/v1/sessions/s/messages", `{"message_id":`, owner...), 400, "BAD_REQUEST")
	expect(t, do(t, "POST", u+"/cache/warmup", `{"from":"eu-west-1","entries":[]}`), 401, "BAD_SIGNATURE")
	expect(t, do(t, "POST", u+"/regions/failover", `{"target":"eu-west-1","reason":"promtool test"}`, auth...), 200, "")
	if err := sender.Fire(context.Background(), "PromtoolTest", "test alert", nil); err != nil {
		t.Fatal(err)
	}

	m := do(t, "GET", u+"/metrics", "")
	expect(t, m, 200, "")
	if ct := m.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", ct)
	}

	var p expfmt.TextParser
	mfs, err := p.TextToMetricFamilies(strings.NewReader(m.raw))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, m.raw)
	}
	// name -> type and label (besides region) the harness relies on.
	for name, want := range map[string][2]string{
		"agent_messages_total":             {"COUNTER", "outcome"},
		"agent_cache_hits_total":           {"COUNTER", ""},
		"agent_cache_misses_total":         {"COUNTER", ""},
		"cache_warmup_received_total":      {"COUNTER", ""},
		"cache_warmup_rejected_total":      {"COUNTER", "reason"},
		"cache_warmup_pulled_total":        {"COUNTER", ""},
		"store_conflicts_total":            {"COUNTER", ""},
		"store_overwritten_messages_total": {"COUNTER", ""},
		"store_checkpoints_total":          {"COUNTER", ""},
		"failover_total":                   {"COUNTER", "kind"},
		"alerts_sent_total":                {"COUNTER", ""},
		"http_requests_total":              {"COUNTER", "code"},
		"http_request_duration_seconds":    {"HISTOGRAM", "route"},
	} {
		mf := mfs[name]
		if mf == nil || len(mf.GetMetric()) == 0 {
			t.Errorf("%s: no series in\n%s", name, m.raw)
			continue
		}
		if got := mf.GetType().String(); got != want[0] {
			t.Errorf("%s: type %s, want %s", name, got, want[0])
		}
		for _, s := range mf.GetMetric() {
			lbl := map[string]string{}
			for _, lp := range s.GetLabel() {
				lbl[lp.GetName()] = lp.GetValue()
			}
			if want[1] != "" && lbl[want[1]] == "" {
				t.Errorf("%s %v: no label %s", name, lbl, want[1])
			}
		}
	}
	for name, mf := range mfs {
		for _, s := range mf.GetMetric() {
			found := false
			for _, lp := range s.GetLabel() {
				found = found || (lp.GetName() == "region" && lp.GetValue() == self)
			}
			if !found {
				t.Errorf("%s %v: no region=%q", name, s.GetLabel(), self)
			}
		}
	}
	for _, want := range []string{
		`failover_total{kind="manual",region="us-east-1"} 1`,
		`alerts_sent_total{region="us-east-1"} 1`,
		`agent_messages_total{outcome="duplicate",region="us-east-1"} 1`,
		`agent_messages_total{outcome="bad_request",region="us-east-1"} 1`,
		`cache_warmup_rejected_total{reason="bad_signature",region="us-east-1"} 1`,
	} {
		if !strings.Contains(m.raw, want+"\n") {
			t.Errorf("missing %q in\n%s", want, m.raw)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(m.raw)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n--- /metrics:\n%s", err, out, m.raw)
	}
	t.Logf("promtool check metrics: exit 0, output %q", out)
}
