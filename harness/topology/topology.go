// Package topology defines what a chaos scenario sees of a running multi-region
// deployment: the Spec it asks for, the Provider that starts it, and the Cluster
// handle it drives. Providers (local processes, docker, external URLs) implement
// Cluster so scenarios never change when the provider does.
package topology

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	rtconfig "github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/healthlog"
	"github.com/agentops/failover-harness/runtime/lb"
)

// ErrUnsupported is returned by a Cluster method the provider cannot perform
// (for example Pause on an external deployment). Faults check it in Available.
var ErrUnsupported = errors.New("topology: operation not supported by this provider")

// RegionSpec describes one region of the deployment.
type RegionSpec struct {
	Name     string
	Weight   int
	Priority int
	// ClockOffset skews the region runtime's wall clock (its clock_offset),
	// as an unsynchronised host would be.
	ClockOffset time.Duration
}

// The global LB's settings are runtime/lb's own types, declared once there:
// a spec hands them to the LB's config unchanged (Spec.LBConfig).
type (
	// LBHealth tunes the global LB's active health checks.
	LBHealth = lb.HealthConfig
	// Outlier tunes the LB's passive outlier ejection.
	Outlier = lb.OutlierConfig
	// Retry tunes the LB's retry of idempotent requests on another region.
	Retry = lb.RetryConfig
)

// Spec is everything a scenario may tune. Zero values mean fast test defaults
// (see WithDefaults); enable flags are left as given (DefaultSpec turns them
// on). RegionConfig and LBConfig turn a spec into the binaries' own config
// types; a provider only adds addresses and secrets.
type Spec struct {
	Seed   int64
	RunDir string

	Regions        []RegionSpec
	DynamoEndpoint string // empty: an embedded DynamoDB-compatible endpoint

	CheckpointPolicy   string
	CheckpointInterval time.Duration
	SessionTTL         time.Duration
	ConflictStrategy   string

	RegionHealthInterval time.Duration
	RegionHealthTimeout  time.Duration
	// Consecutive probe results a region runtime needs to change its view
	// of a peer (region_health.healthy_threshold / unhealthy_threshold).
	RegionHealthyThreshold   int
	RegionUnhealthyThreshold int

	LBHealth LBHealth
	Outlier  Outlier
	Retry    Retry

	CacheTTL        time.Duration
	WarmupStaleness time.Duration
	Replicate       bool
	WarmOnStart     bool
	ModelLatency    time.Duration

	AlertsEnabled bool
	// RegionAlerts also points every region's FailoverManager at the webhook.
	// Off by default: the global LB is the one paging source, so an
	// all-regions-down incident pages on-call once rather than once per region.
	RegionAlerts bool
	// Alertmanager routes the alerts through a real Alertmanager: the LB
	// (and, with RegionAlerts, the regions) POST its API v2, re-sending every
	// AlertResend while firing; it groups by alertname and notifies the
	// harness's receiver after AlertGroupWait, changes after
	// AlertGroupInterval, repeats after AlertRepeatInterval.
	Alertmanager        bool
	AlertGroupWait      time.Duration
	AlertGroupInterval  time.Duration
	AlertRepeatInterval time.Duration
	AlertResend         time.Duration
	// Prometheus runs a Prometheus scraping every region and the LB every
	// ScrapeInterval (rules evaluated as often), for PromQL probes.
	Prometheus     bool
	ScrapeInterval time.Duration

	// RegionDrift and LBDrift change what is started without changing what
	// the harness judges by, as a deployment that drifted from its reviewed
	// config would: each runtime's config and the LB's are edited last.
	// Tests use them to prove a row fails when the system misbehaves.
	RegionDrift func(region string, c *rtconfig.Config)
	LBDrift     func(c *lb.Config)

	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// DefaultRegions is the seed's topology: weights 50/30/20, priorities 0/1/2.
func DefaultRegions() []RegionSpec {
	return []RegionSpec{
		{Name: "us-east-1", Weight: 50, Priority: 0},
		{Name: "eu-west-1", Weight: 30, Priority: 1},
		{Name: "ap-southeast-1", Weight: 20, Priority: 2},
	}
}

// DefaultSpec is a fast, fully-featured spec for tests: LB health checks,
// outlier ejection, retry, replication, warmup and alerts all on.
func DefaultSpec() Spec {
	s := Spec{
		LBHealth:      LBHealth{Enabled: true},
		Outlier:       Outlier{Enabled: true},
		Retry:         Retry{Enabled: true},
		Replicate:     true,
		WarmOnStart:   true,
		AlertsEnabled: true,
	}
	return s.WithDefaults()
}

// WithDefaults returns a copy with every zero duration/threshold/name replaced
// by a fast test default. Enable flags are left as given.
func (s Spec) WithDefaults() Spec {
	if len(s.Regions) == 0 {
		s.Regions = DefaultRegions()
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	if s.CheckpointPolicy == "" {
		s.CheckpointPolicy = rtconfig.PolicyOnAck
	}
	if s.ConflictStrategy == "" {
		s.ConflictStrategy = rtconfig.StrategyVersionWins
	}
	if s.LBHealth.Path == "" {
		s.LBHealth.Path = lb.Default().Health.Path
	}
	def(&s.CheckpointInterval, time.Second)
	def(&s.SessionTTL, time.Hour)
	def(&s.RegionHealthInterval, 150*time.Millisecond)
	def(&s.RegionHealthTimeout, 150*time.Millisecond)
	defInt(&s.RegionHealthyThreshold, 2)
	defInt(&s.RegionUnhealthyThreshold, 3)
	def(&s.LBHealth.Interval, 100*time.Millisecond)
	def(&s.LBHealth.Timeout, 150*time.Millisecond)
	defInt(&s.LBHealth.FailureThreshold, 2)
	defInt(&s.LBHealth.SuccessThreshold, 2)
	defInt(&s.Outlier.ConsecutiveFailures, 3)
	def(&s.Outlier.Ejection, time.Second)
	defInt(&s.Retry.Attempts, 2)
	def(&s.Retry.PerTryTimeout, time.Second)
	def(&s.CacheTTL, 10*time.Minute)
	def(&s.WarmupStaleness, 30*time.Second)
	def(&s.AlertGroupWait, 200*time.Millisecond)
	def(&s.AlertGroupInterval, time.Second)
	def(&s.AlertRepeatInterval, time.Hour) // never within a row: a repeat would read as a second page
	def(&s.AlertResend, 500*time.Millisecond)
	// 1s: four targets scraped and rules evaluated four times a second
	// cost a 2-core machine enough to starve rows; a probe's 3s window
	// still holds three scrapes.
	def(&s.ScrapeInterval, time.Second)
	return s
}

// Validate reports the first field that cannot work, by name.
func (s Spec) Validate() error {
	if len(s.Regions) == 0 {
		return errors.New("spec.regions: at least one region required")
	}
	seen := map[string]bool{}
	for i, r := range s.Regions {
		if r.Name == "" {
			return fmt.Errorf("spec.regions[%d].name: empty", i)
		}
		if seen[r.Name] {
			return fmt.Errorf("spec.regions[%d].name: duplicate %q", i, r.Name)
		}
		seen[r.Name] = true
		if r.Weight < 0 {
			return fmt.Errorf("spec.regions[%d].weight: negative", i)
		}
	}
	if s.LBHealth.Interval < 0 || s.LBHealth.Timeout < 0 {
		return errors.New("spec.lb_health: negative interval/timeout")
	}
	if s.RegionHealthInterval < 0 || s.RegionHealthTimeout < 0 {
		return errors.New("spec.region_health: negative interval/timeout")
	}
	return nil
}

// RegionConfig is the agent-runtime config of region name as the spec sets
// it, on runtime/config's own type: every setting filled in, the region list
// with names, weights and priorities. The provider adds what only it knows:
// listen, dynamodb.endpoint, redis.addr, each regions[i].endpoint, the
// secrets and alert.webhook. Call it on a spec with defaults applied.
func (s Spec) RegionConfig(name string) rtconfig.Config {
	c := rtconfig.Default()
	c.Region = name
	c.DynamoDB.CreateTable = true // whichever region starts first creates the table
	c.Checkpoint = rtconfig.Checkpoint{Policy: s.CheckpointPolicy, Interval: s.CheckpointInterval}
	c.Session.TTL = s.SessionTTL
	c.ConflictStrategy = s.ConflictStrategy
	c.Health = rtconfig.Health{
		Interval: s.RegionHealthInterval, Timeout: s.RegionHealthTimeout,
		HealthyThreshold: s.RegionHealthyThreshold, UnhealthyThreshold: s.RegionUnhealthyThreshold,
	}
	c.Failover.Auto = true
	// Fields, not a literal: the runtime's other cache defaults (replay
	// window, nonce cache) stay as it sets them.
	c.Cache.TTL, c.Cache.Staleness, c.Cache.Replicate, c.Cache.WarmOnStart = s.CacheTTL, s.WarmupStaleness, s.Replicate, s.WarmOnStart
	c.Model.Latency = s.ModelLatency
	for _, r := range s.Regions {
		c.Regions = append(c.Regions, rtconfig.Region{Name: r.Name, Weight: r.Weight, Priority: r.Priority})
		if r.Name == name {
			c.ClockOffset = r.ClockOffset
		}
	}
	if s.RegionDrift != nil {
		s.RegionDrift(name, &c)
	}
	return c
}

// LBConfig is the global LB's config as the spec sets it, on runtime/lb's
// own type: health, outlier, retry and seed from the spec, the alert name
// from the LB's defaults, the regions with names and weights. The provider
// adds listen, each regions[i].url and alert.webhook. Call it on a spec with
// defaults applied.
func (s Spec) LBConfig() lb.Config {
	c := lb.Default()
	c.Health = s.LBHealth
	c.Outlier = s.Outlier
	c.Retry = s.Retry
	c.Seed = s.Seed
	for _, r := range s.Regions {
		c.Regions = append(c.Regions, lb.RegionConfig{Name: r.Name, Weight: r.Weight})
	}
	if s.LBDrift != nil {
		s.LBDrift(&c)
	}
	return c
}

// Weights maps each region to its configured weight.
func (s Spec) Weights() map[string]int {
	w := make(map[string]int, len(s.Regions))
	for _, r := range s.Regions {
		w[r.Name] = r.Weight
	}
	return w
}

// Logf writes one progress line to s.Log when set.
func (s Spec) Logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", args...)
	}
}

// Region is one region as the harness reaches it.
type Region struct {
	Name   string
	URL    string // the region's front door (its gate) as the harness reaches it
	Weight int
	Direct string // the runtime itself, bypassing the gate; empty when unreachable
}

// PeerKeys is implemented by providers that made the regions' peer keys
// (every provider here makes fresh ones per run): a security row signs with
// them as a compromised or replaying peer would.
type PeerKeys interface {
	WarmupKeys() map[string]rtconfig.WarmupKeyPair
}

// ClockSetter is implemented by providers that can start a region's
// runtime with its wall clock shifted (its clock_offset): the offset given
// applies from the region's next Start (a Kill then Start restarts it on the
// new clock) and replaces the spec's RegionSpec.ClockOffset for that region.
// An offset beyond the runtime's limit (config.MaxClockOffset) is an error
// naming the field.
type ClockSetter interface {
	SetClockOffset(region string, d time.Duration) error
}

// CheckClockOffset validates an offset for ClockSetter as the runtime
// validates clock_offset.
func CheckClockOffset(region string, d time.Duration) error {
	if d > rtconfig.MaxClockOffset || d < -rtconfig.MaxClockOffset {
		return fmt.Errorf("region %s: clock_offset: %v beyond ±%v", region, d, rtconfig.MaxClockOffset)
	}
	return nil
}

// GateControl drives the HTTP fault gate in front of a region. The switches
// return errors because on an external deployment they are the operator's
// commands (hooks), which can fail or time out.
type GateControl interface {
	SetStatus(code int) error       // answer every request with code; 0 = pass
	SetFailureRate(p float64) error // answer 503 with probability p in [0,1]
	SetDelay(d time.Duration) error // add d before every request
	Reset() error                   // pass everything through
}

// Alert is one Alertmanager webhook payload received, with its arrival time.
type Alert struct {
	At     time.Time
	Source string            // who sent it: "lb" or "region/<name>"
	Status string            // firing | resolved
	Name   string            // labels.alertname of the first alert
	Labels map[string]string // labels of the first alert
	Raw    []byte            // the whole payload
	// Names are the alertnames of every alert it carries, in order, each
	// once (an Alertmanager notification carries its group's alerts).
	Names []string
}

// LBRegion is one region as /lb/status reports it.
type LBRegion struct {
	Name         string    `json:"name"`
	Weight       int       `json:"weight"`
	Status       string    `json:"status"`
	EjectedUntil time.Time `json:"ejected_until"`
	InRotation   bool      `json:"in_rotation"`
	Requests     int64     `json:"requests"` // proxied attempts sent to the region (not health probes)
}

// Transition is one status change of a region, as the LB or a region's
// router recorded it.
type Transition = healthlog.Transition

// LBRound is the timing of one round of a health loop (the LB's or a
// region's failover manager's).
type LBRound = healthlog.Round

// LBHealthRounds is how well a health loop kept its schedule.
type LBHealthRounds = healthlog.Rounds

// LBStatus is the body of GET /lb/status. Providers return it with
// AlignClock applied: every time is then on the harness's clock.
type LBStatus struct {
	Now         time.Time    `json:"now"` // the LB's clock when it built the body
	Regions     []LBRegion   `json:"regions"`
	Transitions []Transition `json:"transitions"`
	// TransitionsTotal counts every transition the LB recorded: more than
	// Transitions holds means the oldest were dropped.
	TransitionsTotal int64          `json:"transitions_total"`
	Health           LBHealthRounds `json:"health"`
	// ClockAligned is set by AlignClock once the times above are on the
	// caller's clock; false means they are still the LB's (or unknown).
	ClockAligned bool `json:"clock_aligned,omitempty"`
}

// Region returns the named region's status and whether it was present.
func (s LBStatus) Region(name string) (LBRegion, bool) {
	for _, r := range s.Regions {
		if r.Name == name {
			return r, true
		}
	}
	return LBRegion{}, false
}

// AllInRotation reports whether every listed region is in rotation.
func (s LBStatus) AllInRotation(names ...string) bool {
	for _, n := range names {
		r, ok := s.Region(n)
		if !ok || !r.InRotation {
			return false
		}
	}
	return true
}

// Provider starts a topology.
type Provider interface {
	Name() string
	Start(ctx context.Context, spec Spec) (Cluster, error)
}

// Cluster is a running topology.
type Cluster interface {
	Spec() Spec
	LBURL() string
	LBStatus(ctx context.Context) (LBStatus, error)
	Regions() []Region
	AdminToken() string

	Toxiproxy() *toxiproxy.Client
	Link(name string) (*toxiproxy.Proxy, error)
	Links() []string

	Gate(region string) GateControl

	Pause(ctx context.Context, region string) error
	Resume(ctx context.Context, region string) error
	Kill(ctx context.Context, region string) error
	Start(ctx context.Context, region string, coldCache bool) error

	Alerts() []Alert
	Metrics(ctx context.Context, region string) (map[string]float64, error)

	Close(ctx context.Context) error
}

// Link names, stable across providers.
func DynamoLink(region string) string { return region + "->dynamodb" }
func RedisLink(region string) string  { return region + "->redis" }
func PeerLink(from, to string) string { return from + "->" + to }
func LBLink(region string) string     { return "lb->" + region }

// RegionLinks lists every link that touches region: its dependencies, its
// peer links in both directions, and the LB's link to it.
func RegionLinks(spec Spec, region string) []string {
	out := []string{DynamoLink(region), RedisLink(region), LBLink(region)}
	for _, r := range spec.Regions {
		if r.Name == region {
			continue
		}
		out = append(out, PeerLink(region, r.Name), PeerLink(r.Name, region))
	}
	return out
}

// RegionNames lists the spec's region names in order.
func (s Spec) RegionNames() []string {
	out := make([]string, len(s.Regions))
	for i, r := range s.Regions {
		out[i] = r.Name
	}
	return out
}

// UnmarshalJSON tolerates an empty or null ejected_until (never ejected).
// Every other field decodes as declared, so a field added to LBRegion is
// never silently dropped here.
func (r *LBRegion) UnmarshalJSON(b []byte) error {
	type plain LBRegion
	var raw struct {
		plain
		EjectedUntil string `json:"ejected_until"` // shadows plain's time.Time
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*r = LBRegion(raw.plain)
	if raw.EjectedUntil != "" {
		t, err := time.Parse(time.RFC3339Nano, raw.EjectedUntil)
		if err != nil {
			return fmt.Errorf("lb status regions[%s].ejected_until: %w", r.Name, err)
		}
		r.EjectedUntil = t
	}
	return nil
}

// Op names an operation on a region that a deployment may or may not offer.
type Op string

// The operations an external target provides through its hooks.
const (
	OpPause       Op = "pause"        // and resume
	OpKill        Op = "kill"         // a crash
	OpStart       Op = "start"        // start a killed region again, cache kept
	OpStartCold   Op = "start_cold"   // start it again with an empty cache
	OpHTTPStatus  Op = "http_status"  // answer a status (503) instead of serving, and stop
	OpFailureRate Op = "failure_rate" // fail a fraction of requests, and stop
)

// Capabilities is implemented by clusters that offer only some operations
// (an external target with the hooks its operator wrote). Can says, without
// doing anything, whether op on region is possible; a "no" wraps
// ErrUnsupported and names what the target lacks.
type Capabilities interface {
	Can(op Op, region string) error
}

// Can asks c whether op on region is possible; clusters without
// Capabilities (the local and docker providers) can do everything.
func Can(c Cluster, op Op, region string) error {
	if k, ok := c.(Capabilities); ok {
		return k.Can(op, region)
	}
	return nil
}

// Shared is implemented by clusters that outlive a row (an external target):
// the deployment keeps its sessions, caches and counters between rows, so
// a row must not reuse another row's session ids.
type Shared interface {
	Shared() bool
}
