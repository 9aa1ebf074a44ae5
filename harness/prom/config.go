package prom

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Job names of the generated scrape configuration: RegionJob(name) per
// region, LBJob for the global LB.
const LBJob = "global-lb"

// RegionJob is the scrape job of a region's runtime.
func RegionJob(region string) string { return "region-" + region }

// Paths scraped: a region's runtime and the LB's own endpoint (which needs
// the LB's status_token as a bearer token when one is set).
const (
	RegionMetricsPath = "/metrics"
	LBMetricsPath     = "/lb/metrics"
)

// Options are what a generated prometheus.yml says.
type Options struct {
	// Interval is the scrape and rule evaluation interval (and the scrape
	// timeout: a scrape never outlives its interval).
	Interval time.Duration
	// Regions maps a region name to its runtime's host:port (scraped
	// directly, not through its fault gate).
	Regions map[string]string
	// LB is the global LB's host:port; LBToken its status_token ("" when
	// none is configured).
	LB      string
	LBToken string
	// RulesFile is the rule file to load ("" loads none).
	RulesFile string
}

var regionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Validate names the option that cannot work.
func (o Options) Validate() error {
	if o.Interval < time.Millisecond {
		return fmt.Errorf("prometheus.interval: %v must be >= 1ms", o.Interval)
	}
	if len(o.Regions) == 0 {
		return errors.New("prometheus.regions: none")
	}
	for _, name := range sortedKeys(o.Regions) {
		if !regionName.MatchString(name) {
			return fmt.Errorf("prometheus.regions[%q]: a region name is 1-63 characters of A-Za-z0-9._- starting with a letter or digit", name)
		}
		if err := checkHostPort(o.Regions[name]); err != nil {
			return fmt.Errorf("prometheus.regions[%s]: %w", name, err)
		}
	}
	if err := checkHostPort(o.LB); err != nil {
		return fmt.Errorf("prometheus.lb: %w", err)
	}
	for _, c := range o.LBToken {
		if c <= ' ' || c == 0x7f {
			return errors.New("prometheus.lb_token: must be printable, without spaces")
		}
	}
	return nil
}

func checkHostPort(a string) error {
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", a, err)
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || h == "" {
		return fmt.Errorf("%q is not host:port with a port 1-65535", a)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// marshal is YAML with two-space indentation, as Prometheus's docs write it.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// promDuration is a duration as Prometheus writes it (250ms, 1m30s).
func promDuration(d time.Duration) string { return model.Duration(d).String() }

// Config is prometheus.yml for o: one job per region (its runtime's
// /metrics, target label region; honor_labels keeps the runtime's own
// region label rather than an exported_region copy), one for the LB
// (/lb/metrics, bearer token when set; its series are labelled with the
// regions they describe), and o.RulesFile.
func Config(o Options) ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	type auth struct {
		Type        string `yaml:"type"`
		Credentials string `yaml:"credentials"`
	}
	type static struct {
		Targets []string          `yaml:"targets"`
		Labels  map[string]string `yaml:"labels,omitempty"`
	}
	type job struct {
		Name          string   `yaml:"job_name"`
		MetricsPath   string   `yaml:"metrics_path"`
		Scheme        string   `yaml:"scheme"`
		HonorLabels   bool     `yaml:"honor_labels,omitempty"`
		Authorization *auth    `yaml:"authorization,omitempty"`
		Static        []static `yaml:"static_configs"`
	}
	iv := promDuration(o.Interval)
	doc := struct {
		Global struct {
			ScrapeInterval     string `yaml:"scrape_interval"`
			ScrapeTimeout      string `yaml:"scrape_timeout"`
			EvaluationInterval string `yaml:"evaluation_interval"`
		} `yaml:"global"`
		RuleFiles []string `yaml:"rule_files,omitempty"`
		Scrape    []job    `yaml:"scrape_configs"`
	}{}
	doc.Global.ScrapeInterval, doc.Global.ScrapeTimeout, doc.Global.EvaluationInterval = iv, iv, iv
	if o.RulesFile != "" {
		doc.RuleFiles = []string{o.RulesFile}
	}
	for _, name := range sortedKeys(o.Regions) {
		doc.Scrape = append(doc.Scrape, job{Name: RegionJob(name), MetricsPath: RegionMetricsPath, Scheme: "http", HonorLabels: true,
			Static: []static{{Targets: []string{o.Regions[name]}, Labels: map[string]string{"region": name}}}})
	}
	lb := job{Name: LBJob, MetricsPath: LBMetricsPath, Scheme: "http", Static: []static{{Targets: []string{o.LB}}}}
	if o.LBToken != "" {
		lb.Authorization = &auth{Type: "Bearer", Credentials: o.LBToken}
	}
	doc.Scrape = append(doc.Scrape, lb)
	return marshal(doc)
}
