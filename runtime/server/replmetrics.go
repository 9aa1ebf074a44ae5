package server

import "github.com/agentops/failover-harness/runtime/metrics"

// registerReplicatorMetrics exposes the replicator's counters under the
// names the harness reads.
func (s *Server) registerReplicatorMetrics(r *metrics.Registry) {
	rp := s.cfg.Replicator
	if rp == nil {
		r.CounterFunc("cache_warmup_received_total", "Warmup entries accepted from peers.", nil, func() []metrics.Sample { return []metrics.Sample{{}} })
		r.CounterFunc("cache_warmup_rejected_total", "Warmup requests/entries refused, by reason.", []string{"reason"}, func() []metrics.Sample { return nil })
		r.CounterFunc("cache_warmup_pulled_total", "Entries pulled from peers on a cold start.", nil, func() []metrics.Sample { return []metrics.Sample{{}} })
		r.GaugeFunc("cache_warmup_pull_unanswered_peers", "Peers that did not answer the last cold-start pull (unreachable or too slow).", nil, func() []metrics.Sample { return []metrics.Sample{{}} })
		return
	}
	r.CounterFunc("cache_warmup_received_total", "Warmup entries accepted from peers.", nil, func() []metrics.Sample {
		return []metrics.Sample{{Value: float64(rp.Stats().Received)}}
	})
	r.CounterFunc("cache_warmup_rejected_total", "Warmup requests/entries refused, by reason.", []string{"reason"}, func() []metrics.Sample {
		st := rp.Stats()
		// One reason per refusal code of peer protocol v2 (runtime/cache),
		// plus the entry-level stale and invalid.
		return []metrics.Sample{
			{Labels: []string{"bad_signature"}, Value: float64(st.RejectedSignature)},
			{Labels: []string{"unknown_peer"}, Value: float64(st.RejectedUnknownPeer)},
			{Labels: []string{"wrong_recipient"}, Value: float64(st.RejectedWrongRecipient)},
			{Labels: []string{"stale_request"}, Value: float64(st.RejectedStaleRequest)},
			{Labels: []string{"replayed"}, Value: float64(st.RejectedReplayed)},
			{Labels: []string{"sender_mismatch"}, Value: float64(st.RejectedSenderMismatch)},
			{Labels: []string{"replay_cache_full"}, Value: float64(st.RejectedReplayCacheFull)},
			{Labels: []string{"bad_answer"}, Value: float64(st.RejectedBadAnswer)},
			{Labels: []string{"stale"}, Value: float64(st.RejectedStale)},
			{Labels: []string{"invalid"}, Value: float64(st.RejectedInvalid)},
			{Labels: []string{"poisoned"}, Value: float64(st.RejectedPoisoned)},
		}
	})
	r.CounterFunc("cache_warmup_pulled_total", "Entries pulled from peers on a cold start.", nil, func() []metrics.Sample {
		return []metrics.Sample{{Value: float64(rp.Stats().Pulled)}}
	})
	r.GaugeFunc("cache_warmup_pull_unanswered_peers", "Peers that did not answer the last cold-start pull (unreachable or too slow).", nil, func() []metrics.Sample {
		return []metrics.Sample{{Value: float64(rp.Stats().PullUnansweredPeers)}}
	})
	r.CounterFunc("cache_warmup_sent_total", "Entries delivered to peers.", nil, func() []metrics.Sample {
		return []metrics.Sample{{Value: float64(rp.Stats().Sent)}}
	})
}
