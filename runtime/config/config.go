// Package config loads and validates the region runtime configuration:
// YAML (unknown fields rejected) overlaid by command-line flags, then
// validated with errors that name the offending field path.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
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
// docs/ARCHITECTURE.md.
type Config struct {
	Region           string     `yaml:"region"`
	Listen           string     `yaml:"listen"`
	AdminToken       string     `yaml:"admin_token"`
	WarmupSecret     string     `yaml:"warmup_secret"`
	DynamoDB         DynamoDB   `yaml:"dynamodb"`
	Redis            Redis      `yaml:"redis"`
	Regions          []Region   `yaml:"regions"`
	Checkpoint       Checkpoint `yaml:"checkpoint"`
	Session          Session    `yaml:"session"`
	ConflictStrategy string     `yaml:"conflict_strategy"`
	Health           Health     `yaml:"health"`
	Failover         Failover   `yaml:"failover"`
	Cache            Cache      `yaml:"cache"`
	Model            Model      `yaml:"model"`
	Alert            Alert      `yaml:"alert"`
	// ShutdownTimeout bounds the graceful stop (HTTP drain + final
	// checkpoints). Not in the ARCHITECTURE example; optional.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// ClockOffset skews every wall-clock read of this region (may be
	// negative): how the harness simulates regions whose clocks disagree.
	ClockOffset time.Duration `yaml:"clock_offset"`
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
	Endpoint    string `yaml:"endpoint"`
	Table       string `yaml:"table"`
	AWSRegion   string `yaml:"aws_region"`
	CreateTable bool   `yaml:"create_table"`
}

// Redis is this region's cache. An empty Addr disables the cache.
type Redis struct {
	Addr string `yaml:"addr"`
}

// Region is one entry of the region list; Endpoint is how THIS region
// reaches it.
type Region struct {
	Name     string `yaml:"name"`
	Endpoint string `yaml:"endpoint"`
	Weight   int    `yaml:"weight"`
	Priority int    `yaml:"priority"`
}

// Checkpoint selects when a message becomes durable.
type Checkpoint struct {
	Policy   string        `yaml:"policy"`
	Interval time.Duration `yaml:"interval"`
}

// Session bounds a conversation.
type Session struct {
	TTL         time.Duration `yaml:"ttl"`
	MaxMessages int           `yaml:"max_messages"`
}

// Health drives the region router's probes.
type Health struct {
	Interval           time.Duration `yaml:"interval"`
	Timeout            time.Duration `yaml:"timeout"`
	HealthyThreshold   int           `yaml:"healthy_threshold"`
	UnhealthyThreshold int           `yaml:"unhealthy_threshold"`
}

// Failover toggles automatic failover.
type Failover struct {
	Auto bool `yaml:"auto"`
}

// Cache configures the response cache and its replication.
type Cache struct {
	TTL         time.Duration `yaml:"ttl"`
	Staleness   time.Duration `yaml:"staleness"`
	Replicate   bool          `yaml:"replicate"`
	WarmOnStart bool          `yaml:"warm_on_start"`
}

// Model configures the fake LLM.
type Model struct {
	Latency time.Duration `yaml:"latency"`
}

// Alert is the Alertmanager-format webhook (empty: alerts only logged).
type Alert struct {
	Webhook string `yaml:"webhook"`
}

// Default returns the SPEC defaults (TTL 1h, 50 messages, on-ack,
// version-wins, staleness 30s, Route 53-like health thresholds).
func Default() Config {
	return Config{
		Listen:           "127.0.0.1:8080",
		DynamoDB:         DynamoDB{Table: "agent_sessions", AWSRegion: "us-east-1"},
		Checkpoint:       Checkpoint{Policy: PolicyOnAck, Interval: 5 * time.Second},
		Session:          Session{TTL: time.Hour, MaxMessages: 50},
		ConflictStrategy: StrategyVersionWins,
		Health:           Health{Interval: 10 * time.Second, Timeout: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3},
		Failover:         Failover{Auto: true},
		Cache:            Cache{TTL: 10 * time.Minute, Staleness: 30 * time.Second, Replicate: true, WarmOnStart: true},
		ShutdownTimeout:  10 * time.Second,
	}
}

// Load builds a Config from defaults, then the YAML file at path (if path
// or a --config flag names one), then flag overrides in args, and
// validates the result. `--help` yields flag.ErrHelp.
func Load(path string, args []string) (Config, error) {
	cfg := Default()
	fs := flag.NewFlagSet("agent-runtime", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o overrides
	o.register(fs)
	configPath := fs.String("config", path, "path to the YAML config file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("flags: %w", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("flags: unexpected argument %q", fs.Arg(0))
	}
	if *configPath != "" {
		data, err := os.ReadFile(*configPath)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := decode(data, &cfg); err != nil {
			return cfg, err
		}
	}
	fs.Visit(func(f *flag.Flag) { o.apply(f.Name, &cfg) })
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Parse decodes YAML onto the defaults and validates; used by Load and the
// fuzz target.
func Parse(data []byte) (Config, error) {
	cfg := Default()
	if err := decode(data, &cfg); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func decode(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a typo in a key must not silently fall back to a default
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// Usage writes the flag list to w (for --help).
func Usage(w io.Writer) {
	fs := flag.NewFlagSet("agent-runtime", flag.ContinueOnError)
	var o overrides
	o.register(fs)
	fs.String("config", "", "path to the YAML config file")
	fs.SetOutput(w)
	fmt.Fprintln(w, "Usage: agent-runtime --config FILE [flags]")
	fs.PrintDefaults()
}

// overrides holds flag values; only flags actually set are applied, so a
// flag's zero value never clobbers the YAML.
type overrides struct {
	region, listen, adminToken, warmupSecret    string
	dynEndpoint, dynTable, redisAddr            string
	policy, strategy, alertWebhook              string
	interval, ttl, hInterval, hTimeout          time.Duration
	cacheTTL, staleness, latency, shutdown      time.Duration
	clockOffset                                 time.Duration
	maxMessages, healthyThr, unhealthyThr       int
	autoFailover, replicate, warmOnStart, crTbl bool
}

func (o *overrides) register(fs *flag.FlagSet) {
	d := Default()
	fs.StringVar(&o.region, "region", "", "region name (region)")
	fs.StringVar(&o.listen, "listen", d.Listen, "listen address host:port (listen)")
	fs.StringVar(&o.adminToken, "admin-token", "", "bearer token for admin endpoints (admin_token)")
	fs.StringVar(&o.warmupSecret, "warmup-secret", "", "HMAC secret shared with peers (warmup_secret)")
	fs.StringVar(&o.dynEndpoint, "dynamodb-endpoint", "", "DynamoDB endpoint URL (dynamodb.endpoint)")
	fs.StringVar(&o.dynTable, "dynamodb-table", d.DynamoDB.Table, "DynamoDB table (dynamodb.table)")
	fs.BoolVar(&o.crTbl, "dynamodb-create-table", false, "create the table at start (dynamodb.create_table)")
	fs.StringVar(&o.redisAddr, "redis-addr", "", "Redis host:port, empty disables the cache (redis.addr)")
	fs.StringVar(&o.policy, "checkpoint-policy", d.Checkpoint.Policy, "on-ack | periodic | on-mutation (checkpoint.policy)")
	fs.DurationVar(&o.interval, "checkpoint-interval", d.Checkpoint.Interval, "periodic checkpoint interval (checkpoint.interval)")
	fs.DurationVar(&o.ttl, "session-ttl", d.Session.TTL, "session TTL (session.ttl)")
	fs.IntVar(&o.maxMessages, "max-messages", d.Session.MaxMessages, "messages kept per session (session.max_messages)")
	fs.StringVar(&o.strategy, "conflict-strategy", d.ConflictStrategy, "version-wins | last-write-wins | merge (conflict_strategy)")
	fs.DurationVar(&o.hInterval, "health-interval", d.Health.Interval, "health check interval (health.interval)")
	fs.DurationVar(&o.hTimeout, "health-timeout", d.Health.Timeout, "health check timeout (health.timeout)")
	fs.IntVar(&o.healthyThr, "healthy-threshold", d.Health.HealthyThreshold, "consecutive successes to mark active (health.healthy_threshold)")
	fs.IntVar(&o.unhealthyThr, "unhealthy-threshold", d.Health.UnhealthyThreshold, "consecutive failures to mark down (health.unhealthy_threshold)")
	fs.BoolVar(&o.autoFailover, "auto-failover", d.Failover.Auto, "automatic failover (failover.auto)")
	fs.DurationVar(&o.cacheTTL, "cache-ttl", d.Cache.TTL, "cache entry TTL (cache.ttl)")
	fs.DurationVar(&o.staleness, "warmup-staleness", d.Cache.Staleness, "drop warmup entries older than this (cache.staleness)")
	fs.BoolVar(&o.replicate, "replicate", d.Cache.Replicate, "broadcast cache entries to peers (cache.replicate)")
	fs.BoolVar(&o.warmOnStart, "warm-on-start", d.Cache.WarmOnStart, "pull peers' recent entries at start (cache.warm_on_start)")
	fs.DurationVar(&o.latency, "model-latency", d.Model.Latency, "fake LLM latency (model.latency)")
	fs.StringVar(&o.alertWebhook, "alert-webhook", "", "Alertmanager webhook URL (alert.webhook)")
	fs.DurationVar(&o.shutdown, "shutdown-timeout", d.ShutdownTimeout, "graceful stop bound (shutdown_timeout)")
	fs.DurationVar(&o.clockOffset, "clock-offset", d.ClockOffset, "shift this region's wall clock, may be negative (clock_offset)")
}

func (o *overrides) apply(name string, c *Config) {
	switch name {
	case "region":
		c.Region = o.region
	case "listen":
		c.Listen = o.listen
	case "admin-token":
		c.AdminToken = o.adminToken
	case "warmup-secret":
		c.WarmupSecret = o.warmupSecret
	case "dynamodb-endpoint":
		c.DynamoDB.Endpoint = o.dynEndpoint
	case "dynamodb-table":
		c.DynamoDB.Table = o.dynTable
	case "dynamodb-create-table":
		c.DynamoDB.CreateTable = o.crTbl
	case "redis-addr":
		c.Redis.Addr = o.redisAddr
	case "checkpoint-policy":
		c.Checkpoint.Policy = o.policy
	case "checkpoint-interval":
		c.Checkpoint.Interval = o.interval
	case "session-ttl":
		c.Session.TTL = o.ttl
	case "max-messages":
		c.Session.MaxMessages = o.maxMessages
	case "conflict-strategy":
		c.ConflictStrategy = o.strategy
	case "health-interval":
		c.Health.Interval = o.hInterval
	case "health-timeout":
		c.Health.Timeout = o.hTimeout
	case "healthy-threshold":
		c.Health.HealthyThreshold = o.healthyThr
	case "unhealthy-threshold":
		c.Health.UnhealthyThreshold = o.unhealthyThr
	case "auto-failover":
		c.Failover.Auto = o.autoFailover
	case "cache-ttl":
		c.Cache.TTL = o.cacheTTL
	case "warmup-staleness":
		c.Cache.Staleness = o.staleness
	case "replicate":
		c.Cache.Replicate = o.replicate
	case "warm-on-start":
		c.Cache.WarmOnStart = o.warmOnStart
	case "model-latency":
		c.Model.Latency = o.latency
	case "alert-webhook":
		c.Alert.Webhook = o.alertWebhook
	case "shutdown-timeout":
		c.ShutdownTimeout = o.shutdown
	case "clock-offset":
		c.ClockOffset = o.clockOffset
	}
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
	if c.WarmupSecret == "" && (c.Cache.Replicate || c.Cache.WarmOnStart) {
		bad("warmup_secret", "required when cache.replicate or cache.warm_on_start is true")
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
	seen := map[string]int{}
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
	if c.Model.Latency < 0 {
		bad("model.latency", "must be >= 0")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "must be > 0")
	}
	if c.ClockOffset < -MaxClockOffset || c.ClockOffset > MaxClockOffset {
		bad("clock_offset", "%s must be within ±%s", c.ClockOffset, MaxClockOffset)
	}
	if c.Alert.Webhook != "" {
		if err := checkURL(c.Alert.Webhook); err != nil {
			bad("alert.webhook", "%v", err)
		}
	}
	return errors.Join(errs...)
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
