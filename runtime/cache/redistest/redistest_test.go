package redistest

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func client(t *testing.T, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestRealServerRestartIsColdOnSamePort(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server not on PATH: apt-get install -y redis-server")
	}
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Embedded || s.PID() == 0 {
		t.Fatalf("server = %+v, want a real process", s)
	}
	ctx := context.Background()
	rdb := client(t, s.Addr)
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Addr != addr {
		t.Fatalf("restart moved %s -> %s", addr, s.Addr)
	}
	if err := rdb.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("after restart GET = %v, want a cold cache (redis.Nil)", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ping(addr); err == nil {
		t.Fatal("server still answers after Close")
	}
}

func TestForTestGivesAWorkingServer(t *testing.T) {
	rdb := client(t, ForTest(t))
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedFallbackExpiresTTLs(t *testing.T) {
	t.Setenv("PATH", "") // hide redis-server
	var notice strings.Builder
	s, err := StartOrEmbedded(t.TempDir(), &notice)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Embedded || !strings.Contains(notice.String(), "miniredis") {
		t.Fatalf("embedded=%v notice=%q, want miniredis with a notice", s.Embedded, notice.String())
	}
	ctx := context.Background()
	rdb := client(t, s.Addr)
	if err := rdb.Set(ctx, "k", "v", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	// ClockTTL: the key must expire with wall time, without FastForward.
	deadline := time.Now().Add(3 * time.Second)
	for rdb.Get(ctx, "k").Err() == nil {
		if time.Now().After(deadline) {
			t.Fatal("key with 50ms TTL still present after 3s")
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	if err := rdb.Set(ctx, "k2", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(ctx, "k2").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("after restart GET = %v, want redis.Nil", err)
	}
}
