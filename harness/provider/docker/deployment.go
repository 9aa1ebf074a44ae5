package docker

import (
	"fmt"

	"github.com/agentops/failover-harness/harness/gate"
	rtconfig "github.com/agentops/failover-harness/runtime/config"
)

// Deployment is what another process needs to drive a running docker
// topology as an external target (`chaos up --write-target`): addresses,
// container names for the hooks, the gates to serve over HTTP, and the
// secrets (which the caller hands over by environment, never in the file).
type Deployment struct {
	LBURL        string
	ToxiproxyURL string
	Gateway      string // the host as the containers see it
	Links        []string
	Regions      []DeployedRegion
	Gates        map[string]*gate.Gate
	Upstream     bool // upstream images: redis-cli is on PATH, not /usr/bin

	AdminToken, StatusToken, RedisPassword string
	WarmupKeys                             map[string]rtconfig.WarmupKeyPair
}

// DeployedRegion is one region of a Deployment.
type DeployedRegion struct {
	Name    string
	URL     string // through its gate, as the harness reaches it
	Direct  string // the runtime's published port, bypassing the gate
	Runtime string // container name
	Redis   string // container name
}

// Describer is implemented by the docker provider's clusters.
type Describer interface {
	Deployment() Deployment
}

// Deployment describes the running topology.
func (c *cluster) Deployment() Deployment {
	d := Deployment{
		LBURL: c.lbURL, Gateway: c.gateway, Links: c.Links(), Gates: c.gates, Upstream: c.opts.Images.Upstream,
		AdminToken: c.sec.AdminToken, StatusToken: c.sec.StatusToken, RedisPassword: c.sec.RedisPassword, WarmupKeys: c.sec.WarmupKeys,
	}
	if c.toxi != nil {
		d.ToxiproxyURL = c.toxiURL
	}
	for _, r := range c.spec.Regions {
		d.Regions = append(d.Regions, DeployedRegion{
			Name: r.Name, URL: c.gates[r.Name].URL(), Direct: fmt.Sprintf("http://127.0.0.1:%d", c.rtHostPort[r.Name]),
			Runtime: c.runID + "-runtime-" + r.Name, Redis: c.runID + "-redis-" + r.Name,
		})
	}
	return d
}

var _ Describer = (*cluster)(nil)
