package agent

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentops/failover-harness/runtime/model"
)

// ValidCachedValue judges a cache entry a peer sends (the replicator's
// ValidValue): it must be a reply this agent would have cached itself, so
// one carrying a data-changing tool call is refused before it is stored,
// not only when read (cacheGet checks again, whoever wrote the entry).
func ValidCachedValue(_, value string) error {
	var r model.Reply
	if err := json.Unmarshal([]byte(value), &r); err != nil {
		return fmt.Errorf("value: not a reply: %w", err)
	}
	if r.HasMutation() {
		return errors.New("value: carries a data-changing tool call")
	}
	return nil
}
