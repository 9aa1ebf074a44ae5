package docker

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/agentops/failover-harness/harness/topology"
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

// The structs below mirror the YAML keys fixed in docs/ARCHITECTURE.md. They
// are kept local (instead of importing runtime/config) so durations render as
// Go duration strings, which is what the binaries document.

type rtConfig struct {
	Region           string       `yaml:"region"`
	ClockOffset      string       `yaml:"clock_offset,omitempty"`
	Listen           string       `yaml:"listen"`
	AdminToken       string       `yaml:"admin_token"`
	WarmupSecret     string       `yaml:"warmup_secret"`
	DynamoDB         rtDynamo     `yaml:"dynamodb"`
	Redis            rtRedis      `yaml:"redis"`
	Regions          []rtRegion   `yaml:"regions"`
	Checkpoint       rtCheckpoint `yaml:"checkpoint"`
	Session          rtSession    `yaml:"session"`
	ConflictStrategy string       `yaml:"conflict_strategy"`
	Health           rtHealth     `yaml:"health"`
	Failover         rtFailover   `yaml:"failover"`
	Cache            rtCache      `yaml:"cache"`
	Model            rtModel      `yaml:"model"`
	Alert            rtAlert      `yaml:"alert"`
}

type rtDynamo struct {
	Endpoint    string `yaml:"endpoint"`
	Table       string `yaml:"table"`
	AWSRegion   string `yaml:"aws_region"`
	CreateTable bool   `yaml:"create_table"`
}
type rtRedis struct {
	Addr string `yaml:"addr"`
}
type rtRegion struct {
	Name     string `yaml:"name"`
	Endpoint string `yaml:"endpoint"`
	Weight   int    `yaml:"weight"`
	Priority int    `yaml:"priority"`
}
type rtCheckpoint struct {
	Policy   string `yaml:"policy"`
	Interval string `yaml:"interval"`
}
type rtSession struct {
	TTL         string `yaml:"ttl"`
	MaxMessages int    `yaml:"max_messages"`
}
type rtHealth struct {
	Interval           string `yaml:"interval"`
	Timeout            string `yaml:"timeout"`
	HealthyThreshold   int    `yaml:"healthy_threshold"`
	UnhealthyThreshold int    `yaml:"unhealthy_threshold"`
}
type rtFailover struct {
	Auto bool `yaml:"auto"`
}
type rtCache struct {
	TTL         string `yaml:"ttl"`
	Staleness   string `yaml:"staleness"`
	Replicate   bool   `yaml:"replicate"`
	WarmOnStart bool   `yaml:"warm_on_start"`
}
type rtModel struct {
	Latency string `yaml:"latency"`
}
type rtAlert struct {
	Webhook string `yaml:"webhook"`
}

type lbConfig struct {
	Listen  string     `yaml:"listen"`
	Regions []lbRegion `yaml:"regions"`
	Health  lbHealth   `yaml:"health"`
	Outlier lbOutlier  `yaml:"outlier"`
	Retry   lbRetry    `yaml:"retry"`
	Alert   lbAlert    `yaml:"alert"`
	Seed    int64      `yaml:"seed"` // random (non-session) picks replay with the run's seed
}
type lbRegion struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Weight int    `yaml:"weight"`
}
type lbHealth struct {
	Path             string `yaml:"path"`
	Interval         string `yaml:"interval"`
	Timeout          string `yaml:"timeout"`
	FailureThreshold int    `yaml:"failure_threshold"`
	SuccessThreshold int    `yaml:"success_threshold"`
	Enabled          bool   `yaml:"enabled"`
}
type lbOutlier struct {
	Enabled             bool   `yaml:"enabled"`
	ConsecutiveFailures int    `yaml:"consecutive_failures"`
	Ejection            string `yaml:"ejection"`
}
type lbRetry struct {
	Enabled       bool   `yaml:"enabled"`
	Attempts      int    `yaml:"attempts"`
	PerTryTimeout string `yaml:"per_try_timeout"`
}
type lbAlert struct {
	Webhook string `yaml:"webhook"`
	Name    string `yaml:"name"`
}

func dur(d time.Duration) string { return d.String() }

// secrets shared by every region of one run.
type secrets struct {
	AdminToken   string
	WarmupSecret string
}

const (
	maxMessages = 50
	tableName   = "agent_sessions"
)

// runtimeYAML renders the agent-runtime config of region as seen from inside
// its container: every dependency and peer is reached through toxiproxy.
func runtimeYAML(spec topology.Spec, region string, links []link, sec secrets, alertURL string) ([]byte, error) {
	c := rtConfig{
		Region:       region,
		Listen:       fmt.Sprintf("0.0.0.0:%d", runtimePort),
		AdminToken:   sec.AdminToken,
		WarmupSecret: sec.WarmupSecret,
		DynamoDB: rtDynamo{
			Endpoint:    "http://" + linkAddr(links, topology.DynamoLink(region)),
			Table:       tableName,
			AWSRegion:   "us-east-1",
			CreateTable: true,
		},
		Redis:            rtRedis{Addr: linkAddr(links, topology.RedisLink(region))},
		Checkpoint:       rtCheckpoint{Policy: spec.CheckpointPolicy, Interval: dur(spec.CheckpointInterval)},
		Session:          rtSession{TTL: dur(spec.SessionTTL), MaxMessages: maxMessages},
		ConflictStrategy: spec.ConflictStrategy,
		Health: rtHealth{
			Interval:           dur(spec.RegionHealthInterval),
			Timeout:            dur(spec.RegionHealthTimeout),
			HealthyThreshold:   spec.RegionHealthyThreshold,
			UnhealthyThreshold: spec.RegionUnhealthyThreshold,
		},
		Failover: rtFailover{Auto: true},
		Cache: rtCache{
			TTL:         dur(spec.CacheTTL),
			Staleness:   dur(spec.WarmupStaleness),
			Replicate:   spec.Replicate,
			WarmOnStart: spec.WarmOnStart,
		},
		Model: rtModel{Latency: dur(spec.ModelLatency)},
		Alert: rtAlert{Webhook: alertURL},
	}
	for _, r := range spec.Regions {
		ep := "http://" + linkAddr(links, topology.PeerLink(region, r.Name))
		if r.Name == region {
			ep = fmt.Sprintf("http://127.0.0.1:%d", runtimePort)
			if r.ClockOffset != 0 {
				c.ClockOffset = dur(r.ClockOffset)
			}
		}
		c.Regions = append(c.Regions, rtRegion{Name: r.Name, Endpoint: ep, Weight: r.Weight, Priority: r.Priority})
	}
	for _, r := range c.Regions {
		if strings.HasSuffix(r.Endpoint, "//") {
			return nil, fmt.Errorf("regions[%s].endpoint: no link planned", r.Name)
		}
	}
	return yaml.Marshal(c)
}

// lbYAML renders the global-lb config: each region is reached through its
// lb-><region> toxiproxy link (which ends at the region's gate).
func lbYAML(spec topology.Spec, links []link, alertURL string) ([]byte, error) {
	c := lbConfig{
		Listen: fmt.Sprintf("0.0.0.0:%d", lbPort),
		Health: lbHealth{
			Path:             "/health",
			Interval:         dur(spec.LBHealth.Interval),
			Timeout:          dur(spec.LBHealth.Timeout),
			FailureThreshold: spec.LBHealth.FailureThreshold,
			SuccessThreshold: spec.LBHealth.SuccessThreshold,
			Enabled:          spec.LBHealth.Enabled,
		},
		Outlier: lbOutlier{
			Enabled:             spec.Outlier.Enabled,
			ConsecutiveFailures: spec.Outlier.ConsecutiveFailures,
			Ejection:            dur(spec.Outlier.Ejection),
		},
		Retry: lbRetry{
			Enabled:       spec.Retry.Enabled,
			Attempts:      spec.Retry.Attempts,
			PerTryTimeout: dur(spec.Retry.PerTryTimeout),
		},
		Alert: lbAlert{Webhook: alertURL, Name: "NoHealthyRegion"},
		Seed:  spec.Seed,
	}
	for _, r := range spec.Regions {
		addr := linkAddr(links, topology.LBLink(r.Name))
		if addr == "" {
			return nil, fmt.Errorf("regions[%s].url: no lb link planned", r.Name)
		}
		c.Regions = append(c.Regions, lbRegion{Name: r.Name, URL: "http://" + addr, Weight: r.Weight})
	}
	return yaml.Marshal(c)
}
