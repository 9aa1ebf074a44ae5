package prom

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func testOptions(dir string) Options {
	return Options{
		Interval: 250 * time.Millisecond,
		Regions:  map[string]string{"us-east-1": "127.0.0.1:9101", "eu-west-1": "127.0.0.1:9102", "ap-southeast-1": "127.0.0.1:9103"},
		LB:       "127.0.0.1:9100", LBToken: "tok-123",
		RulesFile: filepath.Join(dir, "rules.yml"),
	}
}

// The generated prometheus.yml, with the generated rules beside it, passes
// `promtool check config` (which checks the rule file too), and says what
// the harness relies on: a job per region and one for the LB, intervals in
// milliseconds, the LB's bearer token.
func TestConfigPassesPromtoolCheck(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	rules, err := Rules(RuleOptionsFor(o.Interval))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, o.RulesFile, rules)
	b, err := Config(o)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "prometheus.yml"), b)
	t.Logf("prometheus.yml:\n%s", b)

	var doc struct {
		Global map[string]string `yaml:"global"`
		Rules  []string          `yaml:"rule_files"`
		Jobs   []struct {
			Name   string            `yaml:"job_name"`
			Path   string            `yaml:"metrics_path"`
			Auth   map[string]string `yaml:"authorization"`
			Static []struct {
				Targets []string          `yaml:"targets"`
				Labels  map[string]string `yaml:"labels"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Global["scrape_interval"] != "250ms" || doc.Global["evaluation_interval"] != "250ms" || doc.Global["scrape_timeout"] != "250ms" {
		t.Errorf("global: %v", doc.Global)
	}
	if len(doc.Rules) != 1 || doc.Rules[0] != o.RulesFile {
		t.Errorf("rule_files: %v", doc.Rules)
	}
	jobs := map[string]int{}
	for i, j := range doc.Jobs {
		jobs[j.Name] = i
	}
	for name, addr := range o.Regions {
		i, ok := jobs[RegionJob(name)]
		if !ok {
			t.Errorf("no job %s in %v", RegionJob(name), jobs)
			continue
		}
		j := doc.Jobs[i]
		if j.Path != "/metrics" || j.Static[0].Targets[0] != addr || j.Static[0].Labels["region"] != name || j.Auth != nil {
			t.Errorf("job %s: %+v", j.Name, j)
		}
	}
	if i, ok := jobs[LBJob]; !ok {
		t.Errorf("no job %s", LBJob)
	} else if j := doc.Jobs[i]; j.Path != "/lb/metrics" || j.Static[0].Targets[0] != o.LB || j.Auth["type"] != "Bearer" || j.Auth["credentials"] != o.LBToken {
		t.Errorf("job %s: %+v", j.Name, j)
	}

	out, err := promtool(t, dir, "check", "config", "prometheus.yml")
	if err != nil || !strings.Contains(out, "SUCCESS: prometheus.yml is valid") || !strings.Contains(out, "SUCCESS: 4 rules found") {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}

	// Without a token the LB job has no authorization block, still valid.
	o.LBToken = ""
	if b, err = Config(o); err != nil || strings.Contains(string(b), "authorization") {
		t.Fatalf("no token: %v\n%s", err, b)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for want, mutate := range map[string]func(*Options){
		"prometheus.interval":           func(o *Options) { o.Interval = 0 },
		"prometheus.regions":            func(o *Options) { o.Regions = nil },
		`prometheus.regions["a b"]`:     func(o *Options) { o.Regions["a b"] = "127.0.0.1:1" },
		"prometheus.regions[eu-west-1]": func(o *Options) { o.Regions["eu-west-1"] = "127.0.0.1" },
		"prometheus.lb":                 func(o *Options) { o.LB = "127.0.0.1:99999" },
		"prometheus.lb_token":           func(o *Options) { o.LBToken = "two words" },
	} {
		o := testOptions(t.TempDir())
		mutate(&o)
		if _, err := Config(o); err == nil || !strings.HasPrefix(err.Error(), want+":") {
			t.Errorf("%s: got %v", want, err)
		}
	}
}
