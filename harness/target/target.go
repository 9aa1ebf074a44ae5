// Package target reads the target file of `--provider external`: a deployed
// topology named by its URLs, the secrets it needs by environment-variable
// name (never literal values), the toxiproxy its operator runs in front of
// its dependencies, and the commands (hooks) that pause, kill, start or
// fail a region. Errors name the field, as `validate` does for a config.
package target

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// File is a target file.
type File struct {
	// Config is the SRE failover config that describes the deployment (the
	// file `validate` reads), relative to the target file; empty: the
	// harness's built-in settings. The harness judges by it.
	Config string `yaml:"config,omitempty"`
	// TimeScale is how much faster than Config the deployment's intervals
	// run (1, the default, for a real deployment; `chaos up` writes its own).
	TimeScale float64 `yaml:"time_scale,omitempty"`
	// ReadyTimeout bounds how long a row waits for the deployment to be
	// whole (every region in rotation) before it starts; default 2m.
	ReadyTimeout Duration `yaml:"ready_timeout,omitempty"`

	LB      LB       `yaml:"lb,omitempty"`
	Regions []Region `yaml:"regions,omitempty"`
	// AdminTokenEnv names the variable holding the regions' admin token.
	AdminTokenEnv string     `yaml:"admin_token_env,omitempty"`
	Toxiproxy     *Toxiproxy `yaml:"toxiproxy,omitempty"`
	Alerts        Alerts     `yaml:"alerts,omitempty"`
	// Prometheus is the operator's Prometheus, which scrapes the
	// deployment: PromQL probes and stop conditions are judged against it.
	Prometheus struct {
		URL string `yaml:"url,omitempty"`
	} `yaml:"prometheus,omitempty"`
	// Hooks apply to every region; a region's own hooks replace them one by one.
	Hooks Hooks `yaml:"hooks,omitempty"`

	dir string // the file's folder: Config is relative to it
}

// LB is the global entry point.
type LB struct {
	URL string `yaml:"url,omitempty"`
	// StatusTokenEnv names the variable holding the bearer token of
	// GET /lb/status, when the LB asks for one.
	StatusTokenEnv string `yaml:"status_token_env,omitempty"`
}

// Region is one region of the deployment.
type Region struct {
	Name       string `yaml:"name,omitempty"`
	URL        string `yaml:"url,omitempty"`         // its agent API
	AdminURL   string `yaml:"admin_url,omitempty"`   // default: url
	MetricsURL string `yaml:"metrics_url,omitempty"` // default: url + /metrics
	// PeerKeyEnv names the variable holding the region's warmup signing key
	// (the hex seed of its Ed25519 key): the security rows sign as a
	// compromised peer with it, and are skipped without it.
	PeerKeyEnv string `yaml:"peer_key_env,omitempty"`
	// Vars are the hooks' template values for this region ({{.Container}},
	// {{.Namespace}}, ...); {{.Region}} is always its name.
	Vars  map[string]string `yaml:"vars,omitempty"`
	Hooks Hooks             `yaml:"hooks,omitempty"`
}

// Toxiproxy is the toxiproxy API the operator runs in front of the links.
type Toxiproxy struct {
	URL string `yaml:"url,omitempty"`
	// Links maps a link (us-east-1->dynamodb, us-east-1->redis,
	// us-east-1->eu-west-1, lb->us-east-1) to its proxy's name; a link left
	// out is not proxied. Empty: every proxy named like a link is used.
	Links map[string]string `yaml:"links,omitempty"`
}

// Alerts says where the deployment's alerts reach the harness.
type Alerts struct {
	// Listen is the address the harness receives the deployment's
	// Alertmanager webhook on, for the rows that judge paging; empty: those
	// rows are skipped.
	Listen string `yaml:"listen,omitempty"`
}

// Hooks are the commands that act on a region. Each is a text/template
// rendered with the region's vars and run by /bin/sh -c.
type Hooks struct {
	Pause          *Hook `yaml:"pause,omitempty"`
	Resume         *Hook `yaml:"resume,omitempty"`
	Kill           *Hook `yaml:"kill,omitempty"`
	Start          *Hook `yaml:"start,omitempty"`
	StartCold      *Hook `yaml:"start_cold,omitempty"`       // start with an empty cache
	HTTP503On      *Hook `yaml:"http503_on,omitempty"`       // {{.Status}} is the status to answer (503)
	HTTP503Off     *Hook `yaml:"http503_off,omitempty"`      //
	FailureRate    *Hook `yaml:"failure_rate,omitempty"`     // {{.Rate}} is the fraction to fail, 0..1
	FailureRateOff *Hook `yaml:"failure_rate_off,omitempty"` //
}

// Hook is one command template and how long it may take.
type Hook struct {
	Command string   `yaml:"command,omitempty"`
	Timeout Duration `yaml:"timeout,omitempty"` // default DefaultHookTimeout
}

// DefaultHookTimeout bounds a hook without its own timeout.
const DefaultHookTimeout = 30 * time.Second

// Duration is a time.Duration written as "30s" in YAML.
type Duration time.Duration

// UnmarshalYAML reads "30s".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 30s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes "30s".
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Load reads and checks a target file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f.dir = filepath.Dir(abs)
	return f, nil
}

// Parse decodes and checks a target file's bytes. Unknown fields are errors.
func Parse(b []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

var (
	regionRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	envRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate reports every field that cannot work, each by its path.
func (f *File) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	checkURL := func(field, v string, required bool) {
		if v == "" {
			if required {
				bad(field, "required")
			}
			return
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(field, "%q is not an http(s) URL", v)
		}
	}
	checkEnv := func(field, v string) {
		if v != "" && !envRe.MatchString(v) {
			bad(field, "%q is not an environment variable name (the target names secrets, never holds them)", v)
		}
	}
	if f.TimeScale < 0 {
		bad("time_scale", "%v is negative", f.TimeScale)
	}
	if f.ReadyTimeout < 0 {
		bad("ready_timeout", "negative")
	}
	checkURL("lb.url", f.LB.URL, true)
	checkEnv("lb.status_token_env", f.LB.StatusTokenEnv)
	checkEnv("admin_token_env", f.AdminTokenEnv)
	if f.AdminTokenEnv == "" {
		bad("admin_token_env", "required: the rows read each region's router through its admin API")
	}
	if len(f.Regions) == 0 {
		bad("regions", "at least one region required")
	}
	seen := map[string]bool{}
	for i, r := range f.Regions {
		p := fmt.Sprintf("regions[%d]", i)
		switch {
		case !regionRe.MatchString(r.Name):
			bad(p+".name", "%q is not a region name (lowercase letters, digits, dashes)", r.Name)
		case seen[r.Name]:
			bad(p+".name", "duplicate %q", r.Name)
		}
		seen[r.Name] = true
		checkURL(p+".url", r.URL, true)
		checkURL(p+".admin_url", r.AdminURL, false)
		checkURL(p+".metrics_url", r.MetricsURL, false)
		checkEnv(p+".peer_key_env", r.PeerKeyEnv)
		for k := range r.Vars {
			if !envRe.MatchString(k) {
				bad(p+".vars."+k, "not a template name (letters, digits, _)")
			}
		}
		errs = append(errs, r.Hooks.validate(p+".hooks")...)
	}
	errs = append(errs, f.Hooks.validate("hooks")...)
	if f.Toxiproxy != nil {
		checkURL("toxiproxy.url", f.Toxiproxy.URL, true)
		for link, proxy := range f.Toxiproxy.Links {
			if proxy == "" {
				bad("toxiproxy.links."+link, "empty proxy name")
			}
			if !knownLink(link, seen) {
				bad("toxiproxy.links."+link, "not a link of these regions (REGION->dynamodb, REGION->redis, REGION->REGION, lb->REGION)")
			}
		}
	}
	checkURL("prometheus.url", f.Prometheus.URL, false)
	if a := f.Alerts.Listen; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("alerts.listen", "%q is not host:port", a)
		}
	}
	// Every hook must render for every region: a missing var is found now,
	// not in the middle of a fault.
	for _, r := range f.Regions {
		for _, h := range f.HooksOf(r.Name).list() {
			if h.hook == nil {
				continue
			}
			if _, err := h.hook.Render(f.vars(r, map[string]any{"Status": 503, "Rate": 0.5})); err != nil {
				bad(fmt.Sprintf("regions[%s] hook %s", r.Name, h.name), "%v", err)
			}
		}
	}
	return errors.Join(errs...)
}

func knownLink(link string, regions map[string]bool) bool {
	from, to, ok := strings.Cut(link, "->")
	if !ok {
		return false
	}
	if from == "lb" {
		return regions[to]
	}
	return regions[from] && (to == "dynamodb" || to == "redis" || regions[to] && to != from)
}

type namedHook struct {
	name string
	hook *Hook
}

func (h Hooks) list() []namedHook {
	return []namedHook{
		{"pause", h.Pause}, {"resume", h.Resume}, {"kill", h.Kill}, {"start", h.Start}, {"start_cold", h.StartCold},
		{"http503_on", h.HTTP503On}, {"http503_off", h.HTTP503Off}, {"failure_rate", h.FailureRate}, {"failure_rate_off", h.FailureRateOff},
	}
}

func (h Hooks) validate(p string) []error {
	var errs []error
	for _, n := range h.list() {
		if n.hook == nil {
			continue
		}
		if strings.TrimSpace(n.hook.Command) == "" {
			errs = append(errs, fmt.Errorf("%s.%s.command: required", p, n.name))
		}
		if n.hook.Timeout < 0 {
			errs = append(errs, fmt.Errorf("%s.%s.timeout: negative", p, n.name))
		}
	}
	return errs
}

// HooksOf is the hooks of a region: its own, else the file's.
func (f *File) HooksOf(region string) Hooks {
	h := f.Hooks
	for _, r := range f.Regions {
		if r.Name != region {
			continue
		}
		own := r.Hooks
		over := func(dst **Hook, src *Hook) {
			if src != nil {
				*dst = src
			}
		}
		over(&h.Pause, own.Pause)
		over(&h.Resume, own.Resume)
		over(&h.Kill, own.Kill)
		over(&h.Start, own.Start)
		over(&h.StartCold, own.StartCold)
		over(&h.HTTP503On, own.HTTP503On)
		over(&h.HTTP503Off, own.HTTP503Off)
		over(&h.FailureRate, own.FailureRate)
		over(&h.FailureRateOff, own.FailureRateOff)
	}
	return h
}

// Vars are the template values of a hook on region, with extra ones.
func (f *File) Vars(region string, extra map[string]any) map[string]any {
	for _, r := range f.Regions {
		if r.Name == region {
			return f.vars(r, extra)
		}
	}
	return map[string]any{"Region": region}
}

func (f *File) vars(r Region, extra map[string]any) map[string]any {
	v := map[string]any{"Region": r.Name}
	for k, x := range r.Vars {
		v[k] = x
	}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// ConfigPath is the absolute path of the deployment's config, or "" for
// the built-in settings.
func (f *File) ConfigPath() string {
	if f.Config == "" || filepath.IsAbs(f.Config) {
		return f.Config
	}
	return filepath.Join(f.dir, f.Config)
}

// Scale is TimeScale with its default.
func (f *File) Scale() float64 {
	if f.TimeScale <= 0 {
		return 1
	}
	return f.TimeScale
}

// Ready is ReadyTimeout with its default.
func (f *File) Ready() time.Duration {
	if f.ReadyTimeout <= 0 {
		return 2 * time.Minute
	}
	return time.Duration(f.ReadyTimeout)
}

// Secret reads the variable a field names; missing or empty is an error
// naming both.
func Secret(field, env string) (string, error) {
	if env == "" {
		return "", nil
	}
	v := os.Getenv(env)
	if v == "" {
		return "", fmt.Errorf("%s: environment variable %s is not set", field, env)
	}
	return v, nil
}

// MissingSecrets lists the variables the file names that are unset.
func (f *File) MissingSecrets() []string {
	var out []string
	check := func(field, env string) {
		if _, err := Secret(field, env); err != nil {
			out = append(out, err.Error())
		}
	}
	check("admin_token_env", f.AdminTokenEnv)
	check("lb.status_token_env", f.LB.StatusTokenEnv)
	for i, r := range f.Regions {
		check(fmt.Sprintf("regions[%d].peer_key_env", i), r.PeerKeyEnv)
	}
	sort.Strings(out)
	return out
}

// Write writes f as YAML with a header comment, mode 0644 (it holds no secret).
func (f *File) Write(path, header string) error {
	b, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		buf.WriteString("# " + l + "\n")
	}
	buf.Write(b)
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
