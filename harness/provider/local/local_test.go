package local

import (
	"context"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// portFree reports whether addr can be listened on again.
func portFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func testSpec(t testing.TB) topology.Spec {
	s := topology.DefaultSpec()
	s.RunDir = t.TempDir()
	if testing.Verbose() {
		s.Log = os.Stderr
	}
	return s
}

func startCluster(t *testing.T) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var p Provider
	c, err := p.StartCluster(ctx, testSpec(t))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// Up/down three times: afterwards no child alive and every port free.
func TestUpDownLeavesNothing(t *testing.T) {
	for i := 0; i < 3; i++ {
		c := startCluster(t)
		// Independent secrets (issue 13, defect 5): the admin token tells
		// nothing of the key peers sign warmups with.
		if len(c.warmupSecret) < 64 || strings.Contains(c.warmupSecret, c.token) || c.warmupSecret == c.token {
			t.Fatalf("round %d: warmup secret %q derived from the admin token %q, or short", i, c.warmupSecret, c.token)
		}
		pids, addrs := c.PIDs(), c.Addrs()
		if len(pids) < 4 {
			t.Fatalf("round %d: only %d child pids: %v", i, len(pids), pids)
		}
		for _, a := range addrs {
			if portFree(a) {
				t.Fatalf("round %d: %s not listening while up", i, a)
			}
		}
		if err := c.Close(context.Background()); err != nil {
			t.Fatalf("round %d: close: %v", i, err)
		}
		if err := c.Close(context.Background()); err != nil {
			t.Fatalf("round %d: second close: %v", i, err)
		}
		for _, pid := range pids {
			if alive(pid) {
				t.Fatalf("round %d: pid %d still alive after Close", i, pid)
			}
		}
		for _, a := range addrs {
			if !portFree(a) {
				t.Fatalf("round %d: %s still listening after Close", i, a)
			}
		}
	}
}
