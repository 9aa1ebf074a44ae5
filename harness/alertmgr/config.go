// Package alertmgr is the on-call path of a topology run with a real
// Alertmanager: its configuration (one route, grouped by alertname, to the
// harness's webhook receiver, with the run's compressed intervals) and the
// binary a provider starts.
package alertmgr

import (
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"time"

	"go.yaml.in/yaml/v3"
)

// Options are what a generated configuration says.
type Options struct {
	// Receiver is the harness's webhook receiver (alertsink) URL, path included.
	Receiver       string
	GroupWait      time.Duration
	GroupInterval  time.Duration
	RepeatInterval time.Duration
}

// Validate names the option that cannot work.
func (o Options) Validate() error {
	u, err := url.Parse(o.Receiver)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("alertmanager.receiver: %q is not an http(s) URL", o.Receiver)
	case o.GroupWait <= 0:
		return fmt.Errorf("alertmanager.group_wait: %v must be > 0", o.GroupWait)
	case o.GroupInterval <= 0:
		return fmt.Errorf("alertmanager.group_interval: %v must be > 0", o.GroupInterval)
	case o.RepeatInterval < o.GroupInterval:
		return fmt.Errorf("alertmanager.repeat_interval: %v must be >= group_interval %v", o.RepeatInterval, o.GroupInterval)
	}
	return nil
}

// Config is the alertmanager.yml for o. Grouping by alertname keeps each
// incident one notification however many senders report it, and lets a
// sender that renames its alert every round show as the storm it is.
func Config(o Options) ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	type webhook struct {
		URL          string `yaml:"url"`
		SendResolved bool   `yaml:"send_resolved"`
	}
	type receiver struct {
		Name     string    `yaml:"name"`
		Webhooks []webhook `yaml:"webhook_configs"`
	}
	cfg := struct {
		Route struct {
			Receiver       string   `yaml:"receiver"`
			GroupBy        []string `yaml:"group_by"`
			GroupWait      string   `yaml:"group_wait"`
			GroupInterval  string   `yaml:"group_interval"`
			RepeatInterval string   `yaml:"repeat_interval"`
		} `yaml:"route"`
		Receivers []receiver `yaml:"receivers"`
	}{}
	cfg.Route.Receiver = "harness"
	cfg.Route.GroupBy = []string{"alertname"}
	cfg.Route.GroupWait = promDuration(o.GroupWait)
	cfg.Route.GroupInterval = promDuration(o.GroupInterval)
	cfg.Route.RepeatInterval = promDuration(o.RepeatInterval)
	cfg.Receivers = []receiver{{Name: "harness", Webhooks: []webhook{{URL: o.Receiver, SendResolved: true}}}}
	return yaml.Marshal(cfg)
}

// promDuration writes d as Prometheus durations are written (ms precision).
func promDuration(d time.Duration) string {
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// ErrNotInstalled says the Alertmanager binary is missing, and how to get it.
var ErrNotInstalled = errors.New("alertmanager not installed (Debian: apt-get install prometheus-alertmanager; scripts/ci-setup.sh does)")

// Binary finds the Alertmanager: Debian names it prometheus-alertmanager.
func Binary() (string, error) {
	for _, n := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// Args are the flags of a single, unclustered Alertmanager listening on
// addr with its state in dir.
func Args(configFile, dir, addr string) []string {
	return []string{
		"--config.file=" + configFile,
		"--storage.path=" + dir,
		"--web.listen-address=" + addr,
		"--cluster.listen-address=", // no gossip: one instance, no ports beyond addr
		"--log.level=warn",
	}
}
