package fault

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

type lbOnly struct {
	topology.Cluster
	url string
}

func (c lbOnly) LBURL() string { return c.url }

// slowServer answers fast requests; readHeader bounds how long a client may
// take to send its headers (0: forever, the defect).
func slowServer(t *testing.T, readHeader time.Duration) *httptest.Server {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	s.Config.ReadHeaderTimeout = readHeader
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestSlowlorisCutOffByReadHeaderTimeout(t *testing.T) {
	s := slowServer(t, 150*time.Millisecond)
	f := NewSlowloris(8, 20*time.Millisecond, time.Minute, false)
	c := lbOnly{url: s.URL}
	if err := f.Available(c); err != nil {
		t.Fatal(err)
	}
	heal, err := f.Inject(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = heal(context.Background()) })
	deadline := time.Now().Add(10 * time.Second)
	for f.Stats().CutByServer.Load() < 8 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the attack's counter
	}
	if got := f.Stats().CutByServer.Load(); got != 8 {
		t.Fatalf("server cut off %d of 8 slow connections, want all", got)
	}
	// and a normal client is served throughout
	resp, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestSlowlorisHoldsAServerWithoutTimeouts(t *testing.T) {
	s := slowServer(t, 0)
	f := NewSlowloris(4, 10*time.Millisecond, time.Minute, false)
	c := lbOnly{url: s.URL}
	heal, err := f.Inject(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	// Another connection's full request round-trips after the slow ones
	// have each sent several bytes, so the server had every chance to cut.
	for range 3 {
		resp, err := http.Get(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := heal(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.Stats().Opened.Load() != 4 || f.Stats().CutByServer.Load() != 0 {
		t.Fatalf("opened %d cut %d, want 4 held and 0 cut (the heal ends them)", f.Stats().Opened.Load(), f.Stats().CutByServer.Load())
	}
}

func TestSlowlorisBounds(t *testing.T) {
	c := lbOnly{url: "http://127.0.0.1:1"}
	for _, f := range []*Slowloris{
		NewSlowloris(0, time.Millisecond, time.Second, false),
		NewSlowloris(MaxSlowlorisConns+1, time.Millisecond, time.Second, false),
		NewSlowloris(1, 0, time.Second, false),
		NewSlowloris(1, time.Millisecond, 0, false),
		{Conns: 1, Pace: time.Millisecond, Hold: time.Second},
	} {
		if f.Available(c) == nil {
			t.Errorf("%+v: available, want a bound error", f)
		}
	}
}

// A body trickled after complete headers passes a header timeout; only a
// read timeout covering the body cuts it off.
func TestSlowlorisBodyCutOffByReadTimeout(t *testing.T) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	s.Config.ReadHeaderTimeout, s.Config.ReadTimeout = 100*time.Millisecond, 200*time.Millisecond
	s.Start()
	t.Cleanup(s.Close)
	f := NewSlowloris(4, 20*time.Millisecond, time.Minute, true)
	heal, err := f.Inject(context.Background(), lbOnly{url: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = heal(context.Background()) })
	deadline := time.Now().Add(10 * time.Second)
	for f.Stats().CutByServer.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the attack's counter
	}
	if got := f.Stats().CutByServer.Load(); got != 4 {
		t.Fatalf("server cut off %d of 4 slow bodies, want all", got)
	}
}
