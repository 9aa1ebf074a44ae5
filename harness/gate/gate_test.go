package gate

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGateModes(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", "r1")
		_, _ = io.WriteString(w, "ok:"+r.URL.Path)
	}))
	defer up.Close()
	g, err := Start("r1", up.URL, "127.0.0.1:0", 7)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	if code, body := get(t, g.URL()+"/health"); code != 200 || body != "ok:/health" {
		t.Fatalf("pass: got %d %q", code, body)
	}
	g.SetStatus(503)
	if code, _ := get(t, g.URL()+"/health"); code != 503 {
		t.Fatalf("status 503: got %d", code)
	}
	g.Reset()
	g.SetFailureRate(0.5)
	fails := 0
	const n = 400
	for i := 0; i < n; i++ {
		if code, _ := get(t, g.URL()+"/x"); code == 503 {
			fails++
		}
	}
	if fails < n*35/100 || fails > n*65/100 {
		t.Fatalf("rate 0.5: %d/%d failed", fails, n)
	}
	g.Reset()
	g.SetDelay(80 * time.Millisecond)
	start := time.Now()
	get(t, g.URL()+"/x")
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("delay: request took %v", d)
	}
	g.Reset()
	up.Close()
	if code, _ := get(t, g.URL()+"/x"); code != http.StatusBadGateway {
		t.Fatalf("upstream down: got %d, want 502", code)
	}
}

func TestGateSeededRateIsReproducible(t *testing.T) {
	seq := func() []bool {
		g, _ := New("r", "http://127.0.0.1:1", 42)
		g.SetFailureRate(0.3)
		out := make([]bool, 50)
		for i := range out {
			out[i] = g.rng.Float64() < g.rate
		}
		return out
	}
	a, b := seq(), seq()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d differs between runs with the same seed", i)
		}
	}
}
