package agent

import (
	"encoding/json"
	"testing"

	"github.com/agentops/failover-harness/runtime/model"
	"github.com/agentops/failover-harness/runtime/store"
)

func TestValidCachedValue(t *testing.T) {
	ok, _ := json.Marshal(model.Reply{Content: "sunny", ToolCalls: []store.ToolCall{{Name: model.ToolListIssues}}})
	bad, _ := json.Marshal(model.Reply{Content: "sunny", ToolCalls: []store.ToolCall{{Name: model.ToolDeleteIssue}}})
	if err := ValidCachedValue("k", string(ok)); err != nil {
		t.Fatalf("a read-only reply refused: %v", err)
	}
	if err := ValidCachedValue("k", string(bad)); err == nil {
		t.Fatal("a reply carrying delete_issue accepted")
	}
	if err := ValidCachedValue("k", "not json"); err == nil {
		t.Fatal("a value that is no reply accepted")
	}
}
