package local

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// The YAML shapes below mirror docs/ARCHITECTURE.md. Durations are written as
// Go duration strings; the binaries decode with KnownFields, so keys must match.

type rtRegion struct {
	Name     string `yaml:"name"`
	Endpoint string `yaml:"endpoint"`
	Weight   int    `yaml:"weight"`
	Priority int    `yaml:"priority"`
}

type runtimeConfig struct {
	Region       string `yaml:"region"`
	ClockOffset  string `yaml:"clock_offset,omitempty"`
	Listen       string `yaml:"listen"`
	AdminToken   string `yaml:"admin_token"`
	WarmupSecret string `yaml:"warmup_secret"`
	DynamoDB     struct {
		Endpoint    string `yaml:"endpoint"`
		Table       string `yaml:"table"`
		AWSRegion   string `yaml:"aws_region"`
		CreateTable bool   `yaml:"create_table"`
	} `yaml:"dynamodb"`
	Redis struct {
		Addr string `yaml:"addr"`
	} `yaml:"redis"`
	Regions    []rtRegion `yaml:"regions"`
	Checkpoint struct {
		Policy   string `yaml:"policy"`
		Interval string `yaml:"interval"`
	} `yaml:"checkpoint"`
	Session struct {
		TTL         string `yaml:"ttl"`
		MaxMessages int    `yaml:"max_messages"`
	} `yaml:"session"`
	ConflictStrategy string `yaml:"conflict_strategy"`
	Health           struct {
		Interval           string `yaml:"interval"`
		Timeout            string `yaml:"timeout"`
		HealthyThreshold   int    `yaml:"healthy_threshold"`
		UnhealthyThreshold int    `yaml:"unhealthy_threshold"`
	} `yaml:"health"`
	Failover struct {
		Auto bool `yaml:"auto"`
	} `yaml:"failover"`
	Cache struct {
		TTL         string `yaml:"ttl"`
		Staleness   string `yaml:"staleness"`
		Replicate   bool   `yaml:"replicate"`
		WarmOnStart bool   `yaml:"warm_on_start"`
	} `yaml:"cache"`
	Model struct {
		Latency string `yaml:"latency"`
	} `yaml:"model"`
	Alert struct {
		Webhook string `yaml:"webhook"`
	} `yaml:"alert"`
}

type lbRegion struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Weight int    `yaml:"weight"`
}

type lbConfig struct {
	Listen  string     `yaml:"listen"`
	Regions []lbRegion `yaml:"regions"`
	Health  struct {
		Path             string `yaml:"path"`
		Interval         string `yaml:"interval"`
		Timeout          string `yaml:"timeout"`
		FailureThreshold int    `yaml:"failure_threshold"`
		SuccessThreshold int    `yaml:"success_threshold"`
		Enabled          bool   `yaml:"enabled"`
	} `yaml:"health"`
	Outlier struct {
		Enabled             bool   `yaml:"enabled"`
		ConsecutiveFailures int    `yaml:"consecutive_failures"`
		Ejection            string `yaml:"ejection"`
	} `yaml:"outlier"`
	Retry struct {
		Enabled       bool   `yaml:"enabled"`
		Attempts      int    `yaml:"attempts"`
		PerTryTimeout string `yaml:"per_try_timeout"`
	} `yaml:"retry"`
	Alert struct {
		Webhook string `yaml:"webhook"`
		Name    string `yaml:"name"`
	} `yaml:"alert"`
	Seed int64 `yaml:"seed"` // the LB's weighted picks replay with the run
}

func writeYAML(path string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return os.WriteFile(path, b, 0o600)
}
