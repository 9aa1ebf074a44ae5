package lb

import (
	"fmt"
	"net/http"

	"github.com/agentops/failover-harness/runtime/metrics"
)

// metricsHandler serves GET /lb/metrics: the LB's rotation and traffic as
// Prometheus metrics, read from its state at scrape time. Region names are
// the `region` label; the LB adds no const label (it is one process).
func (l *LB) metricsHandler() http.Handler {
	l.metricsOnce.Do(func() {
		r := metrics.NewRegistry()
		each := func(f func(b *backend) float64) func() []metrics.Sample {
			return func() []metrics.Sample {
				l.mu.Lock()
				defer l.mu.Unlock()
				l.expireLocked(l.now())
				out := make([]metrics.Sample, 0, len(l.backends))
				for _, b := range l.backends {
					out = append(out, metrics.Sample{Labels: []string{b.name}, Value: f(b)})
				}
				return out
			}
		}
		r.GaugeFunc("lb_region_in_rotation", "1 when the region is in rotation (status active and not ejected), else 0.", []string{"region"},
			each(func(b *backend) float64 { return boolValue(b.inRotation()) }))
		r.GaugeFunc("lb_region_healthy", "1 when the region's health status is active (ejection aside), else 0.", []string{"region"},
			each(func(b *backend) float64 { return boolValue(b.status == StatusActive) }))
		r.GaugeFunc("lb_regions_in_rotation", "Regions in rotation; 0 is the NoHealthyRegion condition.", nil, func() []metrics.Sample {
			return []metrics.Sample{{Value: float64(l.inRotationCount())}}
		})
		r.CounterFunc("lb_region_requests_total", "Proxied attempts sent to the region, retries included, not health probes.", []string{"region"},
			each(func(b *backend) float64 { return float64(b.requests.Load()) }))
		r.CounterFunc("lb_responses_total", "Answers to clients of the agent API (proxied, or the no-region status page), by status class.", []string{"class"},
			func() []metrics.Sample {
				out := make([]metrics.Sample, 0, 5)
				for c := 1; c <= 5; c++ {
					out = append(out, metrics.Sample{Labels: []string{fmt.Sprintf("%dxx", c)}, Value: float64(l.answers[c].Load())})
				}
				return out
			})
		r.CounterFunc("lb_health_rounds_total", "Completed health-check loop rounds.", nil, func() []metrics.Sample {
			l.mu.Lock()
			defer l.mu.Unlock()
			return []metrics.Sample{{Value: float64(l.rounds.Snapshot(l.cfg.Health.Enabled, l.cfg.Health.Interval).Rounds)}}
		})
		l.metricsH = r.Handler()
	})
	return l.metricsH
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
