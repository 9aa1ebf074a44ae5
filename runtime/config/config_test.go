package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fullYAML = `region: us-east-1
listen: 127.0.0.1:0
admin_token: secret
warmup_secret: secret2
dynamodb: {endpoint: http://127.0.0.1:8000, table: agent_sessions, aws_region: us-east-1, create_table: true}
redis: {addr: 127.0.0.1:6379}
regions:
  - {name: us-east-1, endpoint: http://127.0.0.1:9001, weight: 50, priority: 0}
  - {name: eu-west-1, endpoint: http://127.0.0.1:9002, weight: 30, priority: 1}
  - {name: ap-southeast-1, endpoint: http://127.0.0.1:9003, weight: 20, priority: 2}
checkpoint: {policy: on-ack, interval: 5s}
session: {ttl: 1h, max_messages: 50}
conflict_strategy: version-wins
health: {interval: 10s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 3}
failover: {auto: true}
cache: {ttl: 10m, staleness: 30s, replicate: true, warm_on_start: true}
model: {latency: 0s}
alert: {webhook: ""}
`

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadArchitectureExample(t *testing.T) {
	c, err := Load(writeFile(t, fullYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "us-east-1" || len(c.Regions) != 3 || c.Regions[1].Weight != 30 || !c.DynamoDB.CreateTable {
		t.Fatalf("decoded wrongly: %+v", c)
	}
	if c.Checkpoint.Interval != 5*time.Second || c.Session.TTL != time.Hour || c.Cache.Staleness != 30*time.Second {
		t.Fatalf("durations: %+v", c)
	}
}

func TestDefaultsPerSpec(t *testing.T) {
	c, err := Load("", []string{"--region", "r1", "--admin-token", "t", "--warmup-secret", "s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Session.TTL != time.Hour || c.Session.MaxMessages != 50 || c.Checkpoint.Policy != PolicyOnAck ||
		c.ConflictStrategy != StrategyVersionWins || c.Cache.Staleness != 30*time.Second || !c.Failover.Auto {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFlagsOverrideYAMLOnlyWhenSet(t *testing.T) {
	c, err := Load(writeFile(t, fullYAML), []string{
		"--checkpoint-policy", "periodic", "--checkpoint-interval", "300ms", "--listen", "127.0.0.1:9999",
		"--auto-failover=false", "--max-messages", "10", "--model-latency", "5ms",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Checkpoint.Policy != PolicyPeriodic || c.Checkpoint.Interval != 300*time.Millisecond ||
		c.Listen != "127.0.0.1:9999" || c.Failover.Auto || c.Session.MaxMessages != 10 || c.Model.Latency != 5*time.Millisecond {
		t.Fatalf("overrides not applied: %+v", c)
	}
	// Flags not given keep the YAML value, not the flag default.
	if c.Redis.Addr != "127.0.0.1:6379" || c.DynamoDB.Endpoint != "http://127.0.0.1:8000" {
		t.Fatalf("unset flags clobbered YAML: %+v", c)
	}
}

func TestClockOffset(t *testing.T) {
	c, err := Parse([]byte(fullYAML + "clock_offset: -5s\n"))
	if err != nil || c.ClockOffset != -5*time.Second {
		t.Fatalf("clock_offset -5s: %v %v", c.ClockOffset, err)
	}
	c, err = Load(writeFile(t, fullYAML+"clock_offset: -5s\n"), []string{"--clock-offset", "5s"})
	if err != nil || c.ClockOffset != 5*time.Second {
		t.Fatalf("--clock-offset must override YAML: %v %v", c.ClockOffset, err)
	}
	if d, _ := Load(writeFile(t, fullYAML), nil); d.ClockOffset != 0 {
		t.Fatalf("default clock_offset = %v, want 0", d.ClockOffset)
	}
	if _, err := Load(writeFile(t, fullYAML), []string{"--clock-offset", "-24h"}); err != nil {
		t.Fatalf("-24h is within bounds: %v", err)
	}
	if _, err := Load(writeFile(t, fullYAML), []string{"--clock-offset", "48h"}); err == nil || !strings.Contains(err.Error(), "clock_offset:") {
		t.Fatalf("--clock-offset 48h: %v, want an error naming clock_offset", err)
	}
	now := c.Clock()
	before := time.Now()
	got := now()
	after := time.Now()
	if got.Before(before.Add(5*time.Second)) || got.After(after.Add(5*time.Second)) {
		t.Fatalf("Clock() = %v, want time.Now()+5s (between %v and %v)", got, before.Add(5*time.Second), after.Add(5*time.Second))
	}
}

func TestConfigFlagNamesFile(t *testing.T) {
	p := writeFile(t, fullYAML)
	c, err := Load("", []string{"--config", p})
	if err != nil || c.Region != "us-east-1" {
		t.Fatalf("--config: %v %+v", err, c)
	}
}

func TestHelp(t *testing.T) {
	if _, err := Load("", []string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("want ErrHelp, got %v", err)
	}
}

func TestValidationNamesField(t *testing.T) {
	cases := []struct{ edit, want string }{
		{"checkpoint: {policy: sometimes, interval: 5s}", "checkpoint.policy: must be one of on-ack, periodic, on-mutation"},
		{"regions:\n  - {name: us-east-1, endpoint: http://a:1, weight: 1}\n  - {name: b, endpoint: http://b:1, weight: -1}", "regions[1].weight: must be >= 0"},
		{"regions:\n  - {name: us-east-1, endpoint: nope}", "regions[0].endpoint:"},
		{"regions:\n  - {name: x, endpoint: http://x:1}", "regions: must include this region"},
		{"conflict_strategy: first-wins", "conflict_strategy: must be one of"},
		{"session: {ttl: 0s, max_messages: 50}", "session.ttl: must be > 0"},
		{"health: {interval: 1s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 3}", "health.timeout: must be <="},
		{"health: {interval: 10s, timeout: 2s, healthy_threshold: 0, unhealthy_threshold: 11}", "health.unhealthy_threshold: must be between 1 and 10"},
		{"alert: {webhook: 'ftp://x'}", "alert.webhook: must be an http(s) URL"},
		{"listen: nocolon", "listen: must be host:port"},
		{"clock_offset: 25h", "clock_offset: 25h0m0s must be within ±24h0m0s"},
		{"clock_offset: -24h1s", "clock_offset: -24h0m1s must be within ±24h0m0s"},
	}
	for _, tc := range cases {
		_, err := Parse([]byte(replaceKey(fullYAML, tc.edit)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("edit %q: want error containing %q, got %v", tc.edit, tc.want, err)
		}
	}
}

// replaceKey swaps the top-level key that edit starts with (and its
// indented continuation lines) for edit, keeping the rest valid.
func replaceKey(doc, edit string) string {
	key := edit[:strings.Index(edit, ":")+1]
	var out []string
	skipping := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, key) {
			skipping = true
			continue
		}
		if skipping && strings.HasPrefix(line, " ") {
			continue
		}
		skipping = false
		out = append(out, line)
	}
	return strings.Join(out, "\n") + edit + "\n"
}

func TestUnknownFieldRejected(t *testing.T) {
	_, err := Parse([]byte(fullYAML + "cheakpoint: {policy: on-ack}\n"))
	if err == nil || !strings.Contains(err.Error(), "cheakpoint") {
		t.Fatalf("unknown key accepted: %v", err)
	}
	_, err = Parse([]byte("region: a\nsession: {ttl: 1h, max_msgs: 3}\n"))
	if err == nil || !strings.Contains(err.Error(), "max_msgs") {
		t.Fatalf("unknown nested key accepted: %v", err)
	}
}

func TestBadFlagValueNamesFlag(t *testing.T) {
	_, err := Load("", []string{"--session-ttl", "soon"})
	if err == nil || !strings.Contains(err.Error(), "session-ttl") {
		t.Fatalf("got %v", err)
	}
	_, err = Load("", []string{"--region", "r", "--admin-token", "t", "--warmup-secret", "s", "--checkpoint-policy", "never"})
	if err == nil || !strings.Contains(err.Error(), "checkpoint.policy") {
		t.Fatalf("got %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(fullYAML))
	f.Add([]byte("region: a\nadmin_token: t\nwarmup_secret: s\n"))
	f.Add([]byte("checkpoint: {policy: periodic, interval: -1s}\n"))
	f.Add([]byte("regions: [{name: a, weight: -3}]\n"))
	f.Add([]byte("session: {ttl: 99999999h}\n"))
	f.Add([]byte("- just\n- a list\n"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever got through validation must satisfy its invariants.
		if c.Region == "" || c.Session.TTL <= 0 || c.Checkpoint.Interval <= 0 || c.Session.MaxMessages < 2 {
			t.Fatalf("invalid config accepted: %+v", c)
		}
		for i, r := range c.Regions {
			if r.Weight < 0 || r.Name == "" {
				t.Fatalf("regions[%d] invalid but accepted: %+v", i, r)
			}
		}
	})
}
