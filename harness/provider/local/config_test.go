package local

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agentops/failover-harness/harness/alertsink"
	"github.com/agentops/failover-harness/harness/gate"
	"github.com/agentops/failover-harness/harness/topology"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
	"github.com/agentops/failover-harness/runtime/lb"
)

// configCluster is a Cluster with just what the config writers read: gates
// and an alert receiver, and made-up link addresses (nothing is dialled).
func configCluster(t *testing.T, spec topology.Spec) (*Cluster, map[string]string, *url.URL) {
	t.Helper()
	spec = spec.WithDefaults()
	spec.RunDir = t.TempDir()
	c := &Cluster{spec: spec, token: "tok", warmupKeys: rtconfig.NewWarmupKeys(spec.RegionNames()...), byName: map[string]*regionState{}}
	var err error
	if c.alerts, err = alertsink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.alerts.Close() })
	listen := map[string]string{}
	port := 30000
	next := func() string { port++; return fmt.Sprintf("127.0.0.1:%d", port) }
	for i, rs := range spec.Regions {
		r := &regionState{spec: rs, port: 9100 + i}
		if r.gate, err = gate.Start(rs.Name, fmt.Sprintf("http://127.0.0.1:%d", r.port), "127.0.0.1:0", 1); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.gate.Close() })
		c.regions = append(c.regions, r)
		c.byName[rs.Name] = r
	}
	for _, n := range spec.RegionNames() {
		for _, l := range topology.RegionLinks(spec, n) {
			if listen[l] == "" {
				listen[l] = next()
			}
		}
	}
	du, _ := url.Parse("http://127.0.0.1:8000")
	return c, listen, du
}

// What the provider writes is exactly what each binary loads back, valid:
// the config types are the binaries' own, so the two cannot drift.
func TestConfigsRoundTripThroughTheBinariesLoaders(t *testing.T) {
	spec := topology.DefaultSpec()
	spec.Regions = topology.DefaultRegions()
	spec.Regions[2].ClockOffset = 4 * time.Second
	spec.RegionAlerts = true
	spec.CheckpointPolicy = rtconfig.PolicyPeriodic
	spec.Retry.Enabled = false
	c, listen, du := configCluster(t, spec)
	for _, r := range c.regions {
		if err := c.writeRuntimeConfig(r, listen, du); err != nil {
			t.Fatal(err)
		}
		got, err := rtconfig.Load(r.configPath, nil)
		if err != nil {
			t.Fatalf("agent-runtime would reject %s: %v", r.configPath, err)
		}
		if want := c.runtimeConfig(r, listen, du); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: loaded\n%+v\nwant\n%+v", r.spec.Name, got, want)
		}
		// Each region signs with its own key and knows every region's public one.
		if got.WarmupKey != c.warmupKeys[r.spec.Name].Seed || got.WarmupSecret != "" {
			t.Errorf("%s: warmup_key is not its own", r.spec.Name)
		}
		for _, rr := range got.Regions {
			if rr.WarmupPublicKey != c.warmupKeys[rr.Name].Public {
				t.Errorf("%s: regions[%s].warmup_public_key = %q", r.spec.Name, rr.Name, rr.WarmupPublicKey)
			}
		}
		if got.Regions[0].Endpoint == "" || got.Alert.Webhook != c.alerts.URL()+"/region/"+r.spec.Name ||
			got.Checkpoint.Policy != rtconfig.PolicyPeriodic || got.ClockOffset != r.spec.ClockOffset {
			t.Errorf("%s: spec settings or wiring lost: %+v", r.spec.Name, got)
		}
	}
	path, err := c.writeLBConfig(listen)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lb.LoadConfig(path)
	if err != nil {
		t.Fatalf("global-lb would reject %s: %v", path, err)
	}
	if want := c.lbConfig(listen); !reflect.DeepEqual(got, want) {
		t.Errorf("lb: loaded\n%+v\nwant\n%+v", got, want)
	}
	if got.Retry.Enabled || got.Health != c.spec.LBHealth || got.Outlier != c.spec.Outlier || got.Seed != c.spec.Seed ||
		got.Regions[1].URL != "http://"+listen[topology.LBLink(got.Regions[1].Name)] || got.Alert.Webhook != c.alerts.URL()+"/lb" {
		t.Errorf("lb: spec settings or wiring lost: %+v", got)
	}

	// A spec the binaries would refuse is refused before any child starts,
	// naming the field.
	bad := spec
	bad.LBHealth.FailureThreshold = 11
	c, listen, _ = configCluster(t, bad)
	if _, err := c.writeLBConfig(listen); err == nil || !strings.Contains(err.Error(), "health.failure_threshold") {
		t.Errorf("threshold 11: %v, want an error naming health.failure_threshold", err)
	}
}

// Without redis-server the provider falls back to miniredis, whose TTLs
// must run with the clock: a cache entry with a short TTL disappears.
func TestEmbeddedRedisExpiresKeys(t *testing.T) {
	t.Setenv("PATH", "") // hide redis-server
	var notices []string
	rb, err := startRedis(context.Background(), "redis-test", t.TempDir(), "pw", 5*time.Second, func(f string, a ...any) {
		notices = append(notices, fmt.Sprintf(f, a...))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.close(time.Second)
	if rb.mini == nil || len(notices) == 0 || !strings.Contains(notices[0], "miniredis") {
		t.Fatalf("want the embedded fallback announced; notices %q", notices)
	}
	ctx := context.Background()
	requiresPassword(t, rb.addr, "pw")
	rdb := redis.NewClient(&redis.Options{Addr: rb.addr, Password: "pw", DialTimeout: time.Second})
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "v", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "keep", "v", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := rdb.Get(ctx, "k").Err()
		if errors.Is(err, redis.Nil) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("key with a 50ms TTL still present after 3s: miniredis TTLs do not tick")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := rdb.Get(ctx, "keep").Err(); err != nil {
		t.Fatalf("key with a 1h TTL gone: %v", err)
	}
}

// requiresPassword fails unless addr refuses a client without the password
// and serves one with it.
func requiresPassword(t *testing.T, addr, pw string) {
	t.Helper()
	ctx := context.Background()
	anon := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer anon.Close()
	if err := anon.Set(ctx, "x", "poison", time.Minute).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("a client without the password wrote to the cache: %v", err)
	}
	authed := redis.NewClient(&redis.Options{Addr: addr, Password: pw, DialTimeout: time.Second})
	defer authed.Close()
	if err := authed.Ping(ctx).Err(); err != nil {
		t.Fatalf("with the password: %v", err)
	}
}

// The real redis-server a region uses needs its password too.
func TestRedisServerRequiresPassword(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (make test installs it)")
	}
	rb, err := startRedis(context.Background(), "redis-test", t.TempDir(), "s3cret", 10*time.Second, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.close(time.Second)
	requiresPassword(t, rb.addr, "s3cret")
	if err := rb.flush(context.Background()); err != nil {
		t.Fatalf("flush with the password: %v", err)
	}
}
