package local

import (
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

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

// freePort asks the kernel for a free TCP port on 127.0.0.1 and releases it,
// so a child can be told its port up front and keep it across restarts.
func freePort() (int, error) {
	// A region keeps its port across restarts and is wired into gates and
	// proxies before it starts, so the port is reserved by number, not held
	// open. Ports below the kernel's ephemeral range are never handed out to
	// other ":0" listeners or outgoing connections in the meantime.
	lo := ephemeralLow()
	const base = 10000
	if lo > base+1000 {
		for i := 0; i < 64; i++ {
			port := base + mrand.IntN(lo-base)
			if !handedOut.claim(port) {
				continue // free now, but promised to a child that has not bound it yet
			}
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				ln.Close()
				return port, nil
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// handedOut remembers the ports freePort returned lately: a port is picked
// free but bound only later by the child, so picking it twice in between
// would start two children on one port.
var handedOut = &recentPorts{seen: map[int]bool{}}

type recentPorts struct {
	mu    sync.Mutex
	seen  map[int]bool
	order []int
}

// claim reserves port unless it was handed out among the last 4096.
func (r *recentPorts) claim(port int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[port] {
		return false
	}
	r.seen[port] = true
	r.order = append(r.order, port)
	if len(r.order) > 4096 {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux
// default 32768); 0 when unknown.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return n
}
