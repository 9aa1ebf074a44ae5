package docker

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/lb"
)

func testGates(spec topology.Spec) map[string]string {
	m := map[string]string{}
	for i, r := range spec.Regions {
		m[r.Name] = "172.18.0.1:" + string(rune('1'+i)) + "000"
	}
	return m
}

func TestPlanLinksCoversEveryLinkOnce(t *testing.T) {
	spec := topology.DefaultSpec()
	links := planLinks(spec, testGates(spec))
	want := map[string]bool{}
	for _, r := range spec.RegionNames() {
		for _, l := range topology.RegionLinks(spec, r) {
			want[l] = true
		}
	}
	got := map[string]bool{}
	ports := map[int]bool{}
	for _, l := range links {
		if got[l.Name] {
			t.Errorf("link %s planned twice", l.Name)
		}
		if ports[l.Port] {
			t.Errorf("port %d used twice", l.Port)
		}
		got[l.Name], ports[l.Port] = true, true
	}
	for l := range want {
		if !got[l] {
			t.Errorf("link %s missing", l)
		}
	}
	if len(got) != len(want) || len(links) != 15 {
		t.Errorf("planned %d links, want %d (15 for 3 regions)", len(links), len(want))
	}
	for _, l := range links {
		switch l.Name {
		case "us-east-1->dynamodb":
			if l.Upstream != "dynamodb:8000" {
				t.Errorf("%s upstream %s", l.Name, l.Upstream)
			}
		case "eu-west-1->redis":
			if l.Upstream != "redis-eu-west-1:6379" {
				t.Errorf("%s upstream %s", l.Name, l.Upstream)
			}
		case "us-east-1->ap-southeast-1":
			if l.Upstream != "runtime-ap-southeast-1:8080" {
				t.Errorf("%s upstream %s", l.Name, l.Upstream)
			}
		case "lb->eu-west-1":
			if l.Upstream != testGates(spec)["eu-west-1"] {
				t.Errorf("%s upstream %s, want the gate", l.Name, l.Upstream)
			}
		}
	}
}

// loadRuntime reads b as agent-runtime does (runtime/config.Load).
func loadRuntime(t *testing.T, b []byte) rtconfig.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "runtime.yaml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := rtconfig.Load(p, nil)
	if err != nil {
		t.Fatalf("agent-runtime would reject its config: %v\n%s", err, b)
	}
	return c
}

// loadLB reads b as global-lb does (runtime/lb.LoadConfig).
func loadLB(t *testing.T, b []byte) lb.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lb.yaml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := lb.LoadConfig(p)
	if err != nil {
		t.Fatalf("global-lb would reject its config: %v\n%s", err, b)
	}
	return c
}

func TestRuntimeYAMLRoutesThroughToxiproxy(t *testing.T) {
	spec := topology.DefaultSpec()
	spec.CheckpointPolicy = "periodic"
	spec.CheckpointInterval = 300 * time.Millisecond
	links := planLinks(spec, testGates(spec))
	sec := newSecrets(spec)
	b, err := runtimeYAML(spec, "eu-west-1", links, sec, alertDest{Webhook: "http://172.18.0.1:9/alerts"})
	if err != nil {
		t.Fatal(err)
	}
	c := loadRuntime(t, b)
	if c.Region != "eu-west-1" || c.Listen != "0.0.0.0:8080" || c.AdminToken != sec.AdminToken || c.WarmupKey != sec.WarmupKeys["eu-west-1"].Seed {
		t.Errorf("identity fields wrong: %+v", c)
	}
	// Each region's public key, its own included; no region shares one.
	pubs := map[string]bool{}
	for _, r := range c.Regions {
		if r.WarmupPublicKey != sec.WarmupKeys[r.Name].Public || pubs[r.WarmupPublicKey] {
			t.Errorf("regions[%s].warmup_public_key = %q", r.Name, r.WarmupPublicKey)
		}
		pubs[r.WarmupPublicKey] = true
	}
	if c.DynamoDB.Endpoint != "http://"+linkAddr(links, "eu-west-1->dynamodb") || !strings.HasPrefix(c.DynamoDB.Endpoint, "http://toxiproxy:") {
		t.Errorf("dynamodb.endpoint = %s", c.DynamoDB.Endpoint)
	}
	if c.Redis.Addr != linkAddr(links, "eu-west-1->redis") {
		t.Errorf("redis.addr = %s", c.Redis.Addr)
	}
	if c.Checkpoint.Policy != "periodic" || c.Checkpoint.Interval != 300*time.Millisecond {
		t.Errorf("checkpoint = %+v", c.Checkpoint)
	}
	if c.Alert.Webhook != "http://172.18.0.1:9/alerts" {
		t.Errorf("alert.webhook = %s", c.Alert.Webhook)
	}
	if len(c.Regions) != 3 {
		t.Fatalf("regions = %+v", c.Regions)
	}
	for _, r := range c.Regions {
		want := "http://" + linkAddr(links, "eu-west-1->"+r.Name)
		if r.Name == "eu-west-1" {
			want = "http://127.0.0.1:8080"
		}
		if r.Endpoint != want {
			t.Errorf("regions[%s].endpoint = %s, want %s", r.Name, r.Endpoint, want)
		}
	}
	// Durations must be Go duration strings, which the binaries parse.
	if !bytes.Contains(b, []byte("ttl: 1h0m0s")) {
		t.Errorf("session ttl not rendered as a duration string:\n%s", b)
	}
}

func TestLBYAMLUsesLBLinks(t *testing.T) {
	spec := topology.DefaultSpec()
	links := planLinks(spec, testGates(spec))
	b, err := lbYAML(spec, links, secrets{}, alertDest{})
	if err != nil {
		t.Fatal(err)
	}
	c := loadLB(t, b)
	if len(c.Regions) != 3 || c.Regions[0].Weight != 50 || c.Regions[0].URL != "http://"+linkAddr(links, "lb->us-east-1") {
		t.Errorf("regions = %+v", c.Regions)
	}
	if !c.Health.Enabled || c.Health.Interval != 100*time.Millisecond || c.Health.FailureThreshold != 2 || c.Health.Path != "/health" {
		t.Errorf("health = %+v", c.Health)
	}
	if c.Alert.Name != "NoHealthyRegion" {
		t.Errorf("alert = %+v", c.Alert)
	}
}

// What the provider builds is exactly what each binary loads back, valid:
// the config types are the binaries' own, so the two cannot drift.
func TestConfigsRoundTripThroughTheBinariesLoaders(t *testing.T) {
	spec := topology.DefaultSpec()
	spec.Regions[1].ClockOffset = -3 * time.Second
	spec.ModelLatency = 7 * time.Millisecond
	spec.Outlier.Enabled = false
	links := planLinks(spec, testGates(spec))
	sec := newSecrets(spec)
	for _, r := range spec.RegionNames() {
		want, err := runtimeConfig(spec, r, links, sec, alertDest{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := runtimeYAML(spec, r, links, sec, alertDest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := loadRuntime(t, b); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: loaded\n%+v\nwant\n%+v", r, got, want)
		}
	}
	if c, _ := runtimeConfig(spec, "eu-west-1", links, sec, alertDest{}); c.ClockOffset != -3*time.Second || c.Model.Latency != 7*time.Millisecond {
		t.Errorf("per-region settings lost: %+v", c)
	}
	want, err := lbConfig(spec, links, secrets{}, alertDest{Webhook: "http://172.18.0.1:9/lb"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := lbYAML(spec, links, secrets{}, alertDest{Webhook: "http://172.18.0.1:9/lb"})
	if err != nil {
		t.Fatal(err)
	}
	if got := loadLB(t, b); !reflect.DeepEqual(got, want) {
		t.Errorf("lb: loaded\n%+v\nwant\n%+v", got, want)
	}
	if want.Outlier.Enabled || want.Seed != spec.Seed || want.Health != spec.LBHealth || want.Retry != spec.Retry {
		t.Errorf("lb settings not the spec's: %+v", want)
	}
	// A spec the binaries would refuse is refused here, naming the field.
	bad := spec
	bad.Retry.Attempts = 11
	if _, err := lbYAML(bad, links, secrets{}, alertDest{}); err == nil || !strings.Contains(err.Error(), "retry.attempts") {
		t.Errorf("attempts 11: %v, want an error naming retry.attempts", err)
	}
	bad = spec
	bad.CheckpointPolicy = "sometimes"
	if _, err := runtimeYAML(bad, "us-east-1", links, sec, alertDest{}); err == nil || !strings.Contains(err.Error(), "checkpoint.policy") {
		t.Errorf("bad policy: %v, want an error naming checkpoint.policy", err)
	}
}

// A region restarted on another clock gets the config it started with,
// clock_offset aside; an offset the runtime would refuse is refused here,
// naming the field.
func TestRuntimeYAMLClock(t *testing.T) {
	spec := topology.DefaultSpec()
	links := planLinks(spec, testGates(spec))
	sec := newSecrets(spec)
	base, err := runtimeConfig(spec, "eu-west-1", links, sec, alertDest{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := runtimeYAMLClock(spec, "eu-west-1", links, sec, alertDest{}, -10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got rtconfig.Config
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.ClockOffset != -10*time.Second {
		t.Fatalf("clock_offset %v, want -10s", got.ClockOffset)
	}
	got.ClockOffset = base.ClockOffset
	if !reflect.DeepEqual(got, base) {
		t.Fatalf("config changed beyond clock_offset:\n%+v\n%+v", got, base)
	}
	if _, err := runtimeYAMLClock(spec, "eu-west-1", links, sec, alertDest{}, 25*time.Hour); err == nil || !strings.Contains(err.Error(), "clock_offset") {
		t.Fatalf("25h offset: %v, want an error naming clock_offset", err)
	}
	c := &cluster{rtHostPort: map[string]int{"eu-west-1": 1}}
	if err := c.SetClockOffset("eu-west-1", -25*time.Hour); err == nil || !strings.Contains(err.Error(), "clock_offset") {
		t.Fatalf("SetClockOffset -25h: %v, want an error naming clock_offset", err)
	}
	if err := c.SetClockOffset("nowhere", time.Second); err == nil {
		t.Fatal("SetClockOffset of an unknown region: want an error")
	}
	if err := c.SetClockOffset("eu-west-1", 10*time.Second); err != nil || c.clockOffsets["eu-west-1"] != 10*time.Second {
		t.Fatalf("SetClockOffset 10s: %v, offsets %v", err, c.clockOffsets)
	}
}
