package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/lb"
)

// lineWriter signals the first line written.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if i := bytes.IndexByte(w.buf.Bytes(), '\n'); i >= 0 && w.line != nil {
		w.line <- string(w.buf.Bytes()[:i])
		w.line = nil
	}
	return len(p), nil
}

// startLB runs global-lb with args in front of one region answering
// everything, until the test ends; it returns the LB's address, the
// region's count of non-health requests and a stop func reporting the exit.
func startLB(t *testing.T, args ...string) (addr string, hits *atomic.Int32, stop func() int) {
	t.Helper()
	hits = new(atomic.Int32)
	region := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			hits.Add(1)
		}
		w.Header().Set("X-Served-By", "us-east-1")
	}))
	t.Cleanup(region.Close)
	cfg := filepath.Join(t.TempDir(), "lb.yaml")
	yml := "listen: 127.0.0.1:9\nregions:\n  - {name: us-east-1, url: " + region.URL + ", weight: 50}\nhealth: {interval: 1h}\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	out := &lineWriter{line: ready}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"--config", cfg, "--listen", "127.0.0.1:0"}, args...), out, io.Discard)
	}()
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Fatal("did not stop after cancel")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	var line string
	select {
	case line = <-ready:
	case code := <-done:
		t.Fatalf("exited %d before READY", code)
	case <-time.After(10 * time.Second):
		t.Fatal("no READY line within 10s")
	}
	addr, ok := strings.CutPrefix(line, "READY lb addr=")
	if !ok || strings.HasSuffix(addr, ":0") {
		t.Fatalf("READY line %q", line)
	}
	return addr, hits, stop
}

func TestRunServesAndStops(t *testing.T) {
	before := time.Now()
	addr, hits, stop := startLB(t, "--health-interval", "50ms", "--clock-offset", "-90m")
	resp, err := http.Get("http://" + addr + "/lb/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/lb/health: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + addr + "/lb/status")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/lb/status: %v %v", resp, err)
	}
	var st struct {
		Now    time.Time `json:"now"`
		Health struct {
			Enabled         bool    `json:"enabled"`
			IntervalSeconds float64 `json:"interval_seconds"`
		} `json:"health"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	after := time.Now()
	// --clock-offset shifts the LB's clock; --health-interval overrides the file.
	if off := -90 * time.Minute; err != nil || st.Now.Before(before.Add(off).Round(0)) || st.Now.After(after.Add(off).Round(0)) ||
		!st.Health.Enabled || st.Health.IntervalSeconds != 0.05 {
		t.Fatalf("/lb/status now %v (want within %v..%v), health %+v, err %v", st.Now, before.Add(off), after.Add(off), st.Health, err)
	}
	resp, err = http.Get("http://" + addr + "/v1/sessions/s-1")
	if err != nil || resp.Header.Get("X-Served-By") != "us-east-1" {
		t.Fatalf("proxy: %v %v", resp, err)
	}
	resp.Body.Close()
	// Only the agent API is proxied: the regions' admin path is not.
	resp, err = http.Get("http://" + addr + "/regions")
	if err != nil || resp.StatusCode != http.StatusNotFound || hits.Load() != 1 {
		t.Fatalf("/regions through the LB: %v %v, region hits %d (want 404, 1)", resp, err, hits.Load())
	}
	resp.Body.Close()
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// --status-token closes /lb/status to callers without the bearer token.
func TestRunStatusToken(t *testing.T) {
	addr, _, _ := startLB(t, "--status-token", "tok-1", "--max-body-bytes", "4096")
	get := func(auth string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/lb/status", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(""); code != http.StatusUnauthorized {
		t.Errorf("/lb/status without a token: %d, want 401", code)
	}
	if code := get("Bearer tok-1"); code != http.StatusOK {
		t.Errorf("/lb/status with the token: %d, want 200", code)
	}
	resp, err := http.Post("http://"+addr+"/v1/sessions", "application/json", strings.NewReader(strings.Repeat(" ", 4097)))
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("body over --max-body-bytes: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestRunBadValuesExit2NamingField(t *testing.T) {
	cases := map[string][]string{
		"health.interval":          {"--region", "a=http://127.0.0.1:1", "--health-interval", "soon"},
		"health.failure_threshold": {"--region", "a=http://127.0.0.1:1", "--health-failure-threshold", "11"},
		"regions:":                 {},
		"retry.attempts":           {"--region", "a=http://127.0.0.1:1", "--retry-attempts", "x"},
		"regions[0].url":           {"--region", "a=nope"},
		"no-such-flag":             {"--no-such-flag", "1"},
		"clock_offset: must be":    {"--region", "a=http://127.0.0.1:1", "--clock-offset", "25h"},
		"clock_offset: invalid":    {"--region", "a=http://127.0.0.1:1", "--clock-offset", "soon"},
		"max_body_bytes: must be":  {"--region", "a=http://127.0.0.1:1", "--max-body-bytes", "0"},
		"status_token: must be":    {"--region", "a=http://127.0.0.1:1", "--status-token", "two words"},
	}
	for want, args := range cases {
		var errOut bytes.Buffer
		code := run(context.Background(), args, io.Discard, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %q", args, code, errOut.String(), want)
		}
	}
}

func TestHelp(t *testing.T) {
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, io.Discard, &errOut); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, f := range []string{"-config", "-health-failure-threshold", "-retry-per-try-timeout", "-alert-webhook", "-region", "-clock-offset", "-status-token", "-max-body-bytes"} {
		if !strings.Contains(errOut.String(), f) {
			t.Errorf("usage lacks %s", f)
		}
	}
}

// --help lists exactly the flags global-lb takes, each YAML one with its key.
func TestHelpListsEveryFlagTruthfully(t *testing.T) {
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, io.Discard, &errOut); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(errOut.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "  --"); ok {
			name := strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == '[' })[0]
			listed[name] = true
		}
	}
	want := map[string]bool{"config": true, "region": true, "shutdown-timeout": true}
	for _, f := range lb.Flags().Fields() {
		want[f.Flag] = true
		if !strings.Contains(errOut.String(), "--"+f.Flag+" ") && !strings.Contains(errOut.String(), "--"+f.Flag+"[") {
			t.Errorf("--%s missing", f.Flag)
		}
		if !strings.Contains(errOut.String(), "[yaml: "+f.Path+"]") {
			t.Errorf("%s: its flag does not name it", f.Path)
		}
	}
	for name := range want {
		if !listed[name] {
			t.Errorf("flag --%s not in --help", name)
		}
	}
	for name := range listed {
		if !want[name] {
			t.Errorf("--help lists --%s, which is not a flag", name)
		}
	}
}

// A bool flag takes its value after "="; the error for "--x false" says so.
func TestBoolFlags(t *testing.T) {
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"--region", "a=http://127.0.0.1:1", "--retry-enabled", "false"}, io.Discard, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "--retry-enabled=false") {
		t.Fatalf("exit %d, stderr %q; want 2 showing --retry-enabled=false", code, errOut.String())
	}
}
