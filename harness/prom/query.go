// Package prom is the topology's Prometheus as the harness uses it: the
// configuration and rules a provider starts it with, and PromQL queries for
// probes and stop conditions (client_golang's API client).
package prom

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Server is implemented by clusters that run (or were given) a Prometheus.
type Server interface {
	PrometheusURL() string
}

// Holds evaluates expr at now on the Prometheus at baseURL, as an alerting
// rule's expression is read: true when the result is a non-empty vector (a
// comparison such as `x < 0.01` keeps only the series that satisfy it,
// whatever their values), or a non-zero scalar. The string says what was
// seen.
func Holds(ctx context.Context, baseURL, expr string) (bool, string, error) {
	cl, err := api.NewClient(api.Config{Address: baseURL})
	if err != nil {
		return false, "", fmt.Errorf("prometheus %s: %w", baseURL, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, warnings, err := v1.NewAPI(cl).Query(ctx, expr, time.Now())
	if err != nil {
		return false, "", fmt.Errorf("query %q: %w", expr, err)
	}
	_ = warnings
	switch r := v.(type) {
	case model.Vector:
		if len(r) == 0 {
			return false, "no series", nil
		}
		return true, fmt.Sprintf("%d series, first %s = %v", len(r), r[0].Metric, r[0].Value), nil
	case *model.Scalar:
		return r.Value != 0, fmt.Sprintf("scalar %v", r.Value), nil
	}
	return false, "", fmt.Errorf("query %q: result %s is not a vector or scalar", expr, v.Type())
}
