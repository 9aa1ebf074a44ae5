// Package docker is the `docker` topology provider: the DynamoDB-compatible
// endpoint, one Redis and one agent-runtime per region, one toxiproxy carrying
// every link, the global LB, and (as the spec asks) an Alertmanager and a
// Prometheus (observe.go), each a container on a private network, started
// with testcontainers-go from images built locally by scripts/build-images.sh
// (the engine may have no registry access at all).
//
// HTTP faults: the per-region fault gate (harness/gate) runs in-process on the
// host, listening on the run network's gateway address. The LB's path to a
// region is LB container → toxiproxy `lb-><region>` → host gate → the region's
// runtime port published on 127.0.0.1. This keeps GateControl in-process (no
// control API to build into an image) at the cost of a hop through the host.
//
// The Ryuk reaper cannot be pulled, so it is disabled; instead every container
// and the network carry a run-id label and Close (and every failed Start)
// removes everything carrying it.
package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/agentops/failover-harness/harness/topology"
)

// Labels put on everything a run creates.
const (
	LabelProject = "org.agentops.failover-harness"
	LabelRun     = "org.agentops.failover-harness.run"
)

// Images names the images of the topology.
type Images struct {
	Runtime   string
	LB        string
	Dynamo    string
	Redis     string
	Toxiproxy string
	// Prometheus and Alertmanager are started only when the spec asks
	// (Spec.Prometheus, Spec.Alertmanager); their entrypoint is the binary,
	// so the provider passes flags only (as the prom/* images expect).
	Prometheus   string
	Alertmanager string
	// Upstream marks the registry images (DynamoDB Local, the official
	// redis and toxiproxy images), which start with their own commands.
	Upstream bool
}

// UpstreamImages are what a user with registry access expects: DynamoDB
// Local, the official Redis, toxiproxy 2.12.0, Prometheus 2.42.0 and
// Alertmanager 0.25.0 (the versions Debian ships), and the runtime and LB built
// from images/release.Dockerfile (`make images-release`). They are the
// provider's defaults.
func UpstreamImages() Images {
	return Images{
		Runtime:      "agentops/agent-runtime:release",
		LB:           "agentops/global-lb:release",
		Dynamo:       "amazon/dynamodb-local:latest",
		Redis:        "redis:7",
		Toxiproxy:    "ghcr.io/shopify/toxiproxy:2.12.0",
		Prometheus:   "prom/prometheus:v2.42.0",
		Alertmanager: "prom/alertmanager:v0.25.0",
		Upstream:     true,
	}
}

// LocalImages are the tags scripts/build-images.sh (`make images`) builds
// with no registry: static Go binaries FROM scratch, and Debian's
// redis-server, prometheus and prometheus-alertmanager.
func LocalImages() Images {
	return Images{
		Runtime:      "agentops/agent-runtime:local",
		LB:           "agentops/global-lb:local",
		Dynamo:       "agentops/embedded-dynamodb:local",
		Redis:        "agentops/redis:local",
		Toxiproxy:    "agentops/toxiproxy:local",
		Prometheus:   "agentops/prometheus:local",
		Alertmanager: "agentops/alertmanager:local",
	}
}

// DefaultImages is UpstreamImages.
func DefaultImages() Images { return UpstreamImages() }

// ResolveImages turns an image-set name into Images: "upstream", "local",
// or "auto" (local when every local image is present, else upstream). The
// string says which was chosen and why.
func ResolveImages(ctx context.Context, choice string) (Images, string, error) {
	switch choice {
	case "upstream":
		return UpstreamImages(), "upstream images (requested)", nil
	case "local":
		return LocalImages(), "local images (requested)", nil
	case "", "auto":
		missing, err := missingImages(ctx, LocalImages())
		if err == nil && len(missing) == 0 {
			return LocalImages(), "local images present (built by make images)", nil
		}
		return UpstreamImages(), "local images not all present; using upstream images", nil
	default:
		return Images{}, "", fmt.Errorf("images: %q is not one of upstream, local, auto", choice)
	}
}

// NewFor is New with the image set named by choice (see ResolveImages);
// the string says which set was chosen and why.
func NewFor(ctx context.Context, choice string, opts Options) (*Provider, string, error) {
	im, why, err := ResolveImages(ctx, choice)
	if err != nil {
		return nil, "", err
	}
	opts.Images = im
	return New(opts), why, nil
}

func missingImages(ctx context.Context, im Images) ([]string, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	var missing []string
	for _, img := range im.list() {
		if _, err := cli.ImageInspect(ctx, img); err != nil {
			missing = append(missing, img)
		}
	}
	return missing, nil
}

// list is the images every topology needs; the observers' (Prometheus,
// Alertmanager) are needed only by a spec that asks for them (needImage),
// so a machine without them still runs the plan in containers.
func (im Images) list() []string {
	return []string{im.Dynamo, im.Redis, im.Toxiproxy, im.Runtime, im.LB}
}

// Options tunes the provider. Zero values take the defaults noted.
type Options struct {
	Images Images // default DefaultImages()
	// StartupTimeout bounds each container's readiness (and a restarted
	// runtime's), default 60s.
	StartupTimeout time.Duration
	// StopGrace is how long Kill lets a runtime handle SIGTERM before SIGKILL;
	// default 0: an immediate kill, i.e. a crash.
	StopGrace time.Duration
	// CleanupTimeout bounds Close and the cleanup of a failed Start, even
	// when their context is already cancelled; default 60s.
	CleanupTimeout time.Duration
	// PollInterval is how often readiness and cleanup are re-checked, default 100ms.
	PollInterval time.Duration
	// AlertPort, when set, points the topology's alert webhooks at this
	// port of the network's gateway instead of a receiver of this process:
	// another process (an external run of `chaos up --write-target`'s
	// topology) listens there. Alerts() is then empty here.
	AlertPort int
}

func (o Options) withDefaults() Options {
	if o.Images == (Images{}) {
		o.Images = DefaultImages()
	}
	if o.StartupTimeout <= 0 {
		o.StartupTimeout = 60 * time.Second
	}
	if o.CleanupTimeout <= 0 {
		o.CleanupTimeout = 60 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	return o
}

// Provider starts topologies as containers.
type Provider struct {
	opts Options
}

// New returns a docker provider.
func New(opts Options) *Provider { return &Provider{opts: opts.withDefaults()} }

// Name implements topology.Provider.
func (p *Provider) Name() string { return "docker" }

var _ topology.Provider = (*Provider)(nil)

// disableRyuk turns the reaper off before testcontainers reads its config
// (it reads it once per process). The reaper image cannot be pulled here, and
// this package removes what it starts itself.
func disableRyuk() error {
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	if !testcontainers.ReadConfig().RyukDisabled {
		return errors.New("docker provider: the Ryuk reaper is enabled (TESTCONTAINERS_RYUK_DISABLED or ryuk.disabled in ~/.testcontainers.properties) but its image cannot be pulled; disable it")
	}
	return nil
}

// ErrUnavailable wraps every reason the provider cannot run here (no engine,
// missing images), so callers can skip instead of fail.
var ErrUnavailable = errors.New("docker provider unavailable")

// Available reports nil when the engine answers and every image is present
// locally; otherwise an error wrapping ErrUnavailable that says what is
// missing and how to fix it.
func (p *Provider) Available(ctx context.Context) error {
	if err := disableRyuk(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return fmt.Errorf("%w: docker client: %v", ErrUnavailable, err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("%w: docker engine unreachable: %v", ErrUnavailable, err)
	}
	var missing []string
	for _, img := range p.opts.Images.list() {
		if _, err := cli.ImageInspect(ctx, img); err != nil {
			missing = append(missing, img)
		}
	}
	if len(missing) > 0 {
		how := "run 'make images' (builds them locally, no registry) and use the local image set"
		if p.opts.Images.Upstream {
			how = "pull them (docker pull …) and run 'make images-release', or run 'make images' and use --images local"
		}
		return fmt.Errorf("%w: images missing: %s (%s)", ErrUnavailable, strings.Join(missing, ", "), how)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// Start implements topology.Provider. On any error everything already
// created is removed before returning.
func (p *Provider) Start(ctx context.Context, spec topology.Spec) (topology.Cluster, error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.DynamoEndpoint != "" {
		return nil, errors.New("spec.dynamo_endpoint: not supported by the docker provider (it runs its own DynamoDB container)")
	}
	if err := disableRyuk(); err != nil {
		return nil, err
	}
	c := &cluster{
		opts:  p.opts,
		spec:  spec,
		runID: "fh-" + randomHex(6),
		sec:   newSecrets(spec),
	}
	if err := c.start(ctx); err != nil {
		cerr := c.Close(ctx)
		return nil, errors.Join(fmt.Errorf("docker provider start (run %s): %w", c.runID, err), cerr)
	}
	return c, nil
}

// RunID returns the run label value of a cluster started by this package, or
// "" for any other cluster; tests use it to look for leftovers.
func RunID(cl topology.Cluster) string {
	if c, ok := cl.(*cluster); ok {
		return c.runID
	}
	return ""
}

// Leftovers lists containers, networks and volumes still carrying the run
// label runID, as "kind name" strings.
func Leftovers(ctx context.Context, runID string) ([]string, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	return leftovers(ctx, cli, runID)
}

func runFilter(runID string) client.Filters {
	return make(client.Filters).Add("label", LabelRun+"="+runID)
}

func leftovers(ctx context.Context, cli *client.Client, runID string) ([]string, error) {
	var out []string
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: runFilter(runID)})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		out = append(out, "container "+strings.Join(c.Names, ","))
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: runFilter(runID)})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns.Items {
		out = append(out, "network "+n.Name)
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: runFilter(runID)})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vs.Items {
		out = append(out, "volume "+v.Name)
	}
	return out, nil
}

// removeRun force-removes every container (with its anonymous volumes),
// volume and network labelled with runID. It is the single cleanup path, so
// a container created by a Start that failed half-way is removed too.
func removeRun(ctx context.Context, cli *client.Client, runID string) error {
	var errs []error
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: runFilter(runID)})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		// A paused container must be unpaused before it can be killed on some engines.
		if c.State == "paused" {
			_, _ = cli.ContainerUnpause(ctx, c.ID, client.ContainerUnpauseOptions{})
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
		}
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: runFilter(runID)})
	if err == nil {
		for _, v := range vs.Items {
			if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			}
		}
	} else {
		errs = append(errs, fmt.Errorf("list volumes: %w", err))
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: runFilter(runID)})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range ns.Items {
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

func isNotFound(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "no such")
}
