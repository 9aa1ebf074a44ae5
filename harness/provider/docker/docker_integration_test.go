package docker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tcexec "github.com/testcontainers/testcontainers-go/exec"

	"github.com/agentops/failover-harness/harness/topology"
)

// Bounds of the integration tests; generous because the machine is shared.
const (
	itStartupTimeout = 90 * time.Second
	itTestTimeout    = 4 * time.Minute
	itPollEvery      = 100 * time.Millisecond
)

// requireDocker skips (with the reason) when the engine or an image is missing.
func requireDocker(t *testing.T) *Provider {
	t.Helper()
	if testing.Short() {
		t.Skip("docker provider integration test: skipped in -short mode")
	}
	p := New(Options{Images: LocalImages(), StartupTimeout: itStartupTimeout, PollInterval: itPollEvery})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := p.Available(ctx); err != nil {
		t.Skipf("docker provider integration test skipped: %v", err)
	}
	return p
}

// logSink is a goroutine-safe spec.Log that also watches for lines.
type logSink struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
	on    func(line string)
}

func (l *logSink) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	l.mu.Lock()
	l.lines = append(l.lines, line)
	on := l.on
	l.mu.Unlock()
	l.t.Log(line)
	if on != nil {
		on(line)
	}
	return len(p), nil
}

var runIDRe = regexp.MustCompile(`run (fh-[0-9a-f]+)`)

func (l *logSink) runID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if m := runIDRe.FindStringSubmatch(s); m != nil {
			return m[1]
		}
	}
	return ""
}

// eventually polls cond every itPollEvery until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(itPollEvery)
	defer tick.Stop()
	last := ""
	for {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v (last: %s)", what, d, last)
		}
		<-tick.C
	}
}

func requireNoLeftovers(t *testing.T, runID string) {
	t.Helper()
	if runID == "" {
		t.Fatal("no run id: cannot look for leftovers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	left, err := Leftovers(ctx, runID)
	if err != nil {
		t.Fatalf("list leftovers: %v", err)
	}
	if len(left) > 0 {
		t.Fatalf("run %s left behind: %v", runID, left)
	}
}

func inRotation(ctx context.Context, cl topology.Cluster, region string) (bool, string) {
	st, err := cl.LBStatus(ctx)
	if err != nil {
		return false, err.Error()
	}
	r, ok := st.Region(region)
	if !ok {
		return false, "region missing from /lb/status"
	}
	return r.InRotation, fmt.Sprintf("%+v", r)
}

func TestDockerUpFaultDown(t *testing.T) {
	p := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), itTestTimeout)
	defer cancel()

	log := &logSink{t: t}
	spec := topology.DefaultSpec()
	spec.Log = log
	spec.RunDir = t.TempDir()
	cl, err := p.Start(ctx, spec)
	if err != nil {
		requireNoLeftovers(t, log.runID())
		t.Fatalf("start: %v", err)
	}
	runID := RunID(cl)
	closed := false
	defer func() {
		if !closed {
			_ = cl.Close(context.Background())
		}
	}()

	regions := spec.RegionNames()
	eventually(t, 30*time.Second, "every region in LB rotation", func() (bool, string) {
		st, err := cl.LBStatus(ctx)
		if err != nil {
			return false, err.Error()
		}
		return st.AllInRotation(regions...), fmt.Sprintf("%+v", st.Regions)
	})
	if got := cl.Links(); len(got) != 15 {
		t.Errorf("links = %v, want 15", got)
	}
	if _, err := cl.Link(topology.LBLink("us-east-1")); err != nil {
		t.Errorf("link lb->us-east-1: %v", err)
	}

	// Real traffic through the LB container reaches a region container.
	resp, err := http.Post(cl.LBURL()+"/v1/sessions", "application/json", strings.NewReader(`{"user_id":"u1"}`))
	if err != nil {
		t.Fatalf("create session via LB: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Served-By") == "" {
		t.Fatalf("create session via LB: status %d served-by %q", resp.StatusCode, resp.Header.Get("X-Served-By"))
	}

	// One fault: the host-side gate answers 503 for us-east-1; the LB, which
	// reaches it through toxiproxy, must take it out of rotation, and put it
	// back once the gate is reset.
	cl.Gate("us-east-1").SetStatus(http.StatusServiceUnavailable)
	eventually(t, 30*time.Second, "us-east-1 out of rotation under 503", func() (bool, string) {
		ok, d := inRotation(ctx, cl, "us-east-1")
		return !ok, d
	})
	cl.Gate("us-east-1").Reset()
	eventually(t, 30*time.Second, "us-east-1 back in rotation", func() (bool, string) {
		return inRotation(ctx, cl, "us-east-1")
	})

	// docker pause: the frozen region times out and leaves rotation.
	if err := cl.Pause(ctx, "us-east-1"); err != nil {
		t.Fatalf("pause: %v", err)
	}
	eventually(t, 30*time.Second, "paused us-east-1 out of rotation", func() (bool, string) {
		ok, d := inRotation(ctx, cl, "us-east-1")
		return !ok, d
	})
	if err := cl.Resume(ctx, "us-east-1"); err != nil {
		t.Fatalf("resume: %v", err)
	}
	eventually(t, 30*time.Second, "resumed us-east-1 back in rotation", func() (bool, string) {
		return inRotation(ctx, cl, "us-east-1")
	})

	// Kill + cold restart: the region comes back behind the same gate, with
	// its Redis flushed (a marker key set before the kill is gone).
	rc, err := cl.(*cluster).container("redis-eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	pw := cl.(*cluster).sec.RedisPassword
	// Without the password the cache refuses everything.
	if _, out, err := rc.Exec(ctx, []string{"/usr/bin/redis-cli", "SET", "cold-marker", "1"}, tcexec.Multiplexed()); err != nil {
		t.Fatal(err)
	} else if b, _ := io.ReadAll(out); !strings.Contains(string(b), "NOAUTH") {
		t.Fatalf("redis without its password answered %q, want NOAUTH", b)
	}
	if code, _, err := rc.Exec(ctx, []string{"/usr/bin/redis-cli", "-a", pw, "--no-auth-warning", "SET", "cold-marker", "1"}); err != nil || code != 0 {
		t.Fatalf("set marker: exit %d %v", code, err)
	}
	// A partition a fault made stays made across the kill and the restart.
	part, err := cl.Link("ap-southeast-1->eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := part.Disable(); err != nil {
		t.Fatal(err)
	}
	if err := cl.Kill(ctx, "eu-west-1"); err != nil {
		t.Fatalf("kill: %v", err)
	}
	// The peers' links into a crashed runtime refuse, as its host would:
	// never a toxiproxy dial to a stopped container that stalls the link.
	for _, name := range []string{"us-east-1->eu-west-1", "ap-southeast-1->eu-west-1"} {
		if l, err := cl.Link(name); err != nil || l.Enabled {
			t.Errorf("link %s while eu-west-1 is down: enabled %v, %v", name, l != nil && l.Enabled, err)
		}
	}
	eventually(t, 30*time.Second, "killed eu-west-1 out of rotation", func() (bool, string) {
		ok, d := inRotation(ctx, cl, "eu-west-1")
		return !ok, d
	})
	if err := cl.Start(ctx, "eu-west-1", true); err != nil {
		t.Fatalf("start eu-west-1: %v", err)
	}
	if l, err := cl.Link("us-east-1->eu-west-1"); err != nil || !l.Enabled {
		t.Errorf("link into restarted eu-west-1: %+v %v; want enabled", l, err)
	}
	if l, err := cl.Link("ap-southeast-1->eu-west-1"); err != nil || l.Enabled {
		t.Errorf("the partitioned link was enabled by the restart: %+v %v", l, err)
	}
	if err := part.Enable(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "restarted eu-west-1 back in rotation", func() (bool, string) {
		return inRotation(ctx, cl, "eu-west-1")
	})
	_, out, err := rc.Exec(ctx, []string{"/usr/bin/redis-cli", "-a", pw, "--no-auth-warning", "EXISTS", "cold-marker"}, tcexec.Multiplexed())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(out); strings.TrimSpace(string(b)) != "0" {
		t.Errorf("cold restart kept the cache: EXISTS cold-marker = %q", b)
	}

	if m, err := cl.Metrics(ctx, "eu-west-1"); err != nil || len(m) == 0 {
		t.Errorf("metrics of eu-west-1: %v (%d series)", err, len(m))
	}

	// Down with an already-cancelled context: cleanup must still happen.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	closed = true
	if err := cl.Close(cctx); err != nil {
		t.Errorf("close: %v", err)
	}
	requireNoLeftovers(t, runID)
}

func TestDockerCancelledStartLeavesNothing(t *testing.T) {
	p := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), itTestTimeout)
	defer cancel()

	// Cancel as soon as the first container is up: Start is then half-way,
	// with a network and some containers created.
	log := &logSink{t: t}
	var once sync.Once
	log.on = func(line string) {
		if strings.Contains(line, "Container started") {
			once.Do(cancel)
		}
	}
	spec := topology.DefaultSpec()
	spec.Log = log
	cl, err := p.Start(ctx, spec)
	if err == nil {
		_ = cl.Close(context.Background())
		t.Fatal("start succeeded despite a cancelled context")
	}
	t.Logf("start failed as expected: %v", err)
	requireNoLeftovers(t, log.runID())
}
