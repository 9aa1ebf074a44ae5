package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/config"
	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/gate"
	"github.com/agentops/failover-harness/harness/provider/docker"
	"github.com/agentops/failover-harness/harness/target"
	"github.com/agentops/failover-harness/harness/topology"
)

// targetSpec is the spec `chaos up --write-target` starts: the settings an
// external run will judge by (the built-in ones, or cfgPath's compressed as
// chaos run would), recorded in tf.
func targetSpec(ctx context.Context, cfgPath string, tf *target.File, progress io.Writer) (topology.Spec, error) {
	if cfgPath == "" {
		return engine.SuiteDefaults(), nil
	}
	c, issues, err := config.Load(cfgPath)
	if err != nil {
		return topology.Spec{}, err
	}
	if config.HasErrors(issues) {
		var b strings.Builder
		config.Describe(&b, c, issues)
		return topology.Spec{}, fmt.Errorf("%s is not valid:\n%s", cfgPath, b.String())
	}
	k, _, _, err := engine.ScaleFor(ctx, c, 0, progress)
	if err != nil {
		return topology.Spec{}, err
	}
	abs, err := filepath.Abs(cfgPath)
	if err != nil {
		return topology.Spec{}, err
	}
	tf.Config, tf.TimeScale = abs, k
	return engine.SpecFromConfig(c.Scaled(k)), nil
}

// Environment variables the written target names.
const (
	envAdminToken    = "CHAOS_ADMIN_TOKEN"
	envStatusToken   = "CHAOS_LB_STATUS_TOKEN"
	envRedisPassword = "CHAOS_REDIS_PASSWORD"
)

func peerKeyEnv(region string) string {
	return "CHAOS_PEER_KEY_" + strings.ToUpper(strings.ReplaceAll(region, "-", "_"))
}

// writeTargetFiles writes the target file of a docker topology, its secrets
// to path.env (0600), and serves the gates' control API the HTTP-fault
// hooks call. The returned func stops the API and removes both files.
func writeTargetFiles(path string, tf *target.File, d docker.Deployment, alertPort int) (func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("gate control API: %w", err)
	}
	srv := &http.Server{Handler: gate.NewControl(d.Gates), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	gates := "http://" + ln.Addr().String() + "/gates/{{.Region}}"
	put := func(body string) *target.Hook {
		return &target.Hook{Command: "curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/json' -d '" + body + "' " + gates, Timeout: target.Duration(10 * time.Second)}
	}
	dockerHook := func(cmd string) *target.Hook {
		return &target.Hook{Command: cmd, Timeout: target.Duration(60 * time.Second)}
	}
	redisCLI := "/usr/bin/redis-cli"
	if d.Upstream {
		redisCLI = "redis-cli"
	}
	tf.LB = target.LB{URL: d.LBURL, StatusTokenEnv: envStatusToken}
	tf.AdminTokenEnv = envAdminToken
	tf.Alerts = target.Alerts{Listen: fmt.Sprintf("%s:%d", d.Gateway, alertPort)}
	tf.Toxiproxy = &target.Toxiproxy{URL: d.ToxiproxyURL, Links: map[string]string{}}
	for _, l := range d.Links {
		tf.Toxiproxy.Links[l] = l
	}
	tf.Hooks = target.Hooks{
		Pause:          dockerHook("docker pause {{.Container}}"),
		Resume:         dockerHook("docker unpause {{.Container}}"),
		Kill:           dockerHook("docker kill {{.Container}}"),
		Start:          dockerHook("docker start {{.Container}}"),
		StartCold:      dockerHook("docker exec {{.Redis}} " + redisCLI + ` -a "$` + envRedisPassword + `" --no-auth-warning FLUSHALL && docker start {{.Container}}`),
		HTTP503On:      put(`{"status":{{.Status}}}`),
		HTTP503Off:     put(`{"status":0}`),
		FailureRate:    put(`{"failure_rate":{{.Rate}}}`),
		FailureRateOff: put(`{"failure_rate":0}`),
	}
	env := map[string]string{envAdminToken: d.AdminToken, envStatusToken: d.StatusToken, envRedisPassword: d.RedisPassword}
	for _, r := range d.Regions {
		// As the docker provider's own Kill and Start do: the peers' links
		// into a killed region refuse connections until it is back, or
		// toxiproxy's accept loop stalls dialing the stopped container and
		// the peers see the restarted region late (docker.refusePeerLinks).
		var in []string
		for _, l := range d.Links {
			if strings.HasSuffix(l, "->"+r.Name) && !strings.HasPrefix(l, "lb->") {
				in = append(in, strings.TrimRight(d.ToxiproxyURL, "/")+"/proxies/"+strings.ReplaceAll(l, ">", "%3E"))
			}
		}
		links := func(enabled bool) string {
			return fmt.Sprintf(`for p in %s; do curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"enabled":%v}' "$p" || exit 1; done`, strings.Join(in, " "), enabled)
		}
		tf.Regions = append(tf.Regions, target.Region{
			Name: r.Name, URL: r.URL, AdminURL: r.Direct, MetricsURL: r.Direct + "/metrics", PeerKeyEnv: peerKeyEnv(r.Name),
			Vars: map[string]string{"Container": r.Runtime, "Redis": r.Redis},
			Hooks: target.Hooks{
				Kill:      dockerHook(links(false) + " && docker kill {{.Container}}"),
				Start:     dockerHook("docker start {{.Container}} && " + links(true)),
				StartCold: dockerHook(tf.Hooks.StartCold.Command + " && " + links(true)),
			},
		})
		env[peerKeyEnv(r.Name)] = d.WarmupKeys[r.Name].Seed
	}
	remove := func() {
		_ = srv.Close()
		_ = os.Remove(path)
		_ = os.Remove(path + ".env")
	}
	if err := tf.Validate(); err != nil {
		remove()
		return nil, fmt.Errorf("the target written would not load: %w", err)
	}
	header := "Written by chaos up --write-target for the docker topology it runs; removed when it stops.\n" +
		"Secrets are in " + filepath.Base(path) + ".env: set -a; . " + path + ".env; set +a\n" +
		"Then: chaos run --provider external --target " + path
	if err := tf.Write(path, header); err != nil {
		remove()
		return nil, err
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	if err := os.WriteFile(path+".env", []byte(b.String()), 0o600); err != nil {
		remove()
		return nil, err
	}
	return remove, nil
}
