//go:build !linux

package redistest

import (
	"os/exec"
	"syscall"
)

// setProcAttr: Pdeathsig is Linux-only; elsewhere only the process group is set.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
