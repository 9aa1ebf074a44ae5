// Package config loads and validates the region runtime configuration:
// YAML (unknown fields rejected) overlaid by command-line flags (both by
// runtime/config/flagset, the scheme global-lb shares), then validated with
// errors that name the offending field path.
package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/agentops/failover-harness/runtime/config/flagset"
	"github.com/agentops/failover-harness/runtime/httpsafe"
)

// Checkpoint policies (SPEC §2).
const (
	PolicyOnAck      = "on-ack"
	PolicyPeriodic   = "periodic"
	PolicyOnMutation = "on-mutation"
)

// Conflict strategies (SPEC §2).
const (
	StrategyVersionWins   = "version-wins"
	StrategyLastWriteWins = "last-write-wins"
	StrategyMerge         = "merge"
)

// Config is the whole region runtime configuration; YAML keys as in
// docs/ARCHITECTURE.md. Every scalar field is also a flag of agent-runtime
// (runtime/config/flagset): its YAML path with dashes, or the `flag` tag.
type Config struct {
	Region     string `yaml:"region" help:"region name"`
	Listen     string `yaml:"listen" help:"listen address host:port (port 0: any free port)"`
	AdminToken string `yaml:"admin_token" help:"bearer token of the admin endpoints"`
	// WarmupKey is this region's Ed25519 private key seed (32 bytes, hex):
	// it signs peer cache requests and export answers (peer protocol v2);
	// peers verify them with regions[].warmup_public_key.
	WarmupKey string `yaml:"warmup_key,omitempty" help:"this region's Ed25519 private key seed, 32 bytes hex, signing peer cache requests"`
	// WarmupSecret is the removed v1 shared HMAC secret, kept so that a
	// config still carrying it is refused with what replaced it rather
	// than as an unknown field.
	WarmupSecret     string     `yaml:"warmup_secret,omitempty" help:"REMOVED in peer protocol v2: use --warmup-key and regions[].warmup_public_key"`
	DynamoDB         DynamoDB   `yaml:"dynamodb"`
	Redis            Redis      `yaml:"redis"`
	Regions          []Region   `yaml:"regions"`
	Checkpoint       Checkpoint `yaml:"checkpoint"`
	Session          Session    `yaml:"session"`
	ConflictStrategy string     `yaml:"conflict_strategy" help:"version-wins | last-write-wins | merge"`
	Health           Health     `yaml:"health"`
	Failover         Failover   `yaml:"failover"`
	Cache            Cache      `yaml:"cache"`
	Model            Model      `yaml:"model"`
	Alert            Alert      `yaml:"alert"`
	// ShutdownTimeout bounds the graceful stop (HTTP drain + final
	// checkpoints). Not in the ARCHITECTURE example; optional.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" help:"graceful stop bound (HTTP drain and final checkpoints)"`
	// ClockOffset skews every wall-clock read of this region (may be
	// negative): how the harness simulates regions whose clocks disagree.
	ClockOffset time.Duration `yaml:"clock_offset" help:"shift this region's wall clock, may be negative, |x| <= 24h"`
	// HTTP bounds what one client can hold of the server (runtime/httpsafe).
	HTTP httpsafe.Limits `yaml:"http"`
	// Failpoints plant known bugs, so a harness can prove it finds them (as
	// etcd's gofail does). Off by default; never set in production.
	Failpoints Failpoints `yaml:"failpoints"`
}

// Failpoints are planted bugs, each off by default.
type Failpoints struct {
	// AckBeforeWriteWhilePeerDown hides a slow store during a failover:
	// while any peer is not active in this region's router and each of its
	// last three store writes took longer than SlowStore, an on-ack message is
	// acknowledged before it is written; the write follows WriteDelay
	// later, the session held meanwhile. A session that moves to another
	// region, or a crash, in that window breaks what was acknowledged. No
	// row of the plan slows a store whose region sees a peer down.
	AckBeforeWriteWhilePeerDown bool          `yaml:"ack_before_write_while_peer_down" help:"PLANTED BUG (tests only): acknowledge before writing while a peer is down and the store is slow"`
	SlowStore                   time.Duration `yaml:"slow_store" help:"PLANTED BUG (tests only): a store write slower than this is slow (default 150ms)"`
	WriteDelay                  time.Duration `yaml:"write_delay" help:"PLANTED BUG (tests only): how long the acknowledged write waits"`
}

// MaxClockOffset bounds |clock_offset|.
const MaxClockOffset = 24 * time.Hour

// Clock returns the one wall-clock func of the region runtime: time.Now
// shifted by ClockOffset. Every component that reads wall time gets it.
func (c Config) Clock() func() time.Time {
	off := c.ClockOffset
	if off == 0 {
		return time.Now
	}
	return func() time.Time { return time.Now().Add(off) }
}

// DynamoDB is the global store endpoint.
type DynamoDB struct {
	Endpoint    string `yaml:"endpoint" help:"DynamoDB endpoint URL (empty: the AWS default)"`
	Table       string `yaml:"table" help:"DynamoDB table"`
	AWSRegion   string `yaml:"aws_region" help:"AWS region of the DynamoDB client"`
	CreateTable bool   `yaml:"create_table" help:"create the table at start"`
}

// Redis is this region's cache. An empty Addr disables the cache.
type Redis struct {
	Addr string `yaml:"addr" help:"Redis host:port, empty disables the cache"`
	// Password is Redis AUTH (requirepass); every topology the harness
	// starts sets a fresh one, so a process on the host cannot read or
	// poison a region's cache.
	Password string `yaml:"password" help:"Redis AUTH password (empty: none)"`
}

// Region is one entry of the region list; Endpoint is how THIS region
// reaches it.
type Region struct {
	Name     string `yaml:"name"`
	Endpoint string `yaml:"endpoint"`
	Weight   int    `yaml:"weight"`
	Priority int    `yaml:"priority"`
	// WarmupPublicKey is the region's Ed25519 public key (32 bytes, hex):
	// its peer cache requests are verified with it, so a region can only
	// speak for itself. Self's must match warmup_key.
	WarmupPublicKey string `yaml:"warmup_public_key,omitempty"`
}

// Checkpoint selects when a message becomes durable.
type Checkpoint struct {
	Policy   string        `yaml:"policy" help:"on-ack | periodic | on-mutation"`
	Interval time.Duration `yaml:"interval" help:"periodic checkpoint interval"`
}

// Session bounds a conversation.
type Session struct {
	TTL         time.Duration `yaml:"ttl" help:"session TTL"`
	MaxMessages int           `yaml:"max_messages" flag:"max-messages" help:"messages kept per session"`
	// MaxMessageBytes bounds one message's content (413 MESSAGE_TOO_LARGE):
	// the whole session is one DynamoDB item of at most 400 KB.
	MaxMessageBytes int `yaml:"max_message_bytes" flag:"max-message-bytes" help:"largest message content in bytes"`
	// ExpiryClock is the clock session expiry is stamped and judged on:
	// "store" (the store's clock, from the Date of its answers: every region
	// agrees on when a session expires, whatever its own clock says) or
	// "region" (this region's clock: expiry is early or late by the
	// writer's and reader's clocks' disagreement).
	ExpiryClock string `yaml:"expiry_clock" flag:"expiry-clock" help:"clock session expiry is judged on: store | region"`
}

// Session expiry clocks (session.expiry_clock).
const (
	ExpiryClockStore  = "store"
	ExpiryClockRegion = "region"
)

// MaxMessageBytesLimit caps session.max_message_bytes: one message must leave
// most of the session item (DynamoDB: 400 KB) to the rest of the conversation.
const MaxMessageBytesLimit = 256 << 10

// Health drives the region router's probes.
type Health struct {
	Interval           time.Duration `yaml:"interval" help:"peer health check interval"`
	Timeout            time.Duration `yaml:"timeout" help:"peer health check timeout (also bounds store and peer calls)"`
	HealthyThreshold   int           `yaml:"healthy_threshold" flag:"healthy-threshold" help:"consecutive successes to mark a peer active"`
	UnhealthyThreshold int           `yaml:"unhealthy_threshold" flag:"unhealthy-threshold" help:"consecutive failures to mark a peer down"`
}

// Failover toggles automatic failover.
type Failover struct {
	Auto bool `yaml:"auto" flag:"auto-failover" help:"automatic failover"`
}

// Cache configures the response cache and its replication.
type Cache struct {
	TTL         time.Duration `yaml:"ttl" help:"cache entry TTL"`
	Staleness   time.Duration `yaml:"staleness" flag:"warmup-staleness" help:"drop warmup entries older than this"`
	Replicate   bool          `yaml:"replicate" flag:"replicate" help:"broadcast cache entries to the peers"`
	WarmOnStart bool          `yaml:"warm_on_start" flag:"warm-on-start" help:"pull the peers' recent entries at start, before serving (bounded by health.timeout)"`
	// ReplayWindow is how far a peer request's timestamp may be from this
	// region's clock, and how long its nonce is remembered: the one place
	// two regions' clocks are compared, so it must exceed their
	// disagreement (clock_offset differences included).
	ReplayWindow time.Duration `yaml:"replay_window" help:"accept peer requests timestamped within ±this of our clock (must exceed the regions' clock disagreement), <= 1h"`
	// NonceCacheSize bounds the nonces remembered against replay; when
	// full of live ones, peer requests are refused 503 REPLAY_CACHE_FULL.
	NonceCacheSize int `yaml:"nonce_cache_size" help:"peer request nonces remembered within the replay window; full: refuse with 503"`
}

// Bounds of the peer protocol settings.
const (
	MaxReplayWindow   = time.Hour
	MaxNonceCacheSize = 1 << 24 // ~16M nonces: a bound on memory
)

// Model configures the fake LLM.
type Model struct {
	Latency time.Duration `yaml:"latency" help:"fake LLM latency"`
}

// Alert is where alerts go: an Alertmanager-format webhook and/or an
// Alertmanager's API v2 (both empty: alerts only logged).
type Alert struct {
	Webhook      string        `yaml:"webhook" help:"Alertmanager webhook URL (empty: alerts only logged)"`
	Alertmanager string        `yaml:"alertmanager" help:"Alertmanager base URL: alerts are POSTed to its /api/v2/alerts (empty: none)"`
	Resend       time.Duration `yaml:"resend_interval" help:"how often a firing alert is re-sent to the Alertmanager (default 1m)"`
}

// Default returns the SPEC defaults (TTL 1h, 50 messages, on-ack,
// version-wins, staleness 30s, Route 53-like health thresholds).
func Default() Config {
	return Config{
		Listen:           "127.0.0.1:8080",
		DynamoDB:         DynamoDB{Table: "agent_sessions", AWSRegion: "us-east-1"},
		Checkpoint:       Checkpoint{Policy: PolicyOnAck, Interval: 5 * time.Second},
		Session:          Session{TTL: time.Hour, MaxMessages: 50, MaxMessageBytes: 32 << 10, ExpiryClock: ExpiryClockStore},
		ConflictStrategy: StrategyVersionWins,
		Health:           Health{Interval: 10 * time.Second, Timeout: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3},
		Failover:         Failover{Auto: true},
		Cache: Cache{TTL: 10 * time.Minute, Staleness: 30 * time.Second, Replicate: true, WarmOnStart: true,
			ReplayWindow: 2 * time.Minute, NonceCacheSize: 65536},
		ShutdownTimeout: 10 * time.Second,
		HTTP:            httpsafe.Defaults(),
	}
}

// Flags is agent-runtime's flag set: --config plus one flag per scalar
// field of Config (runtime/config/flagset).
func Flags() *flagset.Set { return flagset.New("agent-runtime", Default()) }

// Load builds a Config from defaults, then the YAML file at path (if path
// or a --config flag names one; a later --config wins), then flag overrides
// in args, and validates the result. `--help` yields flag.ErrHelp.
func Load(path string, args []string) (Config, error) {
	cfg := Default()
	if path != "" {
		args = append([]string{"--config", path}, args...)
	}
	if err := Flags().Load(args, &cfg); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// Parse decodes YAML onto the defaults and validates; used by Load and the
// fuzz target.
func Parse(data []byte) (Config, error) {
	cfg := Default()
	if err := flagset.DecodeYAML(data, &cfg); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// Usage writes the flag list to w (for --help).
func Usage(w io.Writer) {
	Flags().Usage(w, "agent-runtime --config FILE [flags]")
}

// FieldError names the config path that is wrong.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks every field and returns all problems joined, each naming
// its field path (e.g. "regions[1].weight: must be >= 0").
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if strings.TrimSpace(c.Region) == "" {
		bad("region", "required")
	}
	if err := checkHostPort(c.Listen); err != nil {
		bad("listen", "%v", err)
	}
	if c.AdminToken == "" {
		bad("admin_token", "required (admin endpoints need a bearer token)")
	}
	if c.WarmupSecret != "" {
		bad("warmup_secret", "replaced by warmup_key and regions[].warmup_public_key (peer protocol v2)")
	}
	peers := c.Cache.Replicate || c.Cache.WarmOnStart
	var selfPub ed25519.PublicKey
	if c.WarmupKey != "" {
		if key, err := parseSeed(c.WarmupKey); err != nil {
			bad("warmup_key", "%v", err)
		} else {
			selfPub = key.Public().(ed25519.PublicKey)
		}
	} else if peers {
		bad("warmup_key", "required when cache.replicate or cache.warm_on_start is true (this region's Ed25519 private key seed, 32 bytes hex)")
	}
	if c.DynamoDB.Endpoint != "" {
		if err := checkURL(c.DynamoDB.Endpoint); err != nil {
			bad("dynamodb.endpoint", "%v", err)
		}
	}
	if c.DynamoDB.Table == "" {
		bad("dynamodb.table", "required")
	}
	if c.DynamoDB.AWSRegion == "" {
		bad("dynamodb.aws_region", "required")
	}
	if c.Redis.Addr != "" {
		if err := checkHostPort(c.Redis.Addr); err != nil {
			bad("redis.addr", "%v", err)
		}
	}
	seen, pubs := map[string]int{}, map[string]int{}
	selfListed := false
	for i, r := range c.Regions {
		p := fmt.Sprintf("regions[%d]", i)
		if r.Name == "" {
			bad(p+".name", "required")
		} else if j, dup := seen[r.Name]; dup {
			bad(p+".name", "duplicate of regions[%d]", j)
		} else {
			seen[r.Name] = i
		}
		if r.Name == c.Region {
			selfListed = true
		}
		if err := checkURL(r.Endpoint); err != nil {
			bad(p+".endpoint", "%v", err)
		}
		if r.Weight < 0 {
			bad(p+".weight", "must be >= 0")
		}
		if r.Priority < 0 {
			bad(p+".priority", "must be >= 0")
		}
		switch pub, err := parsePublic(r.WarmupPublicKey); {
		case r.WarmupPublicKey == "":
			if peers {
				bad(p+".warmup_public_key", "required when cache.replicate or cache.warm_on_start is true (the region's Ed25519 public key, 32 bytes hex)")
			}
		case err != nil:
			bad(p+".warmup_public_key", "%v", err)
		case r.Name == c.Region && selfPub != nil && !pub.Equal(selfPub):
			bad(p+".warmup_public_key", "does not match warmup_key (whose public key is %s)", hex.EncodeToString(selfPub))
		default:
			// One key pair per region: a shared key would let either region
			// speak as the other.
			if j, dup := pubs[string(pub)]; dup {
				bad(p+".warmup_public_key", "same key as regions[%d]: each region needs its own key pair", j)
			} else {
				pubs[string(pub)] = i
			}
		}
	}
	if len(c.Regions) > 0 && c.Region != "" && !selfListed {
		bad("regions", "must include this region %q", c.Region)
	}
	switch c.Checkpoint.Policy {
	case PolicyOnAck, PolicyPeriodic, PolicyOnMutation:
	default:
		bad("checkpoint.policy", "must be one of on-ack, periodic, on-mutation")
	}
	if c.Checkpoint.Interval <= 0 {
		bad("checkpoint.interval", "must be > 0")
	}
	if c.Session.TTL <= 0 {
		bad("session.ttl", "must be > 0")
	}
	if c.Session.MaxMessages < 2 {
		bad("session.max_messages", "must be >= 2 (a user message and its reply)")
	}
	if c.Session.MaxMessageBytes < 1 || c.Session.MaxMessageBytes > MaxMessageBytesLimit {
		bad("session.max_message_bytes", "%d must be between 1 and %d", c.Session.MaxMessageBytes, MaxMessageBytesLimit)
	}
	if c.Session.ExpiryClock != ExpiryClockStore && c.Session.ExpiryClock != ExpiryClockRegion {
		bad("session.expiry_clock", "%q must be one of %s, %s", c.Session.ExpiryClock, ExpiryClockStore, ExpiryClockRegion)
	}
	switch c.ConflictStrategy {
	case StrategyVersionWins, StrategyLastWriteWins, StrategyMerge:
	default:
		bad("conflict_strategy", "must be one of version-wins, last-write-wins, merge")
	}
	if c.Health.Interval <= 0 {
		bad("health.interval", "must be > 0")
	}
	if c.Health.Timeout <= 0 {
		bad("health.timeout", "must be > 0")
	} else if c.Health.Interval > 0 && c.Health.Timeout > c.Health.Interval {
		bad("health.timeout", "must be <= health.interval (%s)", c.Health.Interval)
	}
	// Route 53 accepts failure thresholds 1..10.
	if c.Health.HealthyThreshold < 1 || c.Health.HealthyThreshold > 10 {
		bad("health.healthy_threshold", "must be between 1 and 10")
	}
	if c.Health.UnhealthyThreshold < 1 || c.Health.UnhealthyThreshold > 10 {
		bad("health.unhealthy_threshold", "must be between 1 and 10")
	}
	if c.Cache.TTL <= 0 {
		bad("cache.ttl", "must be > 0")
	}
	if c.Cache.Staleness <= 0 {
		bad("cache.staleness", "must be > 0")
	}
	if c.Cache.ReplayWindow <= 0 || c.Cache.ReplayWindow > MaxReplayWindow {
		bad("cache.replay_window", "%s must be > 0 and <= %s (and exceed the regions' clock disagreement)", c.Cache.ReplayWindow, MaxReplayWindow)
	}
	if c.Cache.NonceCacheSize < 1 || c.Cache.NonceCacheSize > MaxNonceCacheSize {
		bad("cache.nonce_cache_size", "%d must be between 1 and %d", c.Cache.NonceCacheSize, MaxNonceCacheSize)
	}
	if c.Model.Latency < 0 {
		bad("model.latency", "must be >= 0")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "must be > 0")
	}
	if err := c.HTTP.Validate("http"); err != nil {
		errs = append(errs, err)
	}
	if c.ClockOffset < -MaxClockOffset || c.ClockOffset > MaxClockOffset {
		bad("clock_offset", "%s must be within ±%s", c.ClockOffset, MaxClockOffset)
	}
	if c.Failpoints.SlowStore < 0 || c.Failpoints.SlowStore > time.Minute {
		bad("failpoints.slow_store", "%s must be within 0..1m", c.Failpoints.SlowStore)
	}
	if c.Failpoints.WriteDelay < 0 || c.Failpoints.WriteDelay > time.Minute {
		bad("failpoints.write_delay", "%s must be within 0..1m", c.Failpoints.WriteDelay)
	}
	if c.Alert.Webhook != "" {
		if err := checkURL(c.Alert.Webhook); err != nil {
			bad("alert.webhook", "%v", err)
		}
	}
	if c.Alert.Alertmanager != "" {
		if err := checkURL(c.Alert.Alertmanager); err != nil {
			bad("alert.alertmanager", "%v", err)
		}
	}
	if c.Alert.Resend < 0 || c.Alert.Resend > time.Hour {
		bad("alert.resend_interval", "%s must be within 0..1h (0: 1m)", c.Alert.Resend)
	}
	return errors.Join(errs...)
}

// parseSeed decodes warmup_key. Its errors never repeat the value: it is
// a secret.
func parseSeed(s string) (ed25519.PrivateKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("must be hex (%d hex digits: a %d-byte Ed25519 private key seed)", 2*ed25519.SeedSize, ed25519.SeedSize)
	}
	if len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("must be %d bytes (%d hex digits), got %d bytes", ed25519.SeedSize, 2*ed25519.SeedSize, len(b))
	}
	return ed25519.NewKeyFromSeed(b), nil
}

// parsePublic decodes a regions[].warmup_public_key.
func parsePublic(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("must be hex (%d hex digits: a %d-byte Ed25519 public key)", 2*ed25519.PublicKeySize, ed25519.PublicKeySize)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("must be %d bytes (%d hex digits), got %d bytes", ed25519.PublicKeySize, 2*ed25519.PublicKeySize, len(b))
	}
	return ed25519.PublicKey(b), nil
}

// WarmupSigningKey is warmup_key as an Ed25519 private key.
func (c Config) WarmupSigningKey() (ed25519.PrivateKey, error) {
	k, err := parseSeed(c.WarmupKey)
	if err != nil {
		return nil, &FieldError{Field: "warmup_key", Msg: err.Error()}
	}
	return k, nil
}

// WarmupPublicKeys maps every listed region that has a warmup_public_key
// to it: the keys peer requests are verified with.
func (c Config) WarmupPublicKeys() (map[string]ed25519.PublicKey, error) {
	out := make(map[string]ed25519.PublicKey, len(c.Regions))
	for i, r := range c.Regions {
		if r.WarmupPublicKey == "" {
			continue
		}
		pub, err := parsePublic(r.WarmupPublicKey)
		if err != nil {
			return nil, &FieldError{Field: fmt.Sprintf("regions[%d].warmup_public_key", i), Msg: err.Error()}
		}
		out[r.Name] = pub
	}
	return out, nil
}

// WarmupKeyPair is one region's peer key pair as config values, hex: Seed
// for its warmup_key, Public for every region's regions[].warmup_public_key.
type WarmupKeyPair struct{ Seed, Public string }

// WarmupKeyPairFromSeed derives the pair of a 32-byte seed.
func WarmupKeyPairFromSeed(seed []byte) (WarmupKeyPair, error) {
	if len(seed) != ed25519.SeedSize {
		return WarmupKeyPair{}, fmt.Errorf("warmup key seed: want %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	return WarmupKeyPair{Seed: hex.EncodeToString(seed), Public: hex.EncodeToString(pub)}, nil
}

// NewWarmupKeys makes a fresh key pair (crypto/rand) for each region named.
func NewWarmupKeys(regions ...string) map[string]WarmupKeyPair {
	out := make(map[string]WarmupKeyPair, len(regions))
	for _, name := range regions {
		seed := make([]byte, ed25519.SeedSize)
		_, _ = rand.Read(seed) // crypto/rand.Read never fails (it crashes the program instead)
		out[name], _ = WarmupKeyPairFromSeed(seed)
	}
	return out
}

// SetWarmupKeys installs keys: this region's seed as warmup_key and each
// listed region's public key. Regions missing from keys are left as they
// are (Validate names them).
func (c *Config) SetWarmupKeys(keys map[string]WarmupKeyPair) {
	if k, ok := keys[c.Region]; ok {
		c.WarmupKey = k.Seed
	}
	for i := range c.Regions {
		if k, ok := keys[c.Regions[i].Name]; ok {
			c.Regions[i].WarmupPublicKey = k.Public
		}
	}
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http(s) URL, got %q", s)
	}
	return nil
}

func checkHostPort(s string) error {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return fmt.Errorf("must be host:port, got %q", s)
	}
	return nil
}
