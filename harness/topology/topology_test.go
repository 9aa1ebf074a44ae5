package topology

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	rtconfig "github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/lb"
)

// The spec's LB settings are runtime/lb's types, so the LB gets them as is.
func TestLBSettingsAreTheLBsTypes(t *testing.T) {
	var _ lb.HealthConfig = LBHealth{}
	var _ lb.OutlierConfig = Outlier{}
	var _ lb.RetryConfig = Retry{}
	s := DefaultSpec()
	if s.LBHealth.Path != lb.Default().Health.Path {
		t.Errorf("health path %q, want the LB's default", s.LBHealth.Path)
	}
	s.LBHealth.Path = "/healthz"
	if s.WithDefaults().LBHealth.Path != "/healthz" {
		t.Error("WithDefaults replaced a path that was set")
	}
}

// RegionConfig and LBConfig carry every spec setting, and what they build
// (once a provider adds addresses and secrets) is what the binaries load:
// YAML out, the binaries' own parsers in, equal and valid.
func TestConfigsCarryTheSpecAndRoundTrip(t *testing.T) {
	s := Spec{
		Regions:            []RegionSpec{{Name: "a", Weight: 60, Priority: 0}, {Name: "b", Weight: 40, Priority: 1, ClockOffset: -2 * time.Second}},
		CheckpointPolicy:   rtconfig.PolicyOnMutation,
		CheckpointInterval: 3 * time.Second,
		SessionTTL:         5 * time.Minute,
		ConflictStrategy:   rtconfig.StrategyMerge,
		ModelLatency:       4 * time.Millisecond,
		Replicate:          true,
		LBHealth:           LBHealth{Enabled: true, Interval: 200 * time.Millisecond},
		Outlier:            Outlier{Enabled: false, Ejection: 3 * time.Second},
		Retry:              Retry{Enabled: true, Attempts: 3},
		Seed:               42,
	}.WithDefaults()

	rc := s.RegionConfig("b")
	if rc.Region != "b" || rc.ClockOffset != -2*time.Second || rc.Checkpoint.Policy != rtconfig.PolicyOnMutation ||
		rc.Checkpoint.Interval != 3*time.Second || rc.Session.TTL != 5*time.Minute || rc.ConflictStrategy != rtconfig.StrategyMerge ||
		rc.Model.Latency != 4*time.Millisecond || !rc.Cache.Replicate || rc.Cache.WarmOnStart || rc.Health.Interval != s.RegionHealthInterval ||
		rc.Health.UnhealthyThreshold != s.RegionUnhealthyThreshold || !rc.DynamoDB.CreateTable || len(rc.Regions) != 2 || rc.Regions[0].Weight != 60 {
		t.Fatalf("region config: %+v", rc)
	}
	if s.RegionConfig("a").ClockOffset != 0 {
		t.Error("clock offset of b given to a")
	}
	rc.AdminToken = "tok"
	rc.SetWarmupKeys(rtconfig.NewWarmupKeys("a", "b")) // what a provider adds
	if rc.WarmupKey == "" || rc.Regions[0].WarmupPublicKey == "" || rc.Regions[0].WarmupPublicKey == rc.Regions[1].WarmupPublicKey {
		t.Fatalf("peer keys: %+v", rc)
	}
	rc.Regions[0].Endpoint, rc.Regions[1].Endpoint = "http://127.0.0.1:1", "http://127.0.0.1:2"
	b, err := yaml.Marshal(&rc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rtconfig.Parse(b)
	if err != nil {
		t.Fatalf("agent-runtime refuses it: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(got, rc) {
		t.Fatalf("agent-runtime loads\n%+v\nwant\n%+v", got, rc)
	}

	lc := s.LBConfig()
	if lc.Health != s.LBHealth || lc.Outlier != s.Outlier || lc.Retry != s.Retry || lc.Seed != 42 ||
		lc.Alert.Name != lb.Default().Alert.Name || len(lc.Regions) != 2 || lc.Regions[1].Weight != 40 {
		t.Fatalf("lb config: %+v", lc)
	}
	lc.Regions[0].URL, lc.Regions[1].URL = "http://127.0.0.1:1", "http://127.0.0.1:2"
	b, err = yaml.Marshal(lc)
	if err != nil {
		t.Fatal(err)
	}
	gotLB, err := lb.ParseConfig(bytes.NewReader(b))
	if err == nil {
		err = gotLB.Validate()
	}
	if err != nil {
		t.Fatalf("global-lb refuses it: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(gotLB, lc) {
		t.Fatalf("global-lb loads\n%+v\nwant\n%+v", gotLB, lc)
	}
}
