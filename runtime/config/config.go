// Package config loads and validates the region runtime configuration:
// YAML (unknown fields rejected) overlaid by command-line flags (both by
// runtime/config/flagset, the scheme global-lb shares), then validated with
// errors that name the offending field path.
package config

import (
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
	Region           string     `yaml:"region" help:"region name"`
	Listen           string     `yaml:"listen" help:"listen address host:port (port 0: any free port)"`
	AdminToken       string     `yaml:"admin_token" help:"bearer token of the admin endpoints"`
	WarmupSecret     string     `yaml:"warmup_secret" help:"HMAC secret shared with the peers"`
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
	Policy   string        `yaml:"policy" help:"on-ack | periodic | on-mutation"`
	Interval time.Duration `yaml:"interval" help:"periodic checkpoint interval"`
}

// Session bounds a conversation.
type Session struct {
	TTL         time.Duration `yaml:"ttl" help:"session TTL"`
	MaxMessages int           `yaml:"max_messages" flag:"max-messages" help:"messages kept per session"`
}

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
}

// Model configures the fake LLM.
type Model struct {
	Latency time.Duration `yaml:"latency" help:"fake LLM latency"`
}

// Alert is the Alertmanager-format webhook (empty: alerts only logged).
type Alert struct {
	Webhook string `yaml:"webhook" help:"Alertmanager webhook URL (empty: alerts only logged)"`
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
		HTTP:             httpsafe.Defaults(),
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
	if err := c.HTTP.Validate("http"); err != nil {
		errs = append(errs, err)
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
