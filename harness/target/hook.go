package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// Render fills the hook's template; a value the template names and vars
// lack is an error, never an empty string in a command.
func (h *Hook) Render(vars map[string]any) (string, error) {
	t, err := template.New("hook").Option("missingkey=error").Parse(h.Command)
	if err != nil {
		return "", fmt.Errorf("command: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, vars); err != nil {
		return "", fmt.Errorf("command: %w", err)
	}
	return b.String(), nil
}

// TimeoutOrDefault is the hook's timeout.
func (h *Hook) TimeoutOrDefault() time.Duration {
	if h.Timeout > 0 {
		return time.Duration(h.Timeout)
	}
	return DefaultHookTimeout
}

// Run runs a rendered command with /bin/sh -c, in its own process group so a
// timeout ends everything it started. The error carries the end of its output.
func Run(ctx context.Context, command string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		return nil
	}
	tail := strings.TrimSpace(out.String())
	if len(tail) > 400 {
		tail = "…" + tail[len(tail)-400:]
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %v", timeout)
	}
	if tail != "" {
		return fmt.Errorf("%q: %w: %s", command, err, tail)
	}
	return fmt.Errorf("%q: %w", command, err)
}
