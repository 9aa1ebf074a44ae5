package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/agentops/failover-harness/harness/topology"
)

// toxicSeq makes every toxic name unique, so two faults on one link never
// clobber each other and each heal removes only its own toxics.
var toxicSeq atomic.Int64

// toxicName names one toxic: chaos_<kind>_<stream>_<n>.
func toxicName(kind, stream string) string {
	return fmt.Sprintf("chaos_%s_%s_%d", kind, stream, toxicSeq.Add(1))
}

// addToxics adds one toxic of kind per stream on link and returns the heal
// that removes exactly those. On a partial failure it removes what it added.
func addToxics(c topology.Cluster, link, kind string, streams []string, attrs toxiproxy.Attributes) (func(context.Context) error, error) {
	px, err := c.Link(link)
	if err != nil {
		return nil, fmt.Errorf("link %s: %w", link, err)
	}
	var names []string
	heal := Once(func(context.Context) error { return removeToxics(c, link, names) })
	for _, stream := range streams {
		name := toxicName(kind, stream)
		if _, err := px.AddToxic(name, kind, stream, 1, attrs); err != nil {
			return nil, errors.Join(fmt.Errorf("link %s: add %s toxic: %w", link, kind, err), heal(context.Background()))
		}
		names = append(names, name)
	}
	return heal, nil
}

// removeToxics removes the named toxics from link; one already gone (the
// proxy was reset) is not an error.
func removeToxics(c topology.Cluster, link string, names []string) error {
	px, err := c.Link(link)
	if err != nil {
		return err
	}
	var errs []error
	for i := len(names) - 1; i >= 0; i-- {
		if err := px.RemoveToxic(names[i]); err != nil && !strings.Contains(err.Error(), "not found") {
			errs = append(errs, fmt.Errorf("link %s: remove toxic %s: %w", link, names[i], err))
		}
	}
	return errors.Join(errs...)
}
