package flagset

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Interval  time.Duration `yaml:"interval" help:"how often"`
	Threshold int           `yaml:"failure_threshold"`
	Enabled   bool          `yaml:"enabled"`
}

type sample struct {
	Name    string   `yaml:"name" help:"the name"`
	Renamed int      `yaml:"max_messages" flag:"max-messages"`
	Hidden  string   `yaml:"hidden" flag:"-"`
	Skipped string   `yaml:"-"`
	List    []string `yaml:"list"`
	Health  inner    `yaml:"health"`
	Seed    int64    `yaml:"seed"`
	Ratio   float64  `yaml:"ratio"`
	Offset  time.Duration
	private int
}

func defaults() sample {
	return sample{Name: "n", Renamed: 50, Health: inner{Interval: time.Second, Threshold: 3, Enabled: true}, Seed: 1}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFieldsFollowYAMLTags(t *testing.T) {
	var got []string
	for _, f := range Fields(defaults()) {
		got = append(got, f.Path+"="+f.Flag+":"+f.Type+":"+f.Default)
	}
	want := []string{
		"name=name:string:n",
		"max_messages=max-messages:int:50",
		"health.interval=health-interval:duration:1s",
		"health.failure_threshold=health-failure-threshold:int:3",
		"health.enabled=health-enabled:bool:true",
		"seed=seed:int:1",
		"ratio=ratio:float:0",
		"offset=offset:duration:0s", // no yaml tag: yaml's own key, the field name lowercased
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("fields:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f := Fields(&sample{})[0]; f.Help != "the name" {
		t.Errorf("help tag not read: %+v", f)
	}
}

func TestUnsupportedFieldTypePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a complex128 field must panic: it cannot be a flag")
		}
	}()
	Fields(struct {
		C complex128 `yaml:"c"`
	}{})
}

// Defaults, then the file, then only the flags given; bools bare or with =.
func TestLoadLayersDefaultsFileFlags(t *testing.T) {
	p := writeFile(t, "name: from-file\nmax_messages: 7\nhealth: {interval: 5s, failure_threshold: 4}\n")
	cfg := defaults()
	s := New("bin", defaults())
	err := s.Load([]string{"--config", p, "--health-interval", "250ms", "--max-messages=9", "--health-enabled=false", "--seed", "-3", "--ratio", "0.5", "--offset", "-2s"}, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := defaults()
	want.Name, want.Renamed, want.Seed, want.Ratio, want.Offset = "from-file", 9, -3, 0.5, -2*time.Second
	want.Health = inner{Interval: 250 * time.Millisecond, Threshold: 4, Enabled: false}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
	if s.ConfigPath() != p {
		t.Errorf("ConfigPath = %q", s.ConfigPath())
	}
	// A bare bool flag sets true; a flag given twice keeps the last value.
	cfg = defaults()
	cfg.Health.Enabled = false
	if err := New("bin", defaults()).Load([]string{"--health-enabled", "--name", "a", "--name", "b"}, &cfg); err != nil || !cfg.Health.Enabled || cfg.Name != "b" {
		t.Fatalf("bare bool / repeated flag: %+v %v", cfg, err)
	}
	// A flag given as an empty string still overrides.
	cfg = defaults()
	if err := New("bin", defaults()).Load([]string{"--name", ""}, &cfg); err != nil || cfg.Name != "" {
		t.Fatalf("empty value: %+v %v", cfg, err)
	}
}

func TestBadValuesNameFieldAndFlag(t *testing.T) {
	cases := map[string][]string{
		`health.interval: invalid value "soon" for --health-interval`:         {"--health-interval", "soon"},
		`max_messages: invalid value "x" for --max-messages: want an integer`: {"--max-messages", "x"},
		`health.enabled: invalid value "maybe" for --health-enabled`:          {"--health-enabled=maybe"},
		`seed: invalid value "99999999999999999999" for --seed: out of range`: {"--seed", "99999999999999999999"},
		`a bool flag takes its value after '=' (--health-enabled=false)`:      {"--health-enabled", "false"},
		`flags: unexpected argument "extra"`:                                  {"extra"},
		"flag provided but not defined: -nope":                                {"--nope", "1"},
		"flag provided but not defined: -hidden":                              {"--hidden", "x"},
		"config: open":                                                        {"--config", filepath.Join(t.TempDir(), "missing.yaml")},
	}
	for want, args := range cases {
		cfg := defaults()
		err := New("bin", defaults()).Load(args, &cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want it to contain %q", args, err, want)
		}
	}
	// Every bad flag is reported, not just the first.
	cfg := defaults()
	err := New("bin", defaults()).Load([]string{"--seed", "x", "--ratio", "y"}, &cfg)
	if err == nil || !strings.Contains(err.Error(), "seed:") || !strings.Contains(err.Error(), "ratio:") {
		t.Errorf("two bad flags: %v", err)
	}
	var wrong struct{ X int }
	if err := New("bin", defaults()).Apply(&wrong); err == nil {
		t.Error("Apply onto another type accepted")
	}
}

func TestHelp(t *testing.T) {
	s := New("bin", defaults())
	extra := s.FlagSet().String("region", "", "a region as `name=url`; repeatable")
	if err := s.Parse([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v, want flag.ErrHelp", err)
	}
	var b strings.Builder
	s.Usage(&b, "bin --config FILE [flags]")
	out := b.String()
	for _, want := range []string{
		"Usage: bin --config FILE [flags]", "--config FILE",
		"--health-interval duration    [yaml: health.interval]\n    \thow often (default 1s)",
		"--max-messages int    [yaml: max_messages]",
		"--health-enabled[=true|false]",
		"Not in the YAML file:\n  --region name=url\n    \ta region as name=url; repeatable",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hidden") {
		t.Errorf("usage lists a flag:\"-\" field:\n%s", out)
	}
	// The binary's own flags parse alongside.
	if err := s.Parse([]string{"--region", "a=http://x"}); err != nil || *extra != "a=http://x" {
		t.Fatalf("extra flag: %v %q", err, *extra)
	}
}

func TestDecodeYAMLNamesFields(t *testing.T) {
	cases := map[string]string{
		"health:\n  interval: soon\n":       "config: health.interval: line 2",
		"health: {failure_threshold: x}\n":  "health.failure_threshold: line 1",
		"name: a\nbogus: 1\n":               "bogus: line 2: field bogus not found",
		"health: {interval: 1s, nope: 2}\n": "health.nope: line 1: field nope not found",
		"[1, 2]\n":                          "config: ",
		"name: [\n":                         "config: yaml:",
	}
	for yml, want := range cases {
		cfg := defaults()
		err := DecodeYAML([]byte(yml), &cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want it to contain %q", yml, err, want)
		}
	}
	cfg := defaults()
	if err := DecodeYAML([]byte("  \n"), &cfg); err != nil || !reflect.DeepEqual(cfg, defaults()) {
		t.Fatalf("empty document: %+v %v", cfg, err)
	}
	if err := DecodeYAML([]byte("health: {interval: 2s}\n"), &cfg); err != nil || cfg.Health.Interval != 2*time.Second || cfg.Health.Threshold != 3 {
		t.Fatalf("partial section must keep the other defaults: %+v %v", cfg, err)
	}
}

func TestReadFileBounded(t *testing.T) {
	p := writeFile(t, strings.Repeat("#", MaxFileSize+1))
	if _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized file: %v", err)
	}
}
