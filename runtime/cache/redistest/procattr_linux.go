//go:build linux

package redistest

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts redis-server in its own process group and has the kernel kill it if we
// die first, so a crashed test never leaves a server behind.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
