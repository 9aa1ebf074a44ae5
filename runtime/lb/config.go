package lb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// RegionConfig is one weighted record.
type RegionConfig struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Weight int    `yaml:"weight"`
}

// HealthConfig configures active health checks (Route 53 semantics).
type HealthConfig struct {
	Path             string        `yaml:"path"`
	Interval         time.Duration `yaml:"interval"`
	Timeout          time.Duration `yaml:"timeout"`
	FailureThreshold int           `yaml:"failure_threshold"`
	SuccessThreshold int           `yaml:"success_threshold"`
	Enabled          bool          `yaml:"enabled"`
}

// OutlierConfig configures passive ejection from real traffic.
type OutlierConfig struct {
	Enabled             bool          `yaml:"enabled"`
	ConsecutiveFailures int           `yaml:"consecutive_failures"`
	Ejection            time.Duration `yaml:"ejection"`
}

// RetryConfig configures retries of idempotent requests.
type RetryConfig struct {
	Enabled bool `yaml:"enabled"`
	// Attempts is the total number of tries, first included.
	Attempts int `yaml:"attempts"`
	// PerTryTimeout bounds every upstream try (headers and body).
	PerTryTimeout time.Duration `yaml:"per_try_timeout"`
}

// AlertConfig configures the no-healthy-region alert.
type AlertConfig struct {
	Webhook string `yaml:"webhook"`
	Name    string `yaml:"name"`
}

// Config is the global-lb configuration (docs/ARCHITECTURE.md).
type Config struct {
	Listen  string         `yaml:"listen"`
	Regions []RegionConfig `yaml:"regions"`
	Health  HealthConfig   `yaml:"health"`
	Outlier OutlierConfig  `yaml:"outlier"`
	Retry   RetryConfig    `yaml:"retry"`
	Alert   AlertConfig    `yaml:"alert"`
	// Seed drives weighted random picks (addition to the documented keys;
	// optional, default 1) so a run can be replayed.
	Seed int64 `yaml:"seed"`
	// ClockOffset shifts every wall time the LB reads (reported times and
	// ejection deadlines alike), so tests can prove that callers never
	// compare the LB's clock with their own. Zero in production.
	ClockOffset time.Duration `yaml:"clock_offset"`
}

// MaxClockOffset bounds ClockOffset either way.
const MaxClockOffset = 24 * time.Hour

// Default returns the configuration with every default filled in.
func Default() Config {
	return Config{
		Listen:  "127.0.0.1:0",
		Health:  HealthConfig{Path: "/health", Interval: 10 * time.Second, Timeout: 2 * time.Second, FailureThreshold: 3, SuccessThreshold: 2, Enabled: true},
		Outlier: OutlierConfig{Enabled: true, ConsecutiveFailures: 3, Ejection: 5 * time.Second},
		Retry:   RetryConfig{Enabled: true, Attempts: 2, PerTryTimeout: 2 * time.Second},
		Alert:   AlertConfig{Name: "NoHealthyRegion"},
		Seed:    1,
	}
}

// LoadConfig reads a YAML file over the defaults and validates it.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := ParseConfig(io.LimitReader(f, 1<<20))
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// ParseConfig decodes YAML over the defaults, refusing unknown keys. It does
// not validate, so flag overrides can be applied first.
func ParseConfig(r io.Reader) (Config, error) {
	c := Default()
	data, err := io.ReadAll(r)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return c, nameFields(data, te)
		}
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// keyAt is one mapping key of a YAML document with its field path.
type keyAt struct {
	path  string
	name  string
	line  int
	value *yaml.Node
}

func collectKeys(n *yaml.Node, path string, out *[]keyAt) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			collectKeys(c, path, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			collectKeys(c, fmt.Sprintf("%s[%d]", path, i), out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			*out = append(*out, keyAt{path: p, name: k.Value, line: k.Line, value: v})
			collectKeys(v, p, out)
		}
	}
}

// nameFields rewrites yaml's line-numbered type errors so each names the
// field path it is about ("health.interval: line 3: cannot unmarshal ...").
func nameFields(data []byte, te *yaml.TypeError) error {
	var root yaml.Node
	var keys []keyAt
	if yaml.Unmarshal(data, &root) == nil {
		collectKeys(&root, "", &keys)
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, msg := range te.Errors {
		var line int
		if _, err := fmt.Sscanf(msg, "line %d:", &line); err != nil {
			msgs = append(msgs, msg)
			continue
		}
		field := ""
		if _, rest, ok := strings.Cut(msg, "field "); ok && strings.Contains(rest, " not found") {
			name, _, _ := strings.Cut(rest, " ")
			for _, k := range keys {
				if k.line == line && k.name == name {
					field = k.path
				}
			}
		}
		for _, k := range keys {
			if field == "" && k.line == line && k.value.Kind == yaml.ScalarNode && strings.Contains(msg, "`"+k.value.Value+"`") {
				field = k.path
			}
		}
		if field == "" {
			for _, k := range keys {
				if k.line == line {
					field = k.path // deepest key on that line
				}
			}
		}
		if field != "" {
			msg = field + ": " + msg
		}
		msgs = append(msgs, msg)
	}
	return fmt.Errorf("config: %s", strings.Join(msgs, "; "))
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
	if c.Alert.Webhook != "" {
		u, err := url.Parse(c.Alert.Webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("alert.webhook: must be an http(s) URL, got %q", c.Alert.Webhook)
		}
	}
	if c.Alert.Name == "" {
		return errors.New("alert.name: must not be empty")
	}
	if c.ClockOffset < -MaxClockOffset || c.ClockOffset > MaxClockOffset {
		return fmt.Errorf("clock_offset: must be between -%v and %v, got %v", MaxClockOffset, MaxClockOffset, c.ClockOffset)
	}
	return nil
}

// ScalarFields lists the field paths Set accepts, one per scalar config key.
var ScalarFields = []string{
	"listen", "seed", "clock_offset",
	"health.path", "health.interval", "health.timeout", "health.failure_threshold", "health.success_threshold", "health.enabled",
	"outlier.enabled", "outlier.consecutive_failures", "outlier.ejection",
	"retry.enabled", "retry.attempts", "retry.per_try_timeout",
	"alert.webhook", "alert.name",
}

// Set overrides one scalar field by its path (as in ScalarFields) from its
// string form; the error names the field.
func (c *Config) Set(field, value string) error {
	bad := func(err error) error { return fmt.Errorf("%s: invalid value %q: %v", field, value, err) }
	dur := func(dst *time.Duration) error {
		d, err := time.ParseDuration(value)
		if err != nil {
			return bad(err)
		}
		*dst = d
		return nil
	}
	integer := func(dst *int) error {
		n, err := strconv.Atoi(value)
		if err != nil {
			return bad(err)
		}
		*dst = n
		return nil
	}
	boolean := func(dst *bool) error {
		b, err := strconv.ParseBool(value)
		if err != nil {
			return bad(err)
		}
		*dst = b
		return nil
	}
	switch field {
	case "listen":
		c.Listen = value
	case "seed":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return bad(err)
		}
		c.Seed = n
	case "clock_offset":
		return dur(&c.ClockOffset)
	case "health.path":
		c.Health.Path = value
	case "health.interval":
		return dur(&c.Health.Interval)
	case "health.timeout":
		return dur(&c.Health.Timeout)
	case "health.failure_threshold":
		return integer(&c.Health.FailureThreshold)
	case "health.success_threshold":
		return integer(&c.Health.SuccessThreshold)
	case "health.enabled":
		return boolean(&c.Health.Enabled)
	case "outlier.enabled":
		return boolean(&c.Outlier.Enabled)
	case "outlier.consecutive_failures":
		return integer(&c.Outlier.ConsecutiveFailures)
	case "outlier.ejection":
		return dur(&c.Outlier.Ejection)
	case "retry.enabled":
		return boolean(&c.Retry.Enabled)
	case "retry.attempts":
		return integer(&c.Retry.Attempts)
	case "retry.per_try_timeout":
		return dur(&c.Retry.PerTryTimeout)
	case "alert.webhook":
		c.Alert.Webhook = value
	case "alert.name":
		c.Alert.Name = value
	default:
		return fmt.Errorf("%s: unknown field", field)
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
