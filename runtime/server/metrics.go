package server

import (
	"github.com/agentops/failover-harness/runtime/metrics"
)

// registerMetrics declares the metric names the harness reads
// (docs/ARCHITECTURE.md); counters owned by other packages are read from
// their Stats() at scrape time.
func (s *Server) registerMetrics() {
	r := s.cfg.Metrics
	one := func(v float64) []metrics.Sample { return []metrics.Sample{{Value: v}} }
	s.messages = r.Counter("agent_messages_total", "Messages handled, by outcome.", "outcome")
	s.requests = r.Counter("http_requests_total", "HTTP requests, by route and status code.", "route", "code")
	s.latency = r.Histogram("http_request_duration_seconds", "HTTP request latency, by route.", metrics.DefaultLatencyBuckets, "route")
	ag := s.cfg.Agent
	r.CounterFunc("agent_cache_hits_total", "Exact-match cache hits.", nil, func() []metrics.Sample { return one(float64(ag.Stats().CacheHits)) })
	r.CounterFunc("agent_cache_misses_total", "Exact-match cache misses.", nil, func() []metrics.Sample { return one(float64(ag.Stats().CacheMisses)) })
	r.CounterFunc("agent_cache_refused_total", "Cached replies refused when read: they carried a data-changing tool call.", nil, func() []metrics.Sample { return one(float64(ag.Stats().CacheRefused)) })
	r.CounterFunc("store_checkpoints_total", "Session writes to the global store.", nil, func() []metrics.Sample { return one(float64(ag.Stats().Checkpoints)) })
	r.CounterFunc("agent_session_restores_total", "Sessions restored from another region's checkpoint.", nil, func() []metrics.Sample { return one(float64(ag.Stats().Restores)) })
	r.GaugeFunc("agent_sessions", "Sessions held by this region.", nil, func() []metrics.Sample { return one(float64(len(ag.Sessions()))) })
	r.GaugeFunc("agent_checkpoint_loops", "Running per-session checkpoint loops.", nil, func() []metrics.Sample { return one(float64(ag.Stats().ActiveLoops)) })
	if ss := s.cfg.StoreStats; ss != nil {
		r.CounterFunc("store_conflicts_total", "Version conflicts returned by the store.", nil, func() []metrics.Sample { return one(float64(ss().Conflicts)) })
		r.CounterFunc("store_overwritten_messages_total", "Messages removed by a write (last-write-wins overwrites).", nil, func() []metrics.Sample { return one(float64(ss().OverwrittenMessages)) })
	} else {
		r.CounterFunc("store_conflicts_total", "Version conflicts seen by the agent.", nil, func() []metrics.Sample { return one(float64(ag.Stats().Conflicts)) })
		r.CounterFunc("store_overwritten_messages_total", "Messages removed by a write.", nil, func() []metrics.Sample { return one(0) })
	}
	if fm := s.cfg.Failover; fm != nil {
		r.CounterFunc("failover_total", "Failovers, by kind.", []string{"kind"}, func() []metrics.Sample {
			st := fm.Stats()
			return []metrics.Sample{{Labels: []string{"auto"}, Value: float64(st.Auto)}, {Labels: []string{"manual"}, Value: float64(st.Manual)}}
		})
	} else {
		r.CounterFunc("failover_total", "Failovers, by kind.", []string{"kind"}, func() []metrics.Sample { return nil })
	}
	if al := s.cfg.Alert; al != nil {
		r.CounterFunc("alerts_sent_total", "Alert webhook notifications delivered.", nil, func() []metrics.Sample { return one(float64(al.Stats().Sent)) })
	} else {
		r.CounterFunc("alerts_sent_total", "Alert webhook notifications delivered.", nil, func() []metrics.Sample { return one(0) })
	}
	s.registerReplicatorMetrics(r)
}
