// Package model is the agent's language-model seam and a deterministic fake
// LLM used by the runtime and the harness.
package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/agentops/failover-harness/runtime/store"
)

// Reply is what the model answers to one prompt.
type Reply struct {
	Content   string
	ToolCalls []store.ToolCall
}

// Model answers a prompt given the conversation so far.
type Model interface {
	Complete(ctx context.Context, history []store.Message, prompt string) (Reply, error)
	Name() string
}

// Tool names the fake model can call.
const (
	ToolCreateIssue = "create_issue"
	ToolUpdateIssue = "update_issue"
	ToolDeleteIssue = "delete_issue"
	ToolListIssues  = "list_issues"
)

// IsMutating reports whether a tool changes external state, which is what
// the on-mutation checkpoint policy keys on.
func IsMutating(tool string) bool {
	switch tool {
	case ToolCreateIssue, ToolUpdateIssue, ToolDeleteIssue:
		return true
	}
	return false
}

// HasMutation reports whether any call in r is mutating.
func (r Reply) HasMutation() bool {
	for _, c := range r.ToolCalls {
		if IsMutating(c.Name) {
			return true
		}
	}
	return false
}

// FakeLLM is deterministic: the same prompt always yields the same reply,
// so the exact-match cache and replay checks are meaningful.
type FakeLLM struct {
	// Latency is waited (honouring ctx) before every answer.
	Latency time.Duration
}

var _ Model = FakeLLM{}

// Name identifies the model in cache keys.
func (FakeLLM) Name() string { return "fake-llm-v1" }

var (
	reCreate = regexp.MustCompile(`(?i)^\s*create issue\s+(.+?)\s*$`)
	reUpdate = regexp.MustCompile(`(?i)^\s*update issue\s+(\S+)\s*(.*?)\s*$`)
	reDelete = regexp.MustCompile(`(?i)^\s*delete issue\s+(\S+)\s*$`)
	reList   = regexp.MustCompile(`(?i)^\s*list issues\s*$`)
)

// Complete answers prompt after Latency; it returns ctx.Err() if ctx ends first.
func (f FakeLLM) Complete(ctx context.Context, _ []store.Message, prompt string) (Reply, error) {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return Reply{}, ctx.Err()
		case <-t.C:
		}
	} else if err := ctx.Err(); err != nil {
		return Reply{}, err
	}
	switch {
	case reCreate.MatchString(prompt):
		m := reCreate.FindStringSubmatch(prompt)
		return Reply{
			Content:   fmt.Sprintf("Created issue %q.", m[1]),
			ToolCalls: []store.ToolCall{{Name: ToolCreateIssue, Args: map[string]string{"title": m[1]}}},
		}, nil
	case reUpdate.MatchString(prompt):
		m := reUpdate.FindStringSubmatch(prompt)
		return Reply{
			Content:   fmt.Sprintf("Updated issue %s.", m[1]),
			ToolCalls: []store.ToolCall{{Name: ToolUpdateIssue, Args: map[string]string{"id": m[1], "text": m[2]}}},
		}, nil
	case reDelete.MatchString(prompt):
		m := reDelete.FindStringSubmatch(prompt)
		return Reply{
			Content:   fmt.Sprintf("Deleted issue %s.", m[1]),
			ToolCalls: []store.ToolCall{{Name: ToolDeleteIssue, Args: map[string]string{"id": m[1]}}},
		}, nil
	case reList.MatchString(prompt):
		return Reply{Content: "Here are the open issues.", ToolCalls: []store.ToolCall{{Name: ToolListIssues, Args: map[string]string{}}}}, nil
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(prompt)))
	return Reply{Content: "ack " + hex.EncodeToString(sum[:6]) + ": " + truncate(prompt, 64)}, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
