package lb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentops/failover-harness/runtime/config/flagset"
	"github.com/agentops/failover-harness/runtime/httpsafe"
)

// RegionConfig is one weighted record.
type RegionConfig struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Weight int    `yaml:"weight"`
}

// HealthConfig configures active health checks (Route 53 semantics). It is
// the one declaration of these settings: the harness's topology.Spec and
// SRE config refer to it.
type HealthConfig struct {
	Path             string        `yaml:"path" help:"health check path on every region"`
	Interval         time.Duration `yaml:"interval" help:"health check interval"`
	Timeout          time.Duration `yaml:"timeout" help:"health check timeout"`
	FailureThreshold int           `yaml:"failure_threshold" help:"consecutive failures that take a region out of rotation (1..10)"`
	SuccessThreshold int           `yaml:"success_threshold" help:"consecutive successes that bring it back (1..10)"`
	Enabled          bool          `yaml:"enabled" help:"active health checks"`
}

// OutlierConfig configures passive ejection from real traffic.
type OutlierConfig struct {
	Enabled             bool          `yaml:"enabled" help:"outlier ejection from real traffic"`
	ConsecutiveFailures int           `yaml:"consecutive_failures" help:"consecutive 5xx/errors that eject a region"`
	Ejection            time.Duration `yaml:"ejection" help:"how long an ejected region stays out"`
}

// RetryConfig configures retries of idempotent requests.
type RetryConfig struct {
	Enabled bool `yaml:"enabled" help:"retry idempotent requests (GET/HEAD, message POSTs with a message_id) on the next region"`
	// Attempts is the total number of tries, first included.
	Attempts int `yaml:"attempts" help:"tries in all, the first included (1..10)"`
	// PerTryTimeout bounds every upstream try (headers and body).
	PerTryTimeout time.Duration `yaml:"per_try_timeout" help:"bound of every upstream try"`
}

// AlertConfig configures the no-healthy-region alert.
type AlertConfig struct {
	Webhook      string        `yaml:"webhook" help:"Alertmanager webhook URL (empty: disabled)"`
	Name         string        `yaml:"name" help:"alertname label"`
	Alertmanager string        `yaml:"alertmanager" help:"Alertmanager base URL: alerts are POSTed to its /api/v2/alerts (empty: none)"`
	Resend       time.Duration `yaml:"resend_interval" help:"how often a firing alert is re-sent to the Alertmanager (default 1m)"`
}

// Config is the global-lb configuration (docs/ARCHITECTURE.md). Every
// scalar field is also a flag of global-lb (runtime/config/flagset): its
// YAML path with dashes (health.failure_threshold: --health-failure-threshold).
type Config struct {
	Listen  string         `yaml:"listen" help:"listen address host:port (port 0: any free port)"`
	Regions []RegionConfig `yaml:"regions"`
	Health  HealthConfig   `yaml:"health"`
	Outlier OutlierConfig  `yaml:"outlier"`
	Retry   RetryConfig    `yaml:"retry"`
	Alert   AlertConfig    `yaml:"alert"`
	// Seed drives weighted random picks (addition to the documented keys;
	// optional, default 1) so a run can be replayed.
	Seed int64 `yaml:"seed" help:"seed of the weighted random picks (replayable)"`
	// ClockOffset shifts every wall time the LB reads (reported times and
	// ejection deadlines alike), so tests can prove that callers never
	// compare the LB's clock with their own. Zero in production.
	ClockOffset time.Duration `yaml:"clock_offset" help:"shift every wall time the LB reads (tests only), |x| <= 24h"`
	// HTTP bounds what one client can hold of the LB (runtime/httpsafe).
	HTTP httpsafe.Limits `yaml:"http"`
	// MaxBodyBytes bounds the request body the LB buffers (it must hold a
	// body to retry it on another region): max_in_flight × max_body_bytes
	// is the most memory clients can pin.
	MaxBodyBytes int64 `yaml:"max_body_bytes" help:"largest request body the LB buffers; beyond it 413 BODY_TOO_LARGE (1..67108864)"`
	// StatusToken, when set, is the bearer token GET /lb/status requires:
	// the status names internal URLs and dial errors. Empty keeps it open,
	// as the harness's tests read it; set it outside tests.
	StatusToken string `yaml:"status_token" help:"bearer token GET /lb/status requires (empty: open, for tests only)"`
	// Failpoints plant known bugs, so a harness can prove it finds them
	// (as agent-runtime's failpoints). Off by default; never set in production.
	Failpoints Failpoints `yaml:"failpoints"`
}

// Failpoints are the LB's planted bugs, each off by default.
type Failpoints struct {
	// AlertStorm pages on-call again and again: while no region is in
	// rotation every health round also fires a new alert, <alert.name>-<n>,
	// as a sender that labels each round anew would (an Alertmanager
	// grouping by alertname notifies each); all resolve with the incident.
	AlertStorm bool `yaml:"alert_storm" help:"PLANTED BUG (tests only): fire a new alert every health round while no region is in rotation"`
}

// DefaultMaxBodyBytes is max_body_bytes' default: the regions' own limit
// (a larger body would be refused by the region anyway).
const DefaultMaxBodyBytes = 1 << 20

// maxMaxBodyBytes bounds max_body_bytes: the LB holds every buffered body in
// memory, max_in_flight of them at once.
const maxMaxBodyBytes = 64 << 20

// MaxClockOffset bounds ClockOffset either way.
const MaxClockOffset = 24 * time.Hour

// Default returns the configuration with every default filled in.
func Default() Config {
	return Config{
		Listen:       "127.0.0.1:0",
		Health:       HealthConfig{Path: "/health", Interval: 10 * time.Second, Timeout: 2 * time.Second, FailureThreshold: 3, SuccessThreshold: 2, Enabled: true},
		Outlier:      OutlierConfig{Enabled: true, ConsecutiveFailures: 3, Ejection: 5 * time.Second},
		Retry:        RetryConfig{Enabled: true, Attempts: 2, PerTryTimeout: 2 * time.Second},
		Alert:        AlertConfig{Name: "NoHealthyRegion"},
		Seed:         1,
		HTTP:         httpsafe.Defaults(),
		MaxBodyBytes: DefaultMaxBodyBytes,
	}
}

// Flags is global-lb's flag set: --config plus one flag per scalar field of
// Config (runtime/config/flagset), the scheme agent-runtime shares. The
// binary adds its own --region and --shutdown-timeout.
func Flags() *flagset.Set { return flagset.New("global-lb", Default()) }

// LoadConfig reads a YAML file over the defaults and validates it.
func LoadConfig(path string) (Config, error) {
	data, err := flagset.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(bytes.NewReader(data))
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// ParseConfig decodes YAML over the defaults, refusing unknown keys, with
// errors naming the field (flagset.DecodeYAML, as agent-runtime's). It does
// not validate, so flag overrides can be applied first.
func ParseConfig(r io.Reader) (Config, error) {
	c := Default()
	data, err := io.ReadAll(io.LimitReader(r, flagset.MaxFileSize+1))
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if len(data) > flagset.MaxFileSize {
		return c, fmt.Errorf("config: larger than %d bytes", flagset.MaxFileSize)
	}
	return c, flagset.DecodeYAML(data, &c)
}

// Validate checks every field; the error names the field path.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: must be host:port: %v", err)
	}
	if len(c.Regions) == 0 {
		return errors.New("regions: at least one region is required")
	}
	seen := map[string]bool{}
	total := 0
	for i, r := range c.Regions {
		if r.Name == "" {
			return fmt.Errorf("regions[%d].name: must not be empty", i)
		}
		if seen[r.Name] {
			return fmt.Errorf("regions[%d].name: duplicate region %q", i, r.Name)
		}
		seen[r.Name] = true
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("regions[%d].url: must be an http(s) URL with a host, got %q", i, r.URL)
		}
		if r.Weight < 0 || r.Weight > 255 { // Route 53 weights are 0..255
			return fmt.Errorf("regions[%d].weight: must be between 0 and 255", i)
		}
		total += r.Weight
	}
	if !strings.HasPrefix(c.Health.Path, "/") {
		return errors.New("health.path: must start with /")
	}
	if c.Health.Interval <= 0 {
		return errors.New("health.interval: must be > 0")
	}
	if c.Health.Timeout <= 0 {
		return errors.New("health.timeout: must be > 0")
	}
	if c.Health.FailureThreshold < 1 || c.Health.FailureThreshold > 10 {
		return errors.New("health.failure_threshold: must be between 1 and 10")
	}
	if c.Health.SuccessThreshold < 1 || c.Health.SuccessThreshold > 10 {
		return errors.New("health.success_threshold: must be between 1 and 10")
	}
	if c.Outlier.ConsecutiveFailures < 1 {
		return errors.New("outlier.consecutive_failures: must be >= 1")
	}
	if c.Outlier.Ejection <= 0 {
		return errors.New("outlier.ejection: must be > 0")
	}
	if c.Retry.Attempts < 1 || c.Retry.Attempts > 10 {
		return errors.New("retry.attempts: must be between 1 and 10")
	}
	if c.Retry.PerTryTimeout <= 0 {
		return errors.New("retry.per_try_timeout: must be > 0")
	}
	if c.Alert.Alertmanager != "" {
		u, err := url.Parse(c.Alert.Alertmanager)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("alert.alertmanager: must be an http(s) URL, got %q", c.Alert.Alertmanager)
		}
	}
	if c.Alert.Resend < 0 || c.Alert.Resend > time.Hour {
		return fmt.Errorf("alert.resend_interval: %s must be within 0..1h (0: 1m)", c.Alert.Resend)
	}
	if c.Alert.Webhook != "" {
		u, err := url.Parse(c.Alert.Webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("alert.webhook: must be an http(s) URL, got %q", c.Alert.Webhook)
		}
	}
	if c.Alert.Name == "" {
		return errors.New("alert.name: must not be empty")
	}
	if err := c.HTTP.Validate("http"); err != nil {
		return err
	}
	if c.MaxBodyBytes < 1 || c.MaxBodyBytes > maxMaxBodyBytes {
		return fmt.Errorf("max_body_bytes: must be between 1 and %d, got %d", maxMaxBodyBytes, c.MaxBodyBytes)
	}
	// The token travels in a header: bytes a header cannot carry, or that
	// a client would trim, make it unusable.
	for _, ch := range []byte(c.StatusToken) {
		if ch <= ' ' || ch >= 0x7f {
			return errors.New("status_token: must be printable ASCII without spaces")
		}
	}
	if c.ClockOffset < -MaxClockOffset || c.ClockOffset > MaxClockOffset {
		return fmt.Errorf("clock_offset: must be between -%v and %v, got %v", MaxClockOffset, MaxClockOffset, c.ClockOffset)
	}
	return nil
}

// ParseRegion parses "name=url@weight" (weight optional, default 1), the
// command-line form of a regions entry.
func ParseRegion(s string) (RegionConfig, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return RegionConfig{}, fmt.Errorf("regions: %q must be name=url[@weight]", s)
	}
	rc := RegionConfig{Name: name, URL: rest, Weight: 1}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		w, err := strconv.Atoi(rest[i+1:])
		if err != nil {
			return RegionConfig{}, fmt.Errorf("regions: %q: weight: %v", s, err)
		}
		rc.URL, rc.Weight = rest[:i], w
	}
	return rc, nil
}
