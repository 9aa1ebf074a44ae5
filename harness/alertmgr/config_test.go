package alertmgr

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/runtime/needtool"
)

func opts() Options {
	return Options{Receiver: "http://127.0.0.1:9/alertmanager", GroupWait: 200 * time.Millisecond, GroupInterval: time.Second, RepeatInterval: time.Hour}
}

// The generated configuration routes everything, grouped by alertname, to
// the harness's receiver with resolved notifications, and amtool accepts it.
func TestConfigChecksWithAmtool(t *testing.T) {
	b, err := Config(opts())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"group_by:\n        - alertname", "group_wait: 200ms", "group_interval: 1000ms", "send_resolved: true", "url: http://127.0.0.1:9/alertmanager"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config lacks %q:\n%s", want, b)
		}
	}
	amtool := needtool.Path(t, "Debian: apt-get install prometheus-alertmanager", "amtool")
	f := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(amtool, "check-config", f).CombinedOutput()
	t.Logf("$ amtool check-config alertmanager.yml\n%s", out)
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("amtool check-config: %v\n%s\n%s", err, out, b)
	}
}

func TestOptionsNameTheBadField(t *testing.T) {
	for _, c := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Receiver = "ftp://x" }, "alertmanager.receiver"},
		{func(o *Options) { o.GroupWait = 0 }, "alertmanager.group_wait"},
		{func(o *Options) { o.GroupInterval = -1 }, "alertmanager.group_interval"},
		{func(o *Options) { o.RepeatInterval = time.Millisecond }, "alertmanager.repeat_interval"},
	} {
		o := opts()
		c.edit(&o)
		if _, err := Config(o); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", o, err, c.want)
		}
	}
}
