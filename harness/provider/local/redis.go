package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/provider/ports"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/agentops/failover-harness/runtime/cache/redistest"
)

// redisBackend is one region's Redis: a real redis-server child when one is
// on PATH, else an embedded miniredis (announced on the progress log).
type redisBackend struct {
	addr     string
	password string
	proc     *proc
	mini     *miniredis.Miniredis
}

func startRedis(ctx context.Context, name, dir, password string, timeout time.Duration, logf func(string, ...any)) (*redisBackend, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		// Key TTLs tick with the wall clock (ClockTTL), as in a real Redis.
		m, err := redistest.Embedded("127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("%s: embedded redis: %w", name, err)
		}
		m.RequireAuth(password)
		logf("notice: redis-server not on PATH; %s uses embedded miniredis at %s", name, m.Addr())
		return &redisBackend{addr: m.Addr(), password: password, mini: m}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// redis-server has no READY line with the port, so the port is chosen
	// first; a lost race with another process surfaces as a start error.
	port, err := ports.Free()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ready := func(line string) (string, bool) {
		return addr, strings.Contains(line, "Ready to accept connections")
	}
	p, _, err := startProc(ctx, name, bin, []string{
		"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--requirepass", password,
	}, filepath.Join(dir, "redis.log"), ready, timeout)
	if err != nil {
		return nil, err
	}
	logf("chaos: %s ready pid=%d addr=%s", name, p.pid(), addr)
	return &redisBackend{addr: addr, password: password, proc: p}, nil
}

// flush empties the cache, which is what a fresh Redis looks like to a runtime.
func (r *redisBackend) flush(ctx context.Context) error {
	if r.mini != nil {
		r.mini.FlushAll()
		return nil
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr, Password: r.password, DialTimeout: time.Second})
	defer c.Close()
	return c.FlushAll(ctx).Err()
}

func (r *redisBackend) close(grace time.Duration) error {
	if r.mini != nil {
		r.mini.Close()
		return nil
	}
	return r.proc.stop(grace)
}
