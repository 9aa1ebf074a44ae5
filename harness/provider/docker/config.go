package docker

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/lb"
)

// Container-side ports. Every service listens on a fixed port inside its own
// network namespace; only the host-side mappings vary.
const (
	runtimePort   = 8080
	lbPort        = 8080
	dynamoPort    = 8000
	redisPort     = 6379
	toxiproxyPort = 8474
	// firstLinkPort is the first toxiproxy listen port inside the toxiproxy
	// container; link i listens on firstLinkPort+i.
	firstLinkPort = 20000
)

// Network aliases, resolvable by Docker's embedded DNS on the run's network.
const (
	aliasDynamo    = "dynamodb"
	aliasToxiproxy = "toxiproxy"
	aliasLB        = "global-lb"
)

func aliasRedis(region string) string   { return "redis-" + region }
func aliasRuntime(region string) string { return "runtime-" + region }

// alertDest is where a runtime's or the LB's alerts go: a webhook (the
// harness's alert sink, directly) or, with Spec.Alertmanager, the run's
// Alertmanager's API v2, re-sent every Resend while firing. Zero: alerts are
// only logged.
type alertDest struct {
	Webhook      string
	Alertmanager string
	Resend       time.Duration
}

// link is one toxiproxy proxy: its name (topology link name), the address it
// listens on inside the toxiproxy container, and its upstream.
type link struct {
	Name     string
	Listen   string // 0.0.0.0:port inside the toxiproxy container
	Port     int
	Upstream string
}

// planLinks lays out every link of the topology with the same names as the
// local provider. gateAddr maps region → host:port of that region's gate as
// the toxiproxy container reaches it (the LB's traffic goes through the gate
// so HTTP faults apply to it).
func planLinks(spec topology.Spec, gateAddr map[string]string) []link {
	var out []link
	add := func(name, upstream string) {
		port := firstLinkPort + len(out)
		out = append(out, link{Name: name, Listen: fmt.Sprintf("0.0.0.0:%d", port), Port: port, Upstream: upstream})
	}
	for _, r := range spec.Regions {
		add(topology.DynamoLink(r.Name), fmt.Sprintf("%s:%d", aliasDynamo, dynamoPort))
		add(topology.RedisLink(r.Name), fmt.Sprintf("%s:%d", aliasRedis(r.Name), redisPort))
		for _, p := range spec.Regions {
			if p.Name != r.Name {
				add(topology.PeerLink(r.Name, p.Name), fmt.Sprintf("%s:%d", aliasRuntime(p.Name), runtimePort))
			}
		}
		add(topology.LBLink(r.Name), gateAddr[r.Name])
	}
	return out
}

// linkURL is how a container reaches link name through toxiproxy.
func linkAddr(links []link, name string) string {
	for _, l := range links {
		if l.Name == name {
			return fmt.Sprintf("%s:%d", aliasToxiproxy, l.Port)
		}
	}
	return ""
}

// secrets of one run: the admin token every region shares, and one fresh
// Ed25519 key pair per region signing its peer cache requests (peer
// protocol v2), so no region can speak for another.
type secrets struct {
	AdminToken string
	// StatusToken guards the LB's /lb/status (internal URLs, dial errors).
	StatusToken string
	// RedisPassword is every region's Redis AUTH password.
	RedisPassword string
	WarmupKeys    map[string]rtconfig.WarmupKeyPair
}

// newSecrets makes a run's secrets for spec's regions.
func newSecrets(spec topology.Spec) secrets {
	return secrets{AdminToken: randomHex(16), StatusToken: randomHex(16), RedisPassword: randomHex(16), WarmupKeys: rtconfig.NewWarmupKeys(spec.RegionNames()...)}
}

// runtimeConfig is the agent-runtime config of region as seen from inside
// its container, on the runtime's own type: the spec fills every setting
// (Spec.RegionConfig) and every dependency and peer is reached through
// toxiproxy. It is validated as the binary will validate it.
func runtimeConfig(spec topology.Spec, region string, links []link, sec secrets, alerts alertDest) (rtconfig.Config, error) {
	c := spec.RegionConfig(region)
	c.Listen = fmt.Sprintf("0.0.0.0:%d", runtimePort)
	c.AdminToken = sec.AdminToken
	c.SetWarmupKeys(sec.WarmupKeys)
	c.DynamoDB.Endpoint = "http://" + linkAddr(links, topology.DynamoLink(region))
	c.Redis.Addr = linkAddr(links, topology.RedisLink(region))
	c.Redis.Password = sec.RedisPassword
	c.Alert.Webhook, c.Alert.Alertmanager, c.Alert.Resend = alerts.Webhook, alerts.Alertmanager, alerts.Resend
	for i, r := range c.Regions {
		if r.Name == region {
			c.Regions[i].Endpoint = fmt.Sprintf("http://127.0.0.1:%d", runtimePort)
			continue
		}
		addr := linkAddr(links, topology.PeerLink(region, r.Name))
		if addr == "" {
			return c, fmt.Errorf("regions[%s].endpoint: no link planned", r.Name)
		}
		c.Regions[i].Endpoint = "http://" + addr
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("runtime config of %s: %w", region, err)
	}
	return c, nil
}

// runtimeYAML renders runtimeConfig.
func runtimeYAML(spec topology.Spec, region string, links []link, sec secrets, alerts alertDest) ([]byte, error) {
	c, err := runtimeConfig(spec, region, links, sec, alerts)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(&c)
}

// runtimeYAMLClock renders runtimeConfig with clock_offset d (a region
// restarted on another clock: cluster.SetClockOffset).
func runtimeYAMLClock(spec topology.Spec, region string, links []link, sec secrets, alerts alertDest, d time.Duration) ([]byte, error) {
	c, err := runtimeConfig(spec, region, links, sec, alerts)
	if err != nil {
		return nil, err
	}
	c.ClockOffset = d
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("runtime config of %s: %w", region, err)
	}
	return yaml.Marshal(&c)
}

// lbConfig is the global-lb config on the LB's own type: the spec fills
// every setting (Spec.LBConfig); each region is reached through its
// lb-><region> toxiproxy link (which ends at the region's gate).
func lbConfig(spec topology.Spec, links []link, sec secrets, alerts alertDest) (lb.Config, error) {
	c := spec.LBConfig()
	c.Listen = fmt.Sprintf("0.0.0.0:%d", lbPort)
	c.StatusToken = sec.StatusToken
	c.Alert.Webhook, c.Alert.Alertmanager, c.Alert.Resend = alerts.Webhook, alerts.Alertmanager, alerts.Resend
	for i, r := range c.Regions {
		addr := linkAddr(links, topology.LBLink(r.Name))
		if addr == "" {
			return c, fmt.Errorf("regions[%s].url: no lb link planned", r.Name)
		}
		c.Regions[i].URL = "http://" + addr
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("global-lb config: %w", err)
	}
	return c, nil
}

// lbYAML renders lbConfig.
func lbYAML(spec topology.Spec, links []link, sec secrets, alerts alertDest) ([]byte, error) {
	c, err := lbConfig(spec, links, sec, alerts)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(c)
}
