package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/cache/redistest"
	"github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/store"
	"github.com/agentops/failover-harness/runtime/store/dynamotest"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHelpAndBadValues(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "-checkpoint-policy") {
		t.Fatalf("--help: code %d out %q", code, out.String())
	}
	cases := map[string][]string{
		"checkpoint.policy: must be one of on-ack, periodic, on-mutation": {"--region", "r", "--admin-token", "t", "--warmup-secret", "s", "--checkpoint-policy", "never"},
		"session-ttl":      {"--session-ttl", "forever"},
		"region: required": {"--admin-token", "t", "--warmup-secret", "s"},
	}
	for want, args := range cases {
		errb.Reset()
		if code := run(context.Background(), args, io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), want) {
			t.Errorf("%v: code %d stderr %q, want exit 2 naming %q", args, code, errb.String(), want)
		}
	}
}

func TestServeReadyAdminAndGracefulStop(t *testing.T) {
	ep := dynamotest.Endpoint(t)
	raddr := redistest.ForTest(t)
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	yaml := fmt.Sprintf(`region: us-east-1
listen: 127.0.0.1:0
admin_token: tok
warmup_secret: sec
dynamodb: {endpoint: %s, table: bin_sessions, aws_region: us-east-1, create_table: true}
redis: {addr: %s}
checkpoint: {policy: periodic, interval: 1h}
health: {interval: 1h, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 1}
cache: {ttl: 1m, staleness: 30s, replicate: true, warm_on_start: true}
`, ep, raddr)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"--config", cfgPath}, pw, logs)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("no READY line; logs:\n%s", logs.String())
	}
	line := sc.Text()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	addr, ok := strings.CutPrefix(line, "READY region=us-east-1 addr=")
	if !ok || strings.HasSuffix(addr, ":0") {
		t.Fatalf("READY line %q", line)
	}
	base := "http://" + addr
	call := func(method, path, body string, auth bool) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "Bearer tok")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		if res.Header.Get("X-Served-By") != "us-east-1" {
			t.Fatalf("%s %s: X-Served-By %q", method, path, res.Header.Get("X-Served-By"))
		}
		return res.StatusCode, m
	}
	if code, m := call("GET", "/health", "", false); code != 200 || m["status"] != "active" {
		t.Fatalf("health %d %v", code, m)
	}
	if code, _ := call("POST", "/v1/sessions", `{"user_id":"u","session_id":"s1"}`, false); code != 201 {
		t.Fatalf("create %d", code)
	}
	code, m := call("POST", "/v1/sessions/s1/messages", `{"message_id":"m1","content":"hi"}`, false)
	if code != 200 || m["durable"] != false {
		t.Fatalf("periodic message %d %v", code, m)
	}
	if code, m := call("GET", "/regions", "", true); code != 200 || m["current"] != "us-east-1" {
		t.Fatalf("regions %d %v", code, m)
	}
	if code, m := call("GET", "/regions/failover/dry-run", "", true); code != 200 || m["current"] != "us-east-1" {
		t.Fatalf("dry-run %d %v", code, m)
	}
	if code, _ := call("POST", "/regions/health-check", "", true); code != 200 {
		t.Fatalf("health-check %d", code)
	}
	if code, m := call("POST", "/regions/failover", `{"target":"us-east-1"}`, true); code != 409 || m["code"] != "FAILOVER_REJECTED" {
		t.Fatalf("failover to self %d %v", code, m)
	}
	if code, m := call("GET", "/regions/failover/history", "", true); code != 200 || m["history"] == nil {
		t.Fatalf("history %d %v", code, m)
	}

	cancel() // what SIGTERM does via signal.NotifyContext
	select {
	case c := <-exit:
		if c != 0 {
			t.Fatalf("exit %d; logs:\n%s", c, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no graceful stop")
	}
	// The periodic (non-durable) message was flushed on the way out.
	st, err := store.NewDynamo(context.Background(), store.DynamoConfig{Endpoint: ep, Table: "bin_sessions"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := st.Get(context.Background(), "s1")
	if err != nil || len(sess.Messages) != 2 || sess.Version != 2 {
		t.Fatalf("final flush: %+v %v", sess, err)
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("logs not JSON/slog:\n%s", logs.String())
	}
}

// A table that does not exist is a configuration error named at start, not
// a stream of 500s later.
func TestMissingTableFailsAtStart(t *testing.T) {
	ep := dynamotest.Endpoint(t)
	var errb bytes.Buffer
	args := []string{"--region", "us-east-1", "--listen", "127.0.0.1:0", "--admin-token", "t", "--warmup-secret", "s",
		"--dynamodb-endpoint", ep, "--dynamodb-table", "no_such_table", "--redis-addr", ""}
	code := run(context.Background(), args, io.Discard, &errb)
	if code != 1 || !strings.Contains(errb.String(), `dynamodb.table: table \"no_such_table\" does not exist`) {
		t.Fatalf("code %d, stderr %q; want exit 1 naming dynamodb.table", code, errb.String())
	}
}

// A region started with --clock-offset 5s reads every wall time 5 s ahead:
// the store writes its expiry and lastActiveAt, and the agent its message
// timestamps, from the one skewed clock.
func TestClockOffsetSkewsWrites(t *testing.T) {
	ep := dynamotest.Endpoint(t)
	const ttl = time.Hour
	table := fmt.Sprintf("skewed_%d", time.Now().UnixNano()) // fresh even on a shared $DYNAMODB_ENDPOINT
	args := []string{"--region", "us-east-1", "--listen", "127.0.0.1:0", "--admin-token", "t", "--warmup-secret", "s",
		"--dynamodb-endpoint", ep, "--dynamodb-table", table, "--dynamodb-create-table", "--redis-addr", "",
		"--session-ttl", ttl.String(), "--clock-offset", "5s"}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, args, pw, logs)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exit:
		case <-time.After(15 * time.Second):
			t.Error("no graceful stop")
		}
	})
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("no READY line; logs:\n%s", logs.String())
	}
	addr, _ := strings.CutPrefix(sc.Text(), "READY region=us-east-1 addr=")
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	post := func(path, body string) {
		res, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d", path, res.StatusCode)
		}
	}
	before := time.Now()
	post("/v1/sessions", `{"user_id":"u","session_id":"s1"}`)
	post("/v1/sessions/s1/messages", `{"message_id":"m1","content":"hi"}`)
	after := time.Now()

	st, err := store.NewDynamo(context.Background(), store.DynamoConfig{Endpoint: ep, Table: table, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := st.Get(context.Background(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	const off = 5 * time.Second
	within := func(what string, got, lo, hi time.Time) {
		t.Helper()
		if got.Before(lo.Truncate(time.Millisecond)) || got.After(hi) {
			t.Errorf("%s = %s, want between %s and %s (5 s ahead)", what, got.Format(time.RFC3339Nano), lo.Format(time.RFC3339Nano), hi.Format(time.RFC3339Nano))
		}
	}
	within("lastActiveAt", sess.LastActiveAt, before.Add(off), after.Add(off))
	within("expiresAt", sess.ExpiresAt, before.Add(off+ttl), after.Add(off+ttl))
	if len(sess.Messages) != 2 {
		t.Fatalf("messages: %+v", sess.Messages)
	}
	within("message timestamp", sess.Messages[0].Timestamp, before.Add(off), after.Add(off))
}

// --help lists exactly the flags agent-runtime takes, every one it has
// always taken among them, each with the YAML key it overrides.
func TestHelpListsEveryFlagTruthfully(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, io.Discard); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "  --"); ok {
			name := strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == '[' })[0]
			listed[name] = true
		}
	}
	fs := config.Flags().FlagSet()
	fs.VisitAll(func(f *flag.Flag) {
		if !listed[f.Name] {
			t.Errorf("flag --%s not in --help", f.Name)
		}
	})
	for name := range listed {
		if fs.Lookup(name) == nil {
			t.Errorf("--help lists --%s, which is not a flag", name)
		}
	}
	for _, name := range []string{
		"config", "region", "listen", "admin-token", "warmup-secret", "dynamodb-endpoint", "dynamodb-table", "dynamodb-create-table",
		"redis-addr", "checkpoint-policy", "checkpoint-interval", "session-ttl", "max-messages", "conflict-strategy",
		"health-interval", "health-timeout", "healthy-threshold", "unhealthy-threshold", "auto-failover", "cache-ttl",
		"warmup-staleness", "replicate", "warm-on-start", "model-latency", "alert-webhook", "shutdown-timeout", "clock-offset",
	} {
		if !listed[name] {
			t.Errorf("--%s is gone", name)
		}
	}
	if !strings.Contains(out.String(), "--session-ttl duration    [yaml: session.ttl]") {
		t.Errorf("flags do not name their YAML key:\n%s", out.String())
	}
}
