package docker

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/agentops/failover-harness/harness/prom"
	"github.com/agentops/failover-harness/harness/topology"
)

func observeSpec() topology.Spec {
	spec := topology.DefaultSpec()
	spec.AlertsEnabled, spec.Alertmanager, spec.RegionAlerts, spec.Prometheus = true, true, true, true
	spec.AlertResend = 700 * time.Millisecond
	return spec
}

// With an Alertmanager the LB and the regions post to its API by its alias,
// re-sending as the spec says, and none of them notifies on-call itself;
// the configs are still what the binaries load.
func TestAlertmanagerWiresSendersToIt(t *testing.T) {
	spec := observeSpec()
	c := &cluster{spec: spec, sec: newSecrets(spec), alertBase: "http://172.18.0.1:9"}
	c.links = planLinks(spec, testGates(spec))
	b, err := lbYAML(spec, c.links, c.sec, c.lbAlerts())
	if err != nil {
		t.Fatal(err)
	}
	if got := loadLB(t, b); got.Alert.Alertmanager != "http://alertmanager:9093" || got.Alert.Resend != 700*time.Millisecond || got.Alert.Webhook != "" {
		t.Fatalf("LB alert config %+v: want the Alertmanager, resend 700ms, no webhook", got.Alert)
	}
	for _, r := range spec.RegionNames() {
		b, err := runtimeYAML(spec, r, c.links, c.sec, c.regionAlerts(r))
		if err != nil {
			t.Fatal(err)
		}
		if got := loadRuntime(t, b); got.Alert.Alertmanager != "http://alertmanager:9093" || got.Alert.Resend != 700*time.Millisecond || got.Alert.Webhook != "" {
			t.Fatalf("%s alert config %+v: want the Alertmanager, resend 700ms, no webhook", r, got.Alert)
		}
	}

	// Without RegionAlerts the regions send nothing; without the
	// Alertmanager the webhooks are the sink's, as before.
	c.spec.RegionAlerts = false
	if d := c.regionAlerts("us-east-1"); d != (alertDest{}) {
		t.Errorf("regions without RegionAlerts: %+v", d)
	}
	c.spec.RegionAlerts, c.spec.Alertmanager = true, false
	if d := c.lbAlerts(); d != (alertDest{Webhook: "http://172.18.0.1:9/lb"}) {
		t.Errorf("LB without an Alertmanager: %+v", d)
	}
	if d := c.regionAlerts("eu-west-1"); d != (alertDest{Webhook: "http://172.18.0.1:9/region/eu-west-1"}) {
		t.Errorf("region without an Alertmanager: %+v", d)
	}
	c.spec.Alertmanager, c.spec.AlertsEnabled = true, false
	if c.alertmanagerOn() || c.lbAlerts() != (alertDest{}) {
		t.Error("alerts disabled: no Alertmanager, no destination")
	}
}

// Prometheus scrapes the runtimes and the LB by their aliases inside the
// network (never through a gate or toxiproxy), the LB with its status
// token, and the configuration passes promtool when it is installed.
func TestPrometheusConfigScrapesByAlias(t *testing.T) {
	spec := observeSpec()
	c := &cluster{spec: spec, sec: newSecrets(spec)}
	b, err := prom.Config(c.prometheusOptions())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Global    map[string]string `yaml:"global"`
		RuleFiles []string          `yaml:"rule_files"`
		Scrape    []struct {
			Job    string                        `yaml:"job_name"`
			Path   string                        `yaml:"metrics_path"`
			Auth   *struct{ Credentials string } `yaml:"authorization"`
			Static []struct{ Targets []string }  `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"region-us-east-1": "runtime-us-east-1:8080", "region-eu-west-1": "runtime-eu-west-1:8080",
		"region-ap-southeast-1": "runtime-ap-southeast-1:8080", "global-lb": "global-lb:8080",
	}
	for _, j := range doc.Scrape {
		if len(j.Static) != 1 || len(j.Static[0].Targets) != 1 || j.Static[0].Targets[0] != want[j.Job] {
			t.Errorf("job %s scrapes %+v, want %s", j.Job, j.Static, want[j.Job])
		}
		if j.Job == prom.LBJob && (j.Auth == nil || j.Auth.Credentials != c.sec.StatusToken || j.Path != "/lb/metrics") {
			t.Errorf("LB job without its status token on /lb/metrics: %+v", j)
		}
		delete(want, j.Job)
	}
	if len(want) > 0 || doc.Global["scrape_interval"] != "1s" || len(doc.RuleFiles) != 1 || doc.RuleFiles[0] != promRulesFile {
		t.Errorf("jobs missing %v; global %v; rule_files %v", want, doc.Global, doc.RuleFiles)
	}

	// promtool checks the file as the container will read it (rules beside it).
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Logf("promtool not installed: config not checked by it (%v)", err)
		return
	}
	dir := t.TempDir()
	o := c.prometheusOptions()
	o.RulesFile = filepath.Join(dir, "rules.yml")
	rules, err := prom.Rules(prom.RuleOptionsFor(spec.ScrapeInterval))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := prom.Config(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(o.RulesFile, rules, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	} else if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool check config: %s", out)
	}
}
