package agent

import (
	"context"
	"encoding/json"

	"github.com/agentops/failover-harness/runtime/model"
)

// cacheGet returns a cached reply; any cache error is a miss. A cached
// reply is checked again when read, whoever wrote it (a peer's warmup
// too): one that carries a data-changing tool call is an action, never an
// answer to replay, so it is refused as a miss and logged.
func (s *Service) cacheGet(ctx context.Context, key string) (model.Reply, bool) {
	v, ok, err := s.cfg.Cache.Get(ctx, key)
	if err != nil || !ok {
		return model.Reply{}, false
	}
	var r model.Reply
	if json.Unmarshal([]byte(v), &r) != nil {
		return model.Reply{}, false
	}
	if r.HasMutation() {
		s.cacheRefused.Add(1)
		s.log.Warn("cached reply refused: it carries a data-changing tool call", "key", key)
		return model.Reply{}, false
	}
	return r, true
}

// cachePut stores a reply locally and broadcasts it to peers; failures only
// cost future hits, so they are logged, not returned.
func (s *Service) cachePut(ctx context.Context, key string, r model.Reply) {
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	e, err := s.cfg.Cache.Set(ctx, key, string(b))
	if err != nil {
		s.log.Debug("cache set failed", "err", err)
		return
	}
	if s.cfg.Replicator != nil {
		s.cfg.Replicator.Broadcast(e)
	}
}
