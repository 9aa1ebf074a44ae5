package prom

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/rules.yml")

// unitOptions are the options testdata/rules_test.yml is written for.
var unitOptions = RuleOptions{For: time.Minute, Window: 2 * time.Minute, ErrorRatio: 0.05}

// testdata/rules.yml is what Rules(unitOptions) generates, so
// `promtool test rules testdata/rules_test.yml` runs by hand too.
func TestRulesGolden(t *testing.T) {
	got, err := Rules(unitOptions)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "rules.yml")
	if *update {
		writeFile(t, path, got)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale (regenerate with -update); generated:\n%s", path, got)
	}
}

// The generated rules pass `promtool check rules`, at real time and
// compressed for a 250ms scrape interval.
func TestRulesPassPromtoolCheck(t *testing.T) {
	for name, o := range map[string]RuleOptions{
		"default":    DefaultRuleOptions(),
		"unit":       unitOptions,
		"compressed": RuleOptionsFor(250 * time.Millisecond),
		"scaled-x60": DefaultRuleOptions().Scaled(60),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			b, err := Rules(o)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "rules.yml"), b)
			out, err := promtool(t, dir, "check", "rules", "rules.yml")
			if err != nil || !strings.Contains(out, "SUCCESS: 4 rules found") {
				t.Fatalf("promtool check rules: %v\n%s\n--- rules.yml:\n%s", err, out, b)
			}
		})
	}
}

// `promtool test rules`: each alert fires on its bad series, at the time
// its for allows, and stays quiet on good ones (testdata/rules_test.yml).
func TestRulesUnitTests(t *testing.T) {
	dir := unitDir(t, unitOptions)
	out, err := promtool(t, dir, "test", "rules", "rules_test.yml")
	if err != nil || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// The unit tests catch a broken rule: rules generated with a wrong option
// fail them, naming the alert that misbehaves.
func TestRulesUnitTestsCatchBrokenRules(t *testing.T) {
	for name, c := range map[string]struct {
		o     RuleOptions
		alert string
	}{
		// 0.5 instead of 0.05: us-east-1's third of 5xx no longer pages.
		"error-ratio-threshold-too-high": {RuleOptions{For: time.Minute, Window: 2 * time.Minute, ErrorRatio: 0.5}, AlertRegionErrors},
		// 0.005: eu-west-1's 1% of 500s pages too.
		"error-ratio-threshold-too-low": {RuleOptions{For: time.Minute, Window: 2 * time.Minute, ErrorRatio: 0.005}, AlertRegionErrors},
		// for 5m: NoHealthyRegion (and the error ratio) fire too late.
		"for-too-long": {RuleOptions{For: 5 * time.Minute, Window: 2 * time.Minute, ErrorRatio: 0.05}, AlertNoHealthyRegion},
		// a warmup rejection waits 2m: the first forged warmup is not seen.
		"warmup-for-too-long": {RuleOptions{For: time.Minute, Window: 2 * time.Minute, ErrorRatio: 0.05, WarmupFor: 2 * time.Minute}, AlertWarmupRejected},
	} {
		t.Run(name, func(t *testing.T) {
			dir := unitDir(t, c.o)
			out, err := promtool(t, dir, "test", "rules", "rules_test.yml")
			if err == nil {
				t.Fatalf("promtool test rules passed on broken rules (%+v):\n%s", c.o, out)
			}
			if !strings.Contains(out, "FAILED") || !strings.Contains(out, "alertname: "+c.alert) {
				t.Fatalf("promtool test rules failed, but not on %s:\n%s", c.alert, out)
			}
		})
	}
}

func TestRuleOptionsValidate(t *testing.T) {
	ok := unitOptions
	for want, o := range map[string]RuleOptions{
		"rules.error_ratio": {For: time.Minute, Window: time.Minute, ErrorRatio: 1},
		"rules.window":      {For: time.Minute, Window: time.Second, ErrorRatio: 0.1, Interval: time.Second},
		"rules.for":         {For: -time.Second, Window: time.Minute, ErrorRatio: 0.1},
		"rules.warmup_for":  {For: time.Second, Window: time.Minute, ErrorRatio: 0.1, WarmupFor: time.Microsecond},
	} {
		if _, err := Rules(o); err == nil || !strings.HasPrefix(err.Error(), want+":") {
			t.Errorf("%+v: %v, want an error naming %s", o, err, want)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if s := DefaultRuleOptions().Scaled(60); s.For != time.Second || s.Window != time.Second || s.Interval != 250*time.Millisecond {
		t.Errorf("Scaled(60) of the defaults: %+v", s)
	}
	if err := RuleOptionsFor(250 * time.Millisecond).Validate(); err != nil {
		t.Errorf("compressed defaults: %v", err)
	}
}
