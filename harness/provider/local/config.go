package local

import (
	"fmt"
	"net/url"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/lb"
)

// The binaries' configs are their own types (runtime/config.Config,
// runtime/lb.Config): the spec fills every setting (Spec.RegionConfig,
// Spec.LBConfig) and this file adds the run's addresses and secrets.

// runtimeConfig is region r's agent-runtime config: every dependency and
// peer is reached through its toxiproxy link (listen: link name → its listen
// address), itself through its own gate so an injected HTTP fault is what
// the region sees of itself too.
func (c *Cluster) runtimeConfig(r *regionState, listen map[string]string, du *url.URL) rtconfig.Config {
	s := c.spec
	rc := s.RegionConfig(r.spec.Name)
	rc.Listen = fmt.Sprintf("127.0.0.1:%d", r.port)
	rc.AdminToken = c.token
	rc.SetWarmupKeys(c.warmupKeys)
	ep := *du
	ep.Host = listen[topology.DynamoLink(r.spec.Name)]
	rc.DynamoDB.Endpoint = ep.String()
	rc.Redis.Addr = listen[topology.RedisLink(r.spec.Name)]
	if r.redis != nil {
		rc.Redis.Password = r.redis.password
	}
	for i := range rc.Regions {
		peer := rc.Regions[i].Name
		if peer == r.spec.Name {
			rc.Regions[i].Endpoint = r.gate.URL()
		} else {
			rc.Regions[i].Endpoint = "http://" + listen[topology.PeerLink(r.spec.Name, peer)]
		}
	}
	if s.AlertsEnabled && s.RegionAlerts {
		if c.am != nil { // through the Alertmanager only: it notifies on-call
			rc.Alert.Alertmanager, rc.Alert.Resend = c.am.url, s.AlertResend
		} else {
			rc.Alert.Webhook = c.alerts.URL() + "/region/" + r.spec.Name
		}
	}
	return rc
}

// lbConfig is the global LB's config: each region is reached through its
// lb-><region> link, which ends at the region's gate.
func (c *Cluster) lbConfig(listen map[string]string) lb.Config {
	s := c.spec
	lc := s.LBConfig()
	lc.Listen = "127.0.0.1:0"
	lc.StatusToken = c.statusToken
	for i := range lc.Regions {
		lc.Regions[i].URL = "http://" + listen[topology.LBLink(lc.Regions[i].Name)]
	}
	if s.AlertsEnabled {
		if c.am != nil { // through the Alertmanager only: it notifies on-call
			lc.Alert.Alertmanager, lc.Alert.Resend = c.am.url, s.AlertResend
		} else {
			lc.Alert.Webhook = c.alerts.URL() + "/lb"
		}
	}
	return lc
}

// writeYAML validates a binary's config (what the binary would reject is an
// error here, naming the field) and writes it as YAML.
func writeYAML(path string, v interface{ Validate() error }) error {
	if err := v.Validate(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return os.WriteFile(path, b, 0o600)
}
