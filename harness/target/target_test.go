package target

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const validYAML = `
config: sre.yaml
time_scale: 10
ready_timeout: 45s
lb:
  url: http://lb.example:8080
  status_token_env: LB_STATUS_TOKEN
regions:
  - name: us-east-1
    url: http://us.example:9001
    peer_key_env: US_PEER_KEY
    vars:
      Container: agent-us
    hooks:
      pause:
        command: docker pause {{.Container}} # own hook
        timeout: 5s
  - name: eu-west-1
    url: http://eu.example:9001
    admin_url: http://eu-admin.example:9101
    vars:
      Container: agent-eu
admin_token_env: ADMIN_TOKEN
toxiproxy:
  url: http://toxi.example:8474
  links:
    us-east-1->dynamodb: us_dynamo
    lb->eu-west-1: lb_eu
    us-east-1->eu-west-1: us_eu
alerts:
  listen: 127.0.0.1:9093
hooks:
  pause:
    command: kubectl pause {{.Region}}
  resume:
    command: docker unpause {{.Container}}
  http503_on:
    command: curl -X PUT http://gates/{{.Region}} -d '{"status":{{.Status}}}'
  failure_rate:
    command: set-rate {{.Region}} {{.Rate}}
`

func mustParse(t *testing.T, y string) *File {
	t.Helper()
	f, err := Parse([]byte(y))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func TestParseValid(t *testing.T) {
	f := mustParse(t, validYAML)
	if f.LB.URL != "http://lb.example:8080" || f.AdminTokenEnv != "ADMIN_TOKEN" || f.LB.StatusTokenEnv != "LB_STATUS_TOKEN" {
		t.Errorf("lb/admin: %+v %q", f.LB, f.AdminTokenEnv)
	}
	if len(f.Regions) != 2 || f.Regions[0].Name != "us-east-1" || f.Regions[1].AdminURL != "http://eu-admin.example:9101" {
		t.Fatalf("regions: %+v", f.Regions)
	}
	if f.Ready() != 45*time.Second || f.Scale() != 10 {
		t.Errorf("Ready %v Scale %v, want 45s 10", f.Ready(), f.Scale())
	}
	if f.Toxiproxy == nil || f.Toxiproxy.Links["lb->eu-west-1"] != "lb_eu" {
		t.Errorf("toxiproxy: %+v", f.Toxiproxy)
	}
	if f.Regions[0].Hooks.Pause == f.Hooks.Pause || f.Regions[0].Hooks.Pause.TimeoutOrDefault() != 5*time.Second {
		t.Errorf("region pause hook: %+v", f.Regions[0].Hooks.Pause)
	}
	if f.Hooks.Resume.TimeoutOrDefault() != DefaultHookTimeout {
		t.Errorf("default timeout: %v", f.Hooks.Resume.TimeoutOrDefault())
	}
}

func TestDefaults(t *testing.T) {
	f := mustParse(t, `
lb: {url: "http://lb:1"}
admin_token_env: T
regions: [{name: r1, url: "http://r1:1"}]
`)
	if f.Ready() != 2*time.Minute || f.Scale() != 1 {
		t.Errorf("defaults: Ready %v Scale %v, want 2m 1", f.Ready(), f.Scale())
	}
	if f.ConfigPath() != "" {
		t.Errorf("ConfigPath without config: %q", f.ConfigPath())
	}
}

func TestLoadResolvesConfigRelativeToTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "target.yaml")
	if err := os.WriteFile(p, []byte(validYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.ConfigPath(), filepath.Join(dir, "sre.yaml"); got != want {
		t.Errorf("ConfigPath %q, want %q", got, want)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

// Each broken field is reported by its path (and the others still parse).
func TestValidateNamesEachBadField(t *testing.T) {
	for _, c := range []struct {
		name      string
		edit      func(string) string
		wantAll   []string
		wantNotIn string // a path that must not be blamed
	}{
		{
			name:    "lb.url missing",
			edit:    func(y string) string { return strings.Replace(y, "  url: http://lb.example:8080\n", "", 1) },
			wantAll: []string{"lb.url: required"},
		},
		{
			name:    "lb.url not http",
			edit:    func(y string) string { return strings.Replace(y, "http://lb.example:8080", "ftp://lb", 1) },
			wantAll: []string{"lb.url:", `"ftp://lb"`},
		},
		{
			name:      "duplicate region name",
			edit:      func(y string) string { return strings.Replace(y, "- name: eu-west-1", "- name: us-east-1", 1) },
			wantAll:   []string{"regions[1].name: duplicate", `"us-east-1"`},
			wantNotIn: "regions[0].name",
		},
		{
			name: "admin_token_env holds a literal",
			edit: func(y string) string {
				return strings.Replace(y, "admin_token_env: ADMIN_TOKEN", `admin_token_env: "abc def"`, 1)
			},
			wantAll: []string{"admin_token_env:", `"abc def"`, "not an environment variable name"},
		},
		{
			name:    "admin_token_env missing",
			edit:    func(y string) string { return strings.Replace(y, "admin_token_env: ADMIN_TOKEN\n", "", 1) },
			wantAll: []string{"admin_token_env: required"},
		},
		{
			name: "unknown link",
			edit: func(y string) string {
				return strings.Replace(y, "us-east-1->dynamodb: us_dynamo", "us-east-1->mars-1: us_mars", 1)
			},
			wantAll: []string{"toxiproxy.links.us-east-1->mars-1:", "not a link"},
		},
		{
			name: "self link",
			edit: func(y string) string {
				return strings.Replace(y, "us-east-1->eu-west-1: us_eu", "us-east-1->us-east-1: us_us", 1)
			},
			wantAll: []string{"toxiproxy.links.us-east-1->us-east-1:"},
		},
		{
			name: "empty hook command",
			edit: func(y string) string {
				return strings.Replace(y, "    command: kubectl pause {{.Region}}", `    command: "  "`, 1)
			},
			wantAll: []string{"hooks.pause.command: required"},
		},
		{
			name: "empty region hook command",
			edit: func(y string) string {
				return strings.Replace(y, "command: docker pause {{.Container}} # own hook", `command: ""`, 1)
			},
			wantAll: []string{"regions[0].hooks.pause.command: required"},
		},
		{
			name: "hook template names a missing var",
			edit: func(y string) string {
				return strings.Replace(y, "docker unpause {{.Container}}", "docker unpause {{.Missing}}", 1)
			},
			// both regions lack Missing; resume is the shared hook
			wantAll: []string{"regions[us-east-1] hook resume", "regions[eu-west-1] hook resume", "Missing"},
		},
		{
			name: "region var missing in one region only",
			edit: func(y string) string {
				return strings.Replace(y, "    vars:\n      Container: agent-eu\n", "", 1)
			},
			wantAll:   []string{"regions[eu-west-1] hook resume", "Container"},
			wantNotIn: "regions[us-east-1]",
		},
		{
			name:    "bad duration",
			edit:    func(y string) string { return strings.Replace(y, "ready_timeout: 45s", "ready_timeout: soon", 1) },
			wantAll: []string{`"soon" is not a duration`},
		},
		{
			name:    "bad alerts.listen",
			edit:    func(y string) string { return strings.Replace(y, "listen: 127.0.0.1:9093", "listen: nowhere", 1) },
			wantAll: []string{"alerts.listen:", `"nowhere"`},
		},
		{
			name:    "unknown field",
			edit:    func(y string) string { return strings.Replace(y, "time_scale: 10", "time_scale: 10\ntimescale: 3", 1) },
			wantAll: []string{"timescale", "not found"},
		},
		{
			name: "unknown nested field",
			edit: func(y string) string {
				return strings.Replace(y, "      pause:\n", "      pause:\n        cmd: x\n", 1)
			},
			wantAll: []string{"cmd", "not found"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			y := c.edit(validYAML)
			if y == validYAML {
				t.Fatal("edit changed nothing: the test is stale")
			}
			_, err := Parse([]byte(y))
			if err == nil {
				t.Fatalf("parsed without error")
			}
			for _, w := range c.wantAll {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if c.wantNotIn != "" && strings.Contains(err.Error(), c.wantNotIn) {
				t.Errorf("error %q blames %q", err, c.wantNotIn)
			}
		})
	}
}

func TestHooksOfOverridesOneByOne(t *testing.T) {
	f := mustParse(t, validYAML)
	us := f.HooksOf("us-east-1")
	if us.Pause == nil || !strings.HasPrefix(us.Pause.Command, "docker pause") {
		t.Errorf("us-east-1 pause: %+v, want its own", us.Pause)
	}
	if us.Resume != f.Hooks.Resume || us.HTTP503On != f.Hooks.HTTP503On {
		t.Errorf("us-east-1 keeps the file's other hooks: resume %+v", us.Resume)
	}
	if us.Kill != nil {
		t.Errorf("us-east-1 kill: %+v, want none", us.Kill)
	}
	eu := f.HooksOf("eu-west-1")
	if eu.Pause != f.Hooks.Pause {
		t.Errorf("eu-west-1 pause: %+v, want the file's", eu.Pause)
	}
	// The override does not leak into the file's hooks.
	if !strings.HasPrefix(f.Hooks.Pause.Command, "kubectl") {
		t.Errorf("file's pause changed: %+v", f.Hooks.Pause)
	}
	if other := f.HooksOf("mars-1"); other.Pause != f.Hooks.Pause {
		t.Errorf("unknown region: %+v", other.Pause)
	}
}

func TestVarsAndRender(t *testing.T) {
	f := mustParse(t, validYAML)
	v := f.Vars("eu-west-1", map[string]any{"Status": 503})
	if want := map[string]any{"Region": "eu-west-1", "Container": "agent-eu", "Status": 503}; !reflect.DeepEqual(v, want) {
		t.Errorf("Vars %v, want %v", v, want)
	}
	got, err := f.HooksOf("eu-west-1").HTTP503On.Render(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `curl -X PUT http://gates/eu-west-1 -d '{"status":503}'`; got != want {
		t.Errorf("Render %q, want %q", got, want)
	}
	h := &Hook{Command: "stop {{.Container}} {{.Nope}}"}
	if out, err := h.Render(v); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("Render of a missing key: %q, %v; want an error naming Nope", out, err)
	}
	if _, err := (&Hook{Command: "{{.Region"}).Render(v); err == nil {
		t.Error("Render of a broken template: no error")
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	marker := filepath.Join(t.TempDir(), "ran")
	if err := Run(ctx, "echo hi > '"+marker+"'", 10*time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "hi\n" {
		t.Fatalf("marker: %q %v", b, err)
	}

	err := Run(ctx, "echo first line; echo the-tail-of-output >&2; exit 3", 10*time.Second)
	if err == nil {
		t.Fatal("failing command: no error")
	}
	for _, w := range []string{"exit status 3", "the-tail-of-output"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}

	long := "printf 'x%.0s' $(seq 1 2000); echo END-OF-IT; exit 1"
	err = Run(ctx, long, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "END-OF-IT") || strings.Count(err.Error(), "x") > 600 {
		t.Errorf("long output error is not its tail: %d chars, %q...", len(err.Error()), err.Error()[:min(80, len(err.Error()))])
	}
}

// A timeout kills the whole process group: a child that keeps the output
// pipe open (sleep 30) must not hold Run for 30s, and the error says so.
func TestRunTimeoutKillsTheGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	err := Run(context.Background(), "sleep 30 & echo $! > '"+pidFile+"'; echo started; wait", 300*time.Millisecond)
	if err == nil {
		t.Fatal("no error from a command past its timeout")
	}
	if !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Errorf("error %q does not say it timed out", err)
	}
	if strings.Contains(err.Error(), "WaitDelay") || strings.Contains(err.Error(), "I/O") {
		t.Errorf("error %q: the child kept the pipes open (process group not killed)", err)
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Skipf("the shell was killed before it wrote the child's pid: %v", rerr)
	}
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if perr != nil {
		t.Fatal(perr)
	}
	// The sleep held the output pipe: Run could only return (without its
	// WaitDelay) once it was killed. It is gone, a zombie, or exiting
	// (PF_EXITING in its flags), never still sleeping.
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(st), "(sleep)") {
		fields := strings.Fields(string(st))
		const pfExiting = 0x4
		flags, _ := strconv.ParseUint(fields[8], 10, 64)
		if state := fields[2]; state != "Z" && state != "X" && flags&pfExiting == 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL) // the one process this test started
			t.Errorf("sleep child %d still alive after the timeout: %s", pid, st)
		}
	}
}

func TestRunHonoursCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, "true", 10*time.Second); err == nil {
		t.Error("Run with a cancelled context: no error")
	}
}

func TestSecretAndMissingSecrets(t *testing.T) {
	f := mustParse(t, validYAML)
	t.Setenv("ADMIN_TOKEN", "")
	t.Setenv("LB_STATUS_TOKEN", "")
	t.Setenv("US_PEER_KEY", "")
	miss := f.MissingSecrets()
	want := []string{
		"admin_token_env: environment variable ADMIN_TOKEN is not set",
		"lb.status_token_env: environment variable LB_STATUS_TOKEN is not set",
		"regions[0].peer_key_env: environment variable US_PEER_KEY is not set",
	}
	if !reflect.DeepEqual(miss, want) {
		t.Errorf("MissingSecrets %q, want %q", miss, want)
	}
	t.Setenv("ADMIN_TOKEN", "s3cret")
	t.Setenv("US_PEER_KEY", "00")
	if miss := f.MissingSecrets(); len(miss) != 1 || !strings.Contains(miss[0], "LB_STATUS_TOKEN") {
		t.Errorf("MissingSecrets with two set: %q", miss)
	}
	if v, err := Secret("admin_token_env", "ADMIN_TOKEN"); err != nil || v != "s3cret" {
		t.Errorf("Secret: %q %v", v, err)
	}
	if v, err := Secret("x", ""); err != nil || v != "" {
		t.Errorf("Secret of no variable: %q %v", v, err)
	}
}

func TestWriteRoundTrips(t *testing.T) {
	f := mustParse(t, validYAML)
	p := filepath.Join(t.TempDir(), "out.yaml")
	if err := f.Write(p, "written by a test\nsecond line"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "# written by a test\n# second line\n") {
		t.Errorf("header: %q", string(b)[:min(60, len(b))])
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	g, err := Load(p)
	if err != nil {
		t.Fatalf("reload: %v\n%s", err, b)
	}
	g.dir = f.dir
	if !reflect.DeepEqual(f, g) {
		t.Errorf("round trip differs:\n%+v\n%+v", f, g)
	}
}
