package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
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

	"github.com/agentops/failover-harness/runtime/cache"
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
		"checkpoint.policy: must be one of on-ack, periodic, on-mutation": {"--region", "r", "--admin-token", "t", "--warmup-key", testSeed, "--checkpoint-policy", "never"},
		"session-ttl":      {"--session-ttl", "forever"},
		"region: required": {"--admin-token", "t", "--warmup-key", testSeed},
		"warmup_secret: replaced by warmup_key and regions[].warmup_public_key (peer protocol v2)": {"--region", "r", "--admin-token", "t", "--warmup-secret", "s"},
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
warmup_key: %s
dynamodb: {endpoint: %s, table: bin_sessions, aws_region: us-east-1, create_table: true}
redis: {addr: %s}
checkpoint: {policy: periodic, interval: 1h}
health: {interval: 1h, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 1}
cache: {ttl: 1m, staleness: 30s, replicate: true, warm_on_start: true}
`, testSeed, ep, raddr)
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
		req.Header.Set("X-Session-Token", testSessionToken)
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
	if code, _ := call("POST", "/v1/sessions", `{"user_id":"u","session_id":"s1","session_token":"`+testSessionToken+`"}`, false); code != 201 {
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
	args := []string{"--region", "us-east-1", "--listen", "127.0.0.1:0", "--admin-token", "t", "--warmup-key", testSeed,
		"--dynamodb-endpoint", ep, "--dynamodb-table", "no_such_table", "--redis-addr", ""}
	code := run(context.Background(), args, io.Discard, &errb)
	if code != 1 || !strings.Contains(errb.String(), `dynamodb.table: table \"no_such_table\" does not exist`) {
		t.Fatalf("code %d, stderr %q; want exit 1 naming dynamodb.table", code, errb.String())
	}
}

// A region started with --clock-offset 5s reads every wall time 5 s ahead:
// the store writes its expiry and lastActiveAt, and the agent its message
// timestamps, from the one skewed clock. (Expiry is on the region's clock
// only with --expiry-clock region; by default it is on the store's clock,
// which TestStoreClockAgreesOnExpiryAcrossSkewedRegions in runtime/store covers.)
func TestClockOffsetSkewsWrites(t *testing.T) {
	ep := dynamotest.Endpoint(t)
	const ttl = time.Hour
	table := fmt.Sprintf("skewed_%d", time.Now().UnixNano()) // fresh even on a shared $DYNAMODB_ENDPOINT
	args := []string{"--region", "us-east-1", "--listen", "127.0.0.1:0", "--admin-token", "t", "--warmup-key", testSeed,
		"--dynamodb-endpoint", ep, "--dynamodb-table", table, "--dynamodb-create-table", "--redis-addr", "",
		"--session-ttl", ttl.String(), "--clock-offset", "5s", "--expiry-clock", "region"}
	addr, _ := startRuntime(t, args)
	post := func(path, body string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("X-Session-Token", testSessionToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d", path, res.StatusCode)
		}
	}
	before := time.Now()
	post("/v1/sessions", `{"user_id":"u","session_id":"s1","session_token":"`+testSessionToken+`"}`)
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
		"config", "region", "listen", "admin-token", "warmup-key", "warmup-secret", "dynamodb-endpoint", "dynamodb-table", "dynamodb-create-table",
		"redis-addr", "checkpoint-policy", "checkpoint-interval", "session-ttl", "max-messages", "conflict-strategy",
		"health-interval", "health-timeout", "healthy-threshold", "unhealthy-threshold", "auto-failover", "cache-ttl",
		"warmup-staleness", "replicate", "warm-on-start", "cache-replay-window", "cache-nonce-cache-size", "model-latency", "alert-webhook", "shutdown-timeout", "clock-offset",
	} {
		if !listed[name] {
			t.Errorf("--%s is gone", name)
		}
	}
	if !strings.Contains(out.String(), "--session-ttl duration    [yaml: session.ttl]") {
		t.Errorf("flags do not name their YAML key:\n%s", out.String())
	}
}

// testSeed is this region's warmup_key in these tests (RFC 8032 §7.1
// test 1); peerSeed another region's (test 2).
const (
	testSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	peerSeed = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
)

// The binary wires peer protocol v2 from its config: warmups signed with
// the sender's key from regions[].warmup_public_key are accepted, a replay
// is refused and shows in cache_warmup_rejected_total{reason="replayed"},
// and a region the config lists without being the signer is refused.
func TestPeerWarmupSignedPerRegion(t *testing.T) {
	ep := dynamotest.Endpoint(t)
	raddr := redistest.ForTest(t)
	self, err := hex.DecodeString(testSeed)
	if err != nil {
		t.Fatal(err)
	}
	selfKeys, _ := config.WarmupKeyPairFromSeed(self)
	ps, _ := hex.DecodeString(peerSeed)
	peerKeys, _ := config.WarmupKeyPairFromSeed(ps)
	third := config.NewWarmupKeys("ap-southeast-1")["ap-southeast-1"]
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	// Peers' endpoints lead nowhere: the start-up pull fails fast and the
	// region serves cold, which is what this test wants.
	yaml := fmt.Sprintf(`region: us-east-1
listen: 127.0.0.1:0
admin_token: tok
warmup_key: %s
dynamodb: {endpoint: %s, table: peer_sessions, aws_region: us-east-1, create_table: true}
redis: {addr: %s}
regions:
  - {name: us-east-1, endpoint: "http://127.0.0.1:1", weight: 1, warmup_public_key: %s}
  - {name: eu-west-1, endpoint: "http://127.0.0.1:1", weight: 1, warmup_public_key: %s}
  - {name: ap-southeast-1, endpoint: "http://127.0.0.1:1", weight: 1, warmup_public_key: %s}
health: {interval: 1h, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 1}
cache: {ttl: 1m, staleness: 30s, replicate: true, warm_on_start: true, replay_window: 1m}
`, testSeed, ep, raddr, selfKeys.Public, peerKeys.Public, third.Public)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, logs := startRuntime(t, []string{"--config", cfgPath})

	key := ed25519.NewKeyFromSeed(ps)
	body := []byte(`{"from":"eu-west-1","entries":[{"key":"respcache:m:k","value":"{\"content\":\"v\"}","age_ms":5,"ttl_ms":60000}]}`)
	h := http.Header{}
	cache.SignHeaders(h, key, cache.Envelope{Method: "POST", Path: cache.WarmupPath, From: "eu-west-1", To: "us-east-1",
		TimestampMs: time.Now().UnixMilli(), Nonce: cache.NewNonce()}, body)
	post := func(h http.Header, body []byte) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+addr+cache.WarmupPath, bytes.NewReader(body))
		req.Header = h
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		code, _ := m["code"].(string)
		return res.StatusCode, code
	}
	if code, ec := post(h, body); code != 200 {
		t.Fatalf("warmup signed by eu-west-1: %d %s; logs:\n%s", code, ec, logs.String())
	}
	if code, ec := post(h, body); code != 401 || ec != "REPLAYED" {
		t.Fatalf("replayed warmup: %d %s", code, ec)
	}
	// eu-west-1's key cannot sign for ap-southeast-1.
	asAP := h.Clone()
	cache.SignHeaders(asAP, key, cache.Envelope{Method: "POST", Path: cache.WarmupPath, From: "ap-southeast-1", To: "us-east-1",
		TimestampMs: time.Now().UnixMilli(), Nonce: cache.NewNonce()}, body)
	if code, ec := post(asAP, body); code != 401 || ec != "BAD_SIGNATURE" {
		t.Fatalf("eu-west-1 signing as ap-southeast-1: %d %s", code, ec)
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	m, _ := io.ReadAll(res.Body)
	for _, want := range []string{
		`cache_warmup_received_total{region="us-east-1"} 1`,
		`cache_warmup_rejected_total{reason="replayed",region="us-east-1"} 1`,
		`cache_warmup_rejected_total{reason="bad_signature",region="us-east-1"} 1`,
		`cache_warmup_rejected_total{reason="sender_mismatch",region="us-east-1"} 0`,
		`cache_warmup_rejected_total{reason="replay_cache_full",region="us-east-1"} 0`,
		`cache_warmup_rejected_total{reason="bad_answer",region="us-east-1"} 0`,
		`cache_warmup_rejected_total{reason="poisoned",region="us-east-1"} 0`,
	} {
		if !strings.Contains(string(m), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// startRuntime runs the binary's run() in-process with args until the test
// ends (a graceful stop within 15 s is required) and returns the address of
// its READY line and its logs.
func startRuntime(t *testing.T, args []string) (string, *syncBuffer) {
	t.Helper()
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
	return addr, logs
}

// testSessionToken owns the sessions these tests create.
const testSessionToken = "main-test-session-token"
