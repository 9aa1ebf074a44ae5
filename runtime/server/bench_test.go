package server

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/agent"
	"github.com/agentops/failover-harness/runtime/model"
	"github.com/agentops/failover-harness/runtime/store"
)

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
}

// post sends body with the test sessions' token (sessTok).
func post(c *http.Client, url, body string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SessionTokenHeader, sessTok)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[(len(lat)*99)/100]
}

// BenchmarkMessageRoundTrip: one region over HTTP, on-ack (store write
// before every reply), FakeLLM 0 ms, real redis-server, embedded DynamoDB.
func BenchmarkMessageRoundTrip(b *testing.B) {
	e := newEnv(b)
	a := e.node(b, regionOpts{})
	c := benchClient()
	const sessions = 16
	for i := range sessions {
		if code, err := post(c, a.http.URL+"/v1/sessions", fmt.Sprintf(`{"user_id":"u","session_id":"s%d","session_token":"%s"}`, i, sessTok)); err != nil || code != 201 {
			b.Fatalf("create: %d %v", code, err)
		}
	}
	var (
		seq   atomic.Int64
		mu    sync.Mutex
		lat   []time.Duration
		fails atomic.Int64
	)
	b.SetParallelism(2) // 2 × GOMAXPROCS client goroutines
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			n := seq.Add(1)
			url := fmt.Sprintf("%s/v1/sessions/s%d/messages", a.http.URL, n%sessions)
			t0 := time.Now()
			code, err := post(c, url, fmt.Sprintf(`{"message_id":"m%d","content":"question %d"}`, n, n))
			mine = append(mine, time.Since(t0))
			if err != nil || code != 200 {
				fails.Add(1)
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if f := fails.Load(); f > 0 {
		b.Fatalf("%d failed requests", f)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(p99(lat).Microseconds())/1000, "p99_ms")
}

var restoreBaseline atomic.Int64 // ns/op of sessions=100, for the ratio

// BenchmarkFailoverRestore: N sessions written via region A; each op starts
// a fresh region B and times its first successful request for one session.
// Lazy restore means the cost must not grow with N.
func BenchmarkFailoverRestore(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			e := newEnv(b)
			a := e.node(b, regionOpts{name: "us-east-1"})
			populate(b, a.svc, n)
			a.stop()
			c := benchClient()
			rnd := rand.New(rand.NewPCG(1, uint64(n)))
			b.ResetTimer()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				bNode := e.freshRegion(b, "eu-west-1")
				id := rnd.IntN(n)
				code, err := post(c, fmt.Sprintf("%s/v1/sessions/s%d/messages", bNode.http.URL, id), fmt.Sprintf(`{"message_id":"b%d","content":"after failover"}`, i))
				total += time.Since(t0)
				if err != nil || code != 200 {
					b.Fatalf("first request in B: %d %v", code, err)
				}
				b.StopTimer()
				bNode.stop()
				b.StartTimer()
			}
			per := total / time.Duration(b.N)
			b.ReportMetric(float64(per.Microseconds())/1000, "ms/first-request")
			if n == 100 {
				restoreBaseline.Store(int64(per))
			} else if base := restoreBaseline.Load(); base > 0 {
				b.ReportMetric(float64(per)/float64(base), "ratio_vs_100")
			}
		})
	}
}

// populate writes n sessions with one exchange each through region A's agent.
func populate(b *testing.B, svc *agent.Service, n int) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				id := fmt.Sprintf("s%d", i)
				if _, _, err := svc.CreateSession(ctx, "u", id, sessTok); err != nil {
					errs <- err
					return
				}
				if _, err := svc.PostMessage(ctx, id, sessTok, "a1", "hello from A"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// freshRegion builds a region from scratch on the shared store, with no
// cache (cold), the way a failover target starts.
func (e *env) freshRegion(b *testing.B, name string) *node {
	dyn, err := store.NewDynamo(context.Background(), store.DynamoConfig{Endpoint: e.endpoint, Table: e.table, Now: e.clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := agent.New(agent.Config{Region: name, Store: dyn, Model: model.FakeLLM{}, Policy: agent.OnAck, Now: e.clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Config{Region: name, Agent: svc, Store: dyn, AdminToken: adminToken})
	if err != nil {
		b.Fatal(err)
	}
	return &node{name: name, svc: svc, srv: srv, http: newHTTPServer(srv.Handler()), store: dyn}
}
