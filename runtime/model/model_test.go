package model

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestDeterministic(t *testing.T) {
	m := FakeLLM{}
	a, err := m.Complete(context.Background(), nil, "hello there")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Complete(context.Background(), nil, "hello there")
	c, _ := m.Complete(context.Background(), nil, "hello elsewhere")
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same prompt, different replies: %v %v", a, b)
	}
	if a.Content == c.Content {
		t.Fatalf("different prompts, same reply %q", a.Content)
	}
}

func TestToolCalls(t *testing.T) {
	cases := []struct {
		prompt, tool string
		args         map[string]string
		mutating     bool
	}{
		{"create issue login broken", ToolCreateIssue, map[string]string{"title": "login broken"}, true},
		{"Update issue 42 set priority high", ToolUpdateIssue, map[string]string{"id": "42", "text": "set priority high"}, true},
		{"delete issue 7", ToolDeleteIssue, map[string]string{"id": "7"}, true},
		{"list issues", ToolListIssues, map[string]string{}, false},
	}
	for _, tc := range cases {
		r, err := FakeLLM{}.Complete(context.Background(), nil, tc.prompt)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.ToolCalls) != 1 || r.ToolCalls[0].Name != tc.tool || !reflect.DeepEqual(r.ToolCalls[0].Args, tc.args) {
			t.Errorf("%q: got %+v", tc.prompt, r.ToolCalls)
		}
		if r.HasMutation() != tc.mutating {
			t.Errorf("%q: HasMutation=%v", tc.prompt, r.HasMutation())
		}
	}
	r, _ := FakeLLM{}.Complete(context.Background(), nil, "what is an issue?")
	if len(r.ToolCalls) != 0 {
		t.Fatalf("plain question produced tools: %+v", r.ToolCalls)
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := FakeLLM{Latency: time.Hour}.Complete(ctx, nil, "x")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("latency ignored ctx")
	}
	start = time.Now()
	if _, err := (FakeLLM{Latency: 30 * time.Millisecond}).Complete(context.Background(), nil, "x"); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("latency not applied")
	}
}
