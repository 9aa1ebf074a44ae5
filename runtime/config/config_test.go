package config

import (
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Ed25519 key pairs of RFC 8032 §7.1 (tests 1-3): seed → public key.
const (
	seed1 = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	pub1  = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	seed2 = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
	pub2  = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
	pub3  = "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"
)

const fullYAML = `region: us-east-1
listen: 127.0.0.1:0
admin_token: secret
warmup_key: ` + seed1 + `
dynamodb: {endpoint: http://127.0.0.1:8000, table: agent_sessions, aws_region: us-east-1, create_table: true}
redis: {addr: 127.0.0.1:6379}
regions:
  - {name: us-east-1, endpoint: http://127.0.0.1:9001, weight: 50, priority: 0, warmup_public_key: ` + pub1 + `}
  - {name: eu-west-1, endpoint: http://127.0.0.1:9002, weight: 30, priority: 1, warmup_public_key: ` + pub2 + `}
  - {name: ap-southeast-1, endpoint: http://127.0.0.1:9003, weight: 20, priority: 2, warmup_public_key: ` + pub3 + `}
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
	c, err := Load("", []string{"--region", "r1", "--admin-token", "t", "--warmup-key", seed1})
	if err != nil {
		t.Fatal(err)
	}
	if c.Session.TTL != time.Hour || c.Session.MaxMessages != 50 || c.Checkpoint.Policy != PolicyOnAck ||
		c.ConflictStrategy != StrategyVersionWins || c.Cache.Staleness != 30*time.Second || !c.Failover.Auto ||
		c.Cache.ReplayWindow != 2*time.Minute || c.Cache.NonceCacheSize != 65536 {
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
	_, err = Load("", []string{"--region", "r", "--admin-token", "t", "--warmup-key", seed1, "--checkpoint-policy", "never"})
	if err == nil || !strings.Contains(err.Error(), "checkpoint.policy") {
		t.Fatalf("got %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(fullYAML))
	f.Add([]byte("region: a\nadmin_token: t\nwarmup_key: " + seed1 + "\n"))
	f.Add([]byte("region: a\nadmin_token: t\nwarmup_secret: s\n"))
	f.Add([]byte("region: a\nadmin_token: t\nwarmup_key: " + seed1 + "\nregions: [{name: a, endpoint: 'http://a:1', warmup_public_key: " + pub2 + "}]\n"))
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
		if c.WarmupSecret != "" || c.Cache.ReplayWindow <= 0 || c.Cache.ReplayWindow > MaxReplayWindow || c.Cache.NonceCacheSize < 1 {
			t.Fatalf("peer settings invalid but accepted: %+v", c)
		}
		if c.Cache.Replicate || c.Cache.WarmOnStart {
			if _, err := c.WarmupSigningKey(); err != nil {
				t.Fatalf("replicating without a usable warmup_key: %v", err)
			}
			pubs, err := c.WarmupPublicKeys()
			if err != nil || len(pubs) != len(c.Regions) {
				t.Fatalf("replicating without every region's public key: %v %v", pubs, err)
			}
		}
	})
}

// session.max_message_bytes: 32 KiB by default, settable from YAML and its
// flag, and refused (naming the field) outside 1..MaxMessageBytesLimit. Only
// this field's errors are judged, whatever else the example lacks.
func TestSessionMaxMessageBytes(t *testing.T) {
	const field = "session.max_message_bytes"
	if d := Default(); d.Session.MaxMessageBytes != 32<<10 {
		t.Fatalf("default max_message_bytes = %d, want 32 KiB", d.Session.MaxMessageBytes)
	}
	c, err := Parse([]byte(replaceKey(fullYAML, "session: {ttl: 1h, max_messages: 50, max_message_bytes: 4096}")))
	if c.Session.MaxMessageBytes != 4096 || (err != nil && strings.Contains(err.Error(), field)) {
		t.Fatalf("yaml: %d, %v", c.Session.MaxMessageBytes, err)
	}
	c, err = Load(writeFile(t, fullYAML), []string{"--max-message-bytes", "1000"})
	if c.Session.MaxMessageBytes != 1000 || (err != nil && strings.Contains(err.Error(), field)) {
		t.Fatalf("flag: %d, %v", c.Session.MaxMessageBytes, err)
	}
	for _, v := range []string{"0", "-1", "262145"} {
		_, err := Parse([]byte(replaceKey(fullYAML, "session: {ttl: 1h, max_messages: 50, max_message_bytes: "+v+"}")))
		if err == nil || !strings.Contains(err.Error(), field+": "+v+" must be between 1 and 262144") {
			t.Errorf("max_message_bytes %s: got %v", v, err)
		}
	}
}

// A v1 config (shared HMAC secret) is refused with what replaced it, from
// the file and from the flag alike.
func TestWarmupSecretReplaced(t *testing.T) {
	const want = "warmup_secret: replaced by warmup_key and regions[].warmup_public_key (peer protocol v2)"
	if _, err := Parse([]byte(fullYAML + "warmup_secret: secret2\n")); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("YAML with warmup_secret: %v, want %q", err, want)
	}
	if _, err := Load("", []string{"--region", "r", "--admin-token", "t", "--warmup-secret", "s"}); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("--warmup-secret: %v, want %q", err, want)
	}
}

// Every peer key problem is refused naming its field; keys are needed only
// by a region that replicates or warms on start.
func TestWarmupKeysValidated(t *testing.T) {
	regions := func(k1, k2, k3 string) string {
		return "regions:\n  - {name: us-east-1, endpoint: http://a:1, warmup_public_key: '" + k1 + "'}\n" +
			"  - {name: eu-west-1, endpoint: http://b:1, warmup_public_key: '" + k2 + "'}\n" +
			"  - {name: ap-southeast-1, endpoint: http://c:1, warmup_public_key: '" + k3 + "'}"
	}
	cases := []struct{ edit, want string }{
		{"warmup_key: ''", "warmup_key: required when cache.replicate or cache.warm_on_start is true"},
		{"warmup_key: xyz", "warmup_key: must be hex"},
		{"warmup_key: " + seed1[:62], "warmup_key: must be 32 bytes (64 hex digits), got 31 bytes"},
		{regions(pub1, "", pub3), "regions[1].warmup_public_key: required when cache.replicate or cache.warm_on_start is true"},
		{regions(pub1, pub2, "zz"), "regions[2].warmup_public_key: must be hex"},
		{regions(pub1, pub2+"00", pub3), "regions[1].warmup_public_key: must be 32 bytes (64 hex digits), got 33 bytes"},
		{regions(pub2, pub1, pub3), "regions[0].warmup_public_key: does not match warmup_key (whose public key is " + pub1 + ")"},
		{regions(pub1, pub3, pub3), "regions[2].warmup_public_key: same key as regions[1]: each region needs its own key pair"},
		{"cache: {ttl: 10m, staleness: 30s, replicate: true, warm_on_start: true, replay_window: 0s}", "cache.replay_window: 0s must be > 0 and <= 1h0m0s"},
		{"cache: {ttl: 10m, staleness: 30s, replicate: true, warm_on_start: true, replay_window: 61m}", "cache.replay_window: 1h1m0s must be > 0 and <= 1h0m0s"},
		{"cache: {ttl: 10m, staleness: 30s, replicate: true, warm_on_start: true, nonce_cache_size: 0}", "cache.nonce_cache_size: 0 must be between 1 and"},
	}
	for _, tc := range cases {
		_, err := Parse([]byte(replaceKey(fullYAML, tc.edit)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("edit %q: want error containing %q, got %v", tc.edit, tc.want, err)
		}
		if err != nil && strings.Contains(err.Error(), seed1[:62]) {
			t.Errorf("edit %q: the error repeats the private key: %v", tc.edit, err)
		}
	}
	// Neither replicating nor warming: no keys needed.
	off := replaceKey(replaceKey(replaceKey(fullYAML, "warmup_key: ''"), regions("", "", "")), "cache: {ttl: 10m, staleness: 30s, replicate: false, warm_on_start: false}")
	if _, err := Parse([]byte(off)); err != nil {
		t.Fatalf("no replication, no keys: %v", err)
	}
	c, err := Parse([]byte(replaceKey(fullYAML, "cache: {ttl: 10m, staleness: 30s, replicate: true, warm_on_start: true, replay_window: 5m, nonce_cache_size: 10}")))
	if err != nil || c.Cache.ReplayWindow != 5*time.Minute || c.Cache.NonceCacheSize != 10 {
		t.Fatalf("replay settings: %+v %v", c.Cache, err)
	}
	c, err = Load(writeFile(t, fullYAML), []string{"--cache-replay-window", "30s", "--cache-nonce-cache-size", "7"})
	if err != nil || c.Cache.ReplayWindow != 30*time.Second || c.Cache.NonceCacheSize != 7 {
		t.Fatalf("replay flags: %+v %v", c.Cache, err)
	}
}

// The key helpers give what Validate accepts and the replicator uses.
func TestWarmupKeyHelpers(t *testing.T) {
	b, _ := hex.DecodeString(seed1)
	if kp, err := WarmupKeyPairFromSeed(b); err != nil || kp.Seed != seed1 || kp.Public != pub1 {
		t.Fatalf("RFC 8032 test 1: %+v %v", kp, err)
	}
	if _, err := WarmupKeyPairFromSeed(b[:31]); err == nil {
		t.Fatal("a 31-byte seed was taken")
	}
	keys := NewWarmupKeys("us-east-1", "eu-west-1", "ap-southeast-1")
	if len(keys) != 3 || keys["us-east-1"].Seed == keys["eu-west-1"].Seed || keys["us-east-1"].Public == keys["ap-southeast-1"].Public {
		t.Fatalf("fresh keys not distinct: %+v", keys)
	}
	c, err := Parse([]byte(fullYAML))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"us-east-1", "eu-west-1"} {
		c.Region = name
		c.SetWarmupKeys(keys)
		if err := c.Validate(); err != nil {
			t.Fatalf("%s with SetWarmupKeys: %v", name, err)
		}
		priv, err := c.WarmupSigningKey()
		if err != nil {
			t.Fatal(err)
		}
		pubs, err := c.WarmupPublicKeys()
		if err != nil || len(pubs) != 3 || !pubs[name].Equal(priv.Public()) {
			t.Fatalf("%s: public keys %v %v", name, pubs, err)
		}
	}
}

// session.expiry_clock defaults to the store's clock; region is the old
// behaviour; anything else is refused naming the field.
func TestExpiryClock(t *testing.T) {
	if d, err := Load(writeFile(t, fullYAML), nil); err != nil || d.Session.ExpiryClock != ExpiryClockStore {
		t.Fatalf("default expiry_clock = %q (%v), want store", d.Session.ExpiryClock, err)
	}
	if c, err := Load(writeFile(t, fullYAML), []string{"--expiry-clock", "region"}); err != nil || c.Session.ExpiryClock != ExpiryClockRegion {
		t.Fatalf("--expiry-clock region: %q %v", c.Session.ExpiryClock, err)
	}
	if _, err := Load(writeFile(t, fullYAML), []string{"--expiry-clock", "ntp"}); err == nil || !strings.Contains(err.Error(), "session.expiry_clock") {
		t.Fatalf("--expiry-clock ntp: %v, want an error naming session.expiry_clock", err)
	}
}
