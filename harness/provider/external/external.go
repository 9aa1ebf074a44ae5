// Package external is the `external` topology provider: a deployment the
// harness did not start and never stops, named by a target file
// (harness/target). Faults reach it through the toxiproxy its operator runs
// in front of the links and through the operator's command hooks; every
// change is written to the heal journal (harness/journal) before it is
// made, so `chaos heal` can undo it after a crash. What the target lacks
// (a hook, a link, an alert receiver, peer keys, a setting a row needs) is
// reported as topology.ErrUnsupported, and the row is skipped.
package external

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/journal"
	"github.com/agentops/failover-harness/harness/target"
	"github.com/agentops/failover-harness/harness/topology"
)

// Provider connects to the target.
type Provider struct {
	File *target.File
	// Base is the spec the target's config describes (what is deployed): a
	// row that asks for other settings is skipped, never run against a
	// deployment that differs from what it judges by.
	Base topology.Spec
	// Journal records every change before it is made; nil: none kept.
	Journal *journal.Journal
	// PollInterval paces readiness polls (default 200ms).
	PollInterval time.Duration
}

// Name implements topology.Provider.
func (p *Provider) Name() string { return "external" }

var _ topology.Provider = (*Provider)(nil)

// Start checks the target answers and is whole (every region in the LB's
// rotation, every region's router seeing every peer healthy), then returns
// a handle on it. The seed of the returned spec is made unique to this
// start: the deployment keeps sessions between rows and runs.
func (p *Provider) Start(ctx context.Context, spec topology.Spec) (topology.Cluster, error) {
	if err := Compatible(p.Base, spec); err != nil {
		return nil, err
	}
	f := p.File
	names := spec.RegionNames()
	var tnames []string
	for _, r := range f.Regions {
		tnames = append(tnames, r.Name)
	}
	if strings.Join(names, ",") != strings.Join(tnames, ",") {
		return nil, fmt.Errorf("target regions %v differ from the config's %v: the config must describe the deployment", tnames, names)
	}
	if miss := f.MissingSecrets(); len(miss) > 0 {
		return nil, fmt.Errorf("target: %s", strings.Join(miss, "; "))
	}
	spec.Seed = uniqueSeed(spec.Seed)
	c := &cluster{p: p, f: f, spec: spec, http: &http.Client{Timeout: 10 * time.Second}, paused: map[string]bool{}, down: map[string]bool{}}
	if err := c.open(ctx); err != nil {
		_ = c.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return c, nil
}

// uniqueSeed mixes the clock into a row's seed so two rows (or two runs of
// one seed) never reuse session or message ids on a deployment that
// remembers them; positive and below 2^31 like every seed.
func uniqueSeed(seed int64) int64 {
	x := uint64(seed)*0x9E3779B97F4A7C15 ^ uint64(time.Now().UnixNano())
	x ^= x >> 31
	return int64(x%(1<<31-1)) + 1
}

// Compatible says whether a row's spec is what the base spec describes:
// the settings must be equal (a deployment cannot be reconfigured per row),
// and no drift may be asked for. The error wraps topology.ErrUnsupported
// and names the settings.
func Compatible(base, spec topology.Spec) error {
	if spec.RegionDrift != nil || spec.LBDrift != nil {
		return fmt.Errorf("the row edits the deployment's config (a drift test): %w", topology.ErrUnsupported)
	}
	b, s := base.WithDefaults(), spec.WithDefaults()
	var diff []string
	bv, sv := reflect.ValueOf(b), reflect.ValueOf(s)
	t := bv.Type()
	for i := 0; i < t.NumField(); i++ {
		switch t.Field(i).Name {
		case "Seed", "RunDir", "Log", "RegionDrift", "LBDrift", "DynamoEndpoint":
			continue
		}
		if !reflect.DeepEqual(bv.Field(i).Interface(), sv.Field(i).Interface()) {
			diff = append(diff, fmt.Sprintf("%s %v (deployed: %v)", t.Field(i).Name, sv.Field(i).Interface(), bv.Field(i).Interface()))
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("the row needs settings the target does not run: %s: %w", strings.Join(diff, "; "), topology.ErrUnsupported)
	}
	return nil
}

// ErrNotWhole is returned when the target did not become whole in time.
var ErrNotWhole = errors.New("target is not whole")
