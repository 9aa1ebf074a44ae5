// Package config holds the SRE failover config file: the one YAML document
// an SRE tunes before rollout (regions, LB health checks, outlier ejection,
// retries, checkpointing, session TTL, conflict strategy, cache replication,
// alerting, region runtime health) and, optionally, its objectives (the
// resiliency policy: RTO, RPO, detection, per-row overrides; objectives.go).
// `chaos validate` lints it with Load, prints Describe and holds the bounds
// to the objectives (Assess); `chaos run --config` runs the plan against
// Scaled(k) and holds each plan row to Policy.
//
// Parsing walks the go.yaml.in/yaml/v3 Node tree so every issue carries the
// YAML line it refers to, and unknown fields are reported instead of ignored.
package config

import (
	"fmt"
	"time"

	rtconfig "github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/lb"
)

// Checkpoint policies (see SPEC §2), as the runtime declares them.
const (
	PolicyOnAck      = rtconfig.PolicyOnAck
	PolicyPeriodic   = rtconfig.PolicyPeriodic
	PolicyOnMutation = rtconfig.PolicyOnMutation
)

// Conflict strategies (see SPEC §2), as the runtime declares them.
const (
	StrategyVersionWins   = rtconfig.StrategyVersionWins
	StrategyLastWriteWins = rtconfig.StrategyLastWriteWins
	StrategyMerge         = rtconfig.StrategyMerge
)

// Issue severities.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Options change how a config is judged.
type Options struct {
	// Strict holds the LB to Route 53's real limits, which it stands in
	// for: lb.health.interval 10s or 30s, failure_threshold 1..10 (always
	// checked) and no separate success threshold (success_threshold must
	// equal failure_threshold). Those become errors, and any warning makes
	// the file fail (Passes).
	Strict bool
}

// Passes reports whether a file with these issues is accepted: no errors,
// and under o.Strict no warnings either (the CLI exits 0 only then).
func Passes(issues []Issue, o Options) bool {
	return !HasErrors(issues) && (!o.Strict || len(issues) == 0)
}

// Config is the SRE failover config file. Durations are Go duration strings
// in YAML ("30s", "1h"). Sections whose keys are exactly a binary's are that
// binary's own types (runtime/config, runtime/lb); the rest are the SRE's
// view, mapped onto the runtime's types by Spec alone.
type Config struct {
	Regions          []Region     `yaml:"regions"`
	LB               LB           `yaml:"lb"`
	Checkpoint       Checkpoint   `yaml:"checkpoint"`
	Session          Session      `yaml:"session"`
	ConflictStrategy string       `yaml:"conflict_strategy"`
	Cache            Cache        `yaml:"cache"`
	Alert            Alert        `yaml:"alert"`
	RegionHealth     RegionHealth `yaml:"region_health"`
	// Objectives is the SRE's resiliency policy (RTO, RPO, detection, in
	// real time); nil when the file sets none. See objectives.go.
	Objectives *Objectives `yaml:"objectives"`
	// Probes and StopWhen are PromQL expressions judged against the
	// topology's Prometheus (probes.go).
	Probes   []Probe `yaml:"probes"`
	StopWhen []Probe `yaml:"stop_when"`

	// lines maps a field path ("regions[1].weight") to its YAML line, so
	// validation issues can point at the source. Nil for built configs.
	lines map[string]int
}

// Region is one deployment region as the global LB sees it.
type Region struct {
	Name string `yaml:"name"`
	// Endpoint is the region's base URL; empty means the provider assigns it.
	Endpoint string `yaml:"endpoint"`
	// Weight is the Route 53 weighted-record weight (0..255).
	Weight int `yaml:"weight"`
	// Priority: lower is preferred for failover (0 = primary).
	Priority int `yaml:"priority"`
	// Continent groups regions for same-continent preference (e.g. na, eu, ap).
	Continent string `yaml:"continent"`
}

// LB holds the global load balancer settings.
type LB struct {
	Health  LBHealth `yaml:"health"`
	Outlier Outlier  `yaml:"outlier"`
	Retry   Retry    `yaml:"retry"`
}

// LBHealth is the LB's active health check (Route 53 semantics): the keys
// of runtime/lb's HealthConfig an SRE tunes (its path is fixed, and it is
// always on).
type LBHealth struct {
	Interval         time.Duration `yaml:"interval"`
	Timeout          time.Duration `yaml:"timeout"`
	FailureThreshold int           `yaml:"failure_threshold"`
	SuccessThreshold int           `yaml:"success_threshold"`
}

// The sections below are the runtime's own types: the file's keys are the
// binaries' keys, declared once in runtime/lb and runtime/config.
type (
	// Outlier is passive ejection driven by real traffic.
	Outlier = lb.OutlierConfig
	// Retry is the LB's retry of idempotent requests on another region;
	// Attempts counts every try, the first included.
	Retry = lb.RetryConfig
	// Checkpoint is the session checkpoint policy of the runtime; Interval
	// is used by the periodic policy only.
	Checkpoint = rtconfig.Checkpoint
	// Session holds session lifetime settings.
	Session = rtconfig.Session
	// RegionHealth is each region runtime's own health checking of its
	// peers (drives the runtime's FailoverManager, not LB routing).
	RegionHealth = rtconfig.Health
)

// Cache holds the regional response cache and its cross-region replication.
type Cache struct {
	TTL time.Duration `yaml:"ttl"`
	// Staleness: warmup entries older than this are dropped by receivers.
	Staleness time.Duration `yaml:"staleness"`
	Replicate bool          `yaml:"replicate"`
}

// Alert is the on-call notification when no healthy region remains.
type Alert struct {
	Enabled bool   `yaml:"enabled"`
	Webhook string `yaml:"webhook"`
}

// Default returns the recommended settings (see examples/recommended.yaml,
// which also sets lb.health.success_threshold to 3 as Route 53 would) with
// the three seed regions and provider-assigned endpoints. Parse starts
// from these values for fields the file omits, except Regions, which must
// be listed explicitly.
func Default() *Config {
	return &Config{
		Regions: []Region{
			{Name: "us-east-1", Weight: 50, Priority: 0, Continent: "na"},
			{Name: "eu-west-1", Weight: 30, Priority: 1, Continent: "eu"},
			{Name: "ap-southeast-1", Weight: 20, Priority: 2, Continent: "ap"},
		},
		LB: LB{
			Health:  LBHealth{Interval: 10 * time.Second, Timeout: 3 * time.Second, FailureThreshold: 3, SuccessThreshold: 2},
			Outlier: Outlier{Enabled: true, ConsecutiveFailures: 5, Ejection: 30 * time.Second},
			Retry:   Retry{Enabled: true, Attempts: 2, PerTryTimeout: 10 * time.Second},
		},
		Checkpoint:       Checkpoint{Policy: PolicyOnAck, Interval: 5 * time.Second},
		Session:          Session{TTL: time.Hour, MaxMessages: 50},
		ConflictStrategy: StrategyVersionWins,
		Cache:            Cache{TTL: 10 * time.Minute, Staleness: 30 * time.Second, Replicate: true},
		Alert:            Alert{Enabled: true},
		RegionHealth:     RegionHealth{Interval: 10 * time.Second, Timeout: 3 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3},
	}
}

// Issue is one finding about a config: an error makes it unusable, a
// warning explains an operational risk.
type Issue struct {
	Path     string
	Line     int // 1-based YAML line; 0 when unknown
	Msg      string
	Severity string // SeverityError or SeverityWarning
}

// String renders "line 12: regions[1].weight: must be >= 0".
func (i Issue) String() string {
	s := i.Path + ": " + i.Msg
	if i.Path == "" {
		s = i.Msg
	}
	if i.Line > 0 {
		s = fmt.Sprintf("line %d: %s", i.Line, s)
	}
	return s
}

// HasErrors reports whether any issue is an error (the CLI exits non-zero).
func HasErrors(issues []Issue) bool {
	for _, i := range issues {
		if i.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Line returns the YAML line of path, or of its nearest parent present in
// the file, or 0 (built configs, or nothing found).
func (c *Config) Line(path string) int {
	for path != "" {
		if l, ok := c.lines[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 0
}

// parentPath strips the last ".field" or "[i]" segment.
func parentPath(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case '.':
			return p[:i]
		case '[':
			return p[:i]
		}
	}
	return ""
}
