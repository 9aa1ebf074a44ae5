package config

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/lb"
)

// Spec maps the SRE file onto the harness's deployment spec: the one place
// the SRE schema meets the runtime's. The LB's settings land in runtime/lb's
// own types (topology.LBHealth, Outlier, Retry are them), the region
// runtime's in the fields Spec.RegionConfig hands to runtime/config. Fields
// the file leaves zero take the spec's defaults (WithDefaults). Regions'
// endpoints and continents, session.max_messages and alert.webhook are not
// part of a spec: the provider assigns addresses, receivers and the rest.
func (c *Config) Spec() topology.Spec {
	h := c.LB.Health
	s := topology.Spec{
		CheckpointPolicy: c.Checkpoint.Policy, CheckpointInterval: c.Checkpoint.Interval,
		SessionTTL: c.Session.TTL, ConflictStrategy: c.ConflictStrategy,
		RegionHealthInterval: c.RegionHealth.Interval, RegionHealthTimeout: c.RegionHealth.Timeout,
		RegionHealthyThreshold: c.RegionHealth.HealthyThreshold, RegionUnhealthyThreshold: c.RegionHealth.UnhealthyThreshold,
		LBHealth: lb.HealthConfig{
			Path: lb.Default().Health.Path, Enabled: true, // an SRE tunes the check, never turns it off
			Interval: h.Interval, Timeout: h.Timeout, FailureThreshold: h.FailureThreshold, SuccessThreshold: h.SuccessThreshold,
		},
		Outlier:  c.LB.Outlier,
		Retry:    c.LB.Retry,
		CacheTTL: c.Cache.TTL, WarmupStaleness: c.Cache.Staleness,
		Replicate: c.Cache.Replicate, WarmOnStart: c.Cache.Replicate,
		AlertsEnabled: c.Alert.Enabled,
	}
	for _, r := range c.Regions {
		s.Regions = append(s.Regions, topology.RegionSpec{Name: r.Name, Weight: r.Weight, Priority: r.Priority})
	}
	return s.WithDefaults()
}

// runtimePaths maps the leading field of a binary's config path to the SRE
// path it comes from (Spec); fields a provider fills have no entry.
var runtimePaths = map[string]map[string]string{
	"agent-runtime": {
		"regions": "regions", "checkpoint": "checkpoint", "session": "session",
		"conflict_strategy": "conflict_strategy", "health": "region_health", "cache": "cache",
	},
	"global-lb": {"regions": "regions", "health": "lb.health", "outlier": "lb.outlier", "retry": "lb.retry"},
}

// sreField turns a binary's field path ("health.timeout", "regions[1].weight")
// into the SRE file's ("region_health.timeout"), or "" when the field is
// not the file's.
func sreField(binary, path string) string {
	head, rest := path, ""
	if i := strings.IndexAny(path, ".["); i >= 0 {
		head, rest = path[:i], path[i:]
	}
	to, ok := runtimePaths[binary][head]
	if !ok {
		return ""
	}
	return to + rest
}

// runtime checks that the binaries accept what Spec makes of the file: the
// region runtimes' and the LB's configs, with placeholder addresses and
// secrets, through the binaries' own Validate. Anything they would refuse at
// start is an error naming the SRE field.
func (v *validator) runtime() {
	s := v.c.Spec()
	seen := map[string]bool{}
	report := func(binary string, err error) {
		for _, e := range flatten(err) {
			field, msg, ok := strings.Cut(e.Error(), ": ")
			path := sreField(binary, field)
			if !ok || path == "" || seen[path] {
				continue // a provider's field: the provider checks it when it writes the config
			}
			seen[path] = true
			v.errf(path, "%s refuses it: %s", binary, msg)
		}
	}
	// Placeholder keys, valid and one pair per region as a provider makes
	// them (derived from the names: nothing is signed with them).
	keys := map[string]rtconfig.WarmupKeyPair{}
	for _, r := range s.Regions {
		seed := sha256.Sum256([]byte("placeholder warmup key " + r.Name))
		keys[r.Name], _ = rtconfig.WarmupKeyPairFromSeed(seed[:])
	}
	for _, r := range s.Regions {
		rc := s.RegionConfig(r.Name)
		rc.AdminToken = "placeholder"
		rc.SetWarmupKeys(keys)
		for j := range rc.Regions {
			rc.Regions[j].Endpoint = fmt.Sprintf("http://region-%d.invalid", j)
		}
		report("agent-runtime", rc.Validate())
	}
	lc := s.LBConfig()
	for j := range lc.Regions {
		lc.Regions[j].URL = fmt.Sprintf("http://region-%d.invalid", j)
	}
	report("global-lb", lc.Validate())
}

// flatten lists the errors joined in err (errors.Join), or err itself.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
