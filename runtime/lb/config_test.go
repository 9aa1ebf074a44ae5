package lb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fullYAML = `
listen: 127.0.0.1:0
regions:
  - {name: us-east-1, url: http://127.0.0.1:9101, weight: 50}
  - {name: eu-west-1, url: http://127.0.0.1:9102, weight: 30}
  - {name: ap-southeast-1, url: http://127.0.0.1:9103, weight: 20}
health: {path: /health, interval: 10s, timeout: 2s, failure_threshold: 3, success_threshold: 2, enabled: true}
outlier: {enabled: true, consecutive_failures: 3, ejection: 5s}
retry: {enabled: true, attempts: 2, per_try_timeout: 2s}
alert: {webhook: "", name: NoHealthyRegion}
`

func writeFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "lb.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigFull(t *testing.T) {
	c, err := LoadConfig(writeFile(t, fullYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Regions) != 3 || c.Regions[1].Weight != 30 || c.Health.Interval != 10*time.Second ||
		c.Outlier.Ejection != 5*time.Second || c.Retry.PerTryTimeout != 2*time.Second || c.Alert.Name != "NoHealthyRegion" {
		t.Fatalf("config = %+v", c)
	}
}

func TestLoadConfigDefaultsAndPartialSections(t *testing.T) {
	c, err := LoadConfig(writeFile(t, "regions: [{name: a, url: 'http://127.0.0.1:1', weight: 1}]\nhealth: {interval: 300ms}\nretry: {enabled: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	if c.Health.Interval != 300*time.Millisecond || c.Health.Timeout != want.Health.Timeout ||
		c.Health.FailureThreshold != 3 || c.Health.SuccessThreshold != 2 || !c.Health.Enabled || c.Health.Path != "/health" {
		t.Fatalf("health = %+v; unspecified keys must keep defaults", c.Health)
	}
	if c.Retry.Enabled || c.Retry.Attempts != 2 || c.Outlier != want.Outlier || c.Listen != want.Listen {
		t.Fatalf("config = %+v", c)
	}
}

func TestLoadConfigErrorsNameTheField(t *testing.T) {
	base := "regions: [{name: a, url: 'http://127.0.0.1:1', weight: 1}]\n"
	cases := map[string]string{
		"regions: [{name: a, url: 'http://x', wieght: 1}]\n":                  "regions[0].wieght: line 1: field wieght not found",
		base + "retry:\n  attempts: two\n":                                    "retry.attempts: line 3",
		base + "bogus: 1\n":                                                   "bogus: line 2",
		base + "health: {interval: 10}\n":                                     "health.interval: line 2",
		"regions: []\n":                                                       "regions:",
		"regions: [{name: '', url: 'http://x'}]\n":                            "regions[0].name",
		"regions: [{name: a, url: 'http://x'}, {name: a, url: 'http://y'}]\n": "regions[1].name",
		"regions: [{name: a, url: 'ftp://x'}]\n":                              "regions[0].url",
		"regions: [{name: a, url: 'http://x', weight: -1}]\n":                 "regions[0].weight",
		base + "health: {failure_threshold: 11}\n":                            "health.failure_threshold",
		base + "health: {failure_threshold: 0}\n":                             "health.failure_threshold",
		base + "health: {success_threshold: 0}\n":                             "health.success_threshold",
		base + "health: {path: health}\n":                                     "health.path",
		base + "health: {timeout: 0s}\n":                                      "health.timeout",
		base + "health: {interval: -1s}\n":                                    "health.interval",
		base + "outlier: {consecutive_failures: 0}\n":                         "outlier.consecutive_failures",
		base + "outlier: {ejection: 0s}\n":                                    "outlier.ejection",
		base + "retry: {attempts: 0}\n":                                       "retry.attempts",
		base + "retry: {per_try_timeout: 0s}\n":                               "retry.per_try_timeout",
		base + "alert: {webhook: 'not a url'}\n":                              "alert.webhook",
		base + "alert: {name: ''}\n":                                          "alert.name",
		base + "listen: nonsense\n":                                           "listen",
		base + "clock_offset: 25h\n":                                          "clock_offset: must be between",
		base + "clock_offset: -24h1s\n":                                       "clock_offset: must be between",
		base + "clock_offset: soon\n":                                         "clock_offset: line 2",
		base + "max_body_bytes: 0\n":                                          "max_body_bytes: must be between",
		base + "max_body_bytes: 67108865\n":                                   "max_body_bytes: must be between",
		base + "max_body_bytes: lots\n":                                       "max_body_bytes: line 2",
		base + "status_token: 'two words'\n":                                  "status_token: must be printable",
		base + "status_token: \"tab\\there\"\n":                               "status_token: must be printable",
	}
	for yml, want := range cases {
		_, err := LoadConfig(writeFile(t, yml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to name %q", yml, err, want)
		}
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
}

// Every scalar key has a flag, named as global-lb has always named it (the
// YAML path with dashes), and a flag given overrides the file.
func TestFlagsOverrideEveryScalarField(t *testing.T) {
	want := []string{
		"listen", "health.path", "health.interval", "health.timeout", "health.failure_threshold", "health.success_threshold", "health.enabled",
		"outlier.enabled", "outlier.consecutive_failures", "outlier.ejection",
		"retry.enabled", "retry.attempts", "retry.per_try_timeout",
		"alert.webhook", "alert.name", "alert.alertmanager", "alert.resend_interval", "seed", "clock_offset",
		"http.read_header_timeout", "http.read_timeout", "http.write_timeout", "http.idle_timeout",
		"http.max_header_bytes", "http.max_in_flight", "http.retry_after",
		"max_body_bytes", "status_token", "failpoints.alert_storm",
	}
	fs := Flags()
	var args []string
	var got []string
	for _, f := range fs.Fields() {
		got = append(got, f.Path)
		if wantFlag := strings.NewReplacer(".", "-", "_", "-").Replace(f.Path); f.Flag != wantFlag {
			t.Errorf("%s: flag --%s, want --%s", f.Path, f.Flag, wantFlag)
		}
		var v string
		switch {
		case f.Type == "bool":
			v = "false"
		case f.Type == "duration" && f.Path == "clock_offset":
			v = "-750ms"
		case f.Type == "duration":
			v = "750ms"
		case f.Path == "http.max_header_bytes", f.Path == "max_body_bytes":
			v = "8192"
		case f.Type == "int":
			v = "4"
		case f.Path == "health.path":
			v = "/healthz"
		case f.Path == "alert.webhook", f.Path == "alert.alertmanager":
			v = "http://127.0.0.1:9/hook"
		default:
			v = "127.0.0.1:8080"
		}
		args = append(args, "--"+f.Flag+"="+v) // a bool flag takes its value after "="
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("scalar fields %v, want %v", got, want)
	}
	c := Default()
	if err := fs.Load(append(args, "--config", writeFile(t, fullYAML)), &c); err != nil {
		t.Fatal(err)
	}
	if c.Health.Interval != 750*time.Millisecond || c.Health.FailureThreshold != 4 || c.Retry.Enabled || c.Seed != 4 ||
		c.Outlier.Ejection != 750*time.Millisecond || c.Health.Path != "/healthz" || c.Alert.Webhook != "http://127.0.0.1:9/hook" ||
		c.ClockOffset != -750*time.Millisecond || len(c.Regions) != 3 || c.MaxBodyBytes != 8192 || c.StatusToken != "127.0.0.1:8080" {
		t.Fatalf("after overrides: %+v", c)
	}
	for flag, v := range map[string]string{"health-interval": "soon", "retry-attempts": "two", "outlier-enabled": "maybe", "seed": "x", "clock-offset": "later"} {
		c := Default()
		field := strings.Replace(strings.Replace(flag, "-", ".", 1), "-", "_", -1)
		if flag == "seed" || flag == "clock-offset" {
			field = strings.ReplaceAll(flag, "-", "_")
		}
		if err := Flags().Load([]string{"--" + flag + "=" + v}, &c); err == nil || !strings.HasPrefix(err.Error(), field+": invalid value") {
			t.Errorf("--%s %s: %v, want an error naming %s", flag, v, err, field)
		}
	}
}

func TestClockOffsetYAML(t *testing.T) {
	base := "regions: [{name: a, url: 'http://127.0.0.1:1', weight: 1}]\n"
	for yml, want := range map[string]time.Duration{base: 0, base + "clock_offset: -5s\n": -5 * time.Second, base + "clock_offset: 24h\n": 24 * time.Hour} {
		c, err := LoadConfig(writeFile(t, yml))
		if err != nil || c.ClockOffset != want {
			t.Errorf("%q: offset %v, err %v; want %v", yml, c.ClockOffset, err, want)
		}
	}
}

func TestParseRegion(t *testing.T) {
	r, err := ParseRegion("us-east-1=http://127.0.0.1:9101@50")
	if err != nil || r.Name != "us-east-1" || r.URL != "http://127.0.0.1:9101" || r.Weight != 50 {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = ParseRegion("eu=http://127.0.0.1:9102")
	if err != nil || r.Weight != 1 || r.URL != "http://127.0.0.1:9102" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{"nourl", "=http://x", "a=http://x@heavy"} {
		if _, err := ParseRegion(bad); err == nil {
			t.Errorf("ParseRegion(%q) accepted", bad)
		}
	}
}

func FuzzLoadConfig(f *testing.F) {
	f.Add(fullYAML)
	f.Add("")
	f.Add("regions: [{name: a, url: 'http://127.0.0.1:1', weight: 1}]\n")
	f.Add("health: {interval: 1h, failure_threshold: 10}\nregions: [{name: a, url: 'https://h', weight: 255}]")
	f.Add("regions: {name: a}\n")
	f.Add("listen: [\n")
	f.Add("retry: {attempts: 99999999999999999999}")
	f.Fuzz(func(t *testing.T, yml string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(p)
		if err != nil {
			return
		}
		// Anything LoadConfig accepts must build an LB.
		l, err := New(c, nil)
		if err != nil {
			t.Fatalf("LoadConfig accepted a config New rejects: %v", err)
		}
		l.Close()
	})
}
