package local

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/harness/traffic"
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
	prevKeys := map[string]bool{}
	for i := 0; i < 3; i++ {
		c := startCluster(t)
		// Independent secrets (issue 13, defect 5): the admin token tells
		// nothing of the keys peers sign warmups with, and each region has
		// its own key pair (peer protocol v2), fresh each run.
		seen := map[string]bool{}
		for _, name := range c.spec.RegionNames() {
			k := c.warmupKeys[name]
			if len(k.Seed) != 64 || len(k.Public) != 64 || strings.Contains(k.Seed, c.token) || seen[k.Seed] || seen[k.Public] || prevKeys[k.Seed] {
				t.Fatalf("round %d: %s's warmup key pair %+v: short, derived from the admin token %q, shared or reused", i, name, k, c.token)
			}
			seen[k.Seed], seen[k.Public], prevKeys[k.Seed] = true, true, true
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

// Each region signs with its own fresh key and knows the others' public
// keys (peer protocol v2): a reply cached in one region warms the other
// two, a region restarted cold pulls from its peers, and no peer request
// or answer is refused.
func TestRegionsWarmEachOtherWithTheirOwnKeys(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	post := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.LBURL()+path, strings.NewReader(body))
		req.Header.Set(traffic.SessionTokenHeader, traffic.SessionToken("warm-1"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d", path, res.StatusCode)
		}
	}
	post("/v1/sessions", `{"user_id":"u","session_id":"warm-1","session_token":"`+traffic.SessionToken("warm-1")+`"}`)
	post("/v1/sessions/warm-1/messages", `{"message_id":"m1","content":"what is the weather"}`)

	names := c.Spec().RegionNames()
	sum := func(metric string) float64 {
		var total float64
		for _, n := range names {
			m, err := c.Metrics(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			total += m[metric+`{region="`+n+`"}`]
		}
		return total
	}
	// The region that answered broadcasts its entry to both others.
	deadline := time.Now().Add(10 * time.Second)
	for sum("cache_warmup_received_total") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("warmups received %v after 10s, want 2", sum("cache_warmup_received_total"))
		}
		time.Sleep(50 * time.Millisecond) // polling a counter; the deadline bounds it
	}
	victim := names[len(names)-1]
	if err := c.Kill(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, victim, true); err != nil {
		t.Fatal(err)
	}
	m, err := c.Metrics(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	if p := m[`cache_warmup_pulled_total{region="`+victim+`"}`]; p < 1 {
		t.Fatalf("%s restarted cold pulled %v entries, want its peers' reply", victim, p)
	}
	for _, n := range names {
		m, err := c.Metrics(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, reason := range []string{"bad_signature", "unknown_peer", "wrong_recipient", "stale_request", "replayed", "sender_mismatch", "replay_cache_full", "bad_answer"} {
			if v := m[`cache_warmup_rejected_total{reason="`+reason+`",region="`+n+`"}`]; v != 0 {
				t.Errorf("%s refused %v honest peer requests (%s)", n, v, reason)
			}
		}
	}
}
