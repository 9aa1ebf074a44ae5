package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child OS process: own process group, killed if the harness
// dies (Pdeathsig), stdout scanned for readiness, everything logged to a file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed once the process has been reaped
	err  error         // Wait's result, valid after done
}

// readyFunc inspects one stdout line and returns the address it announces.
type readyFunc func(line string) (addr string, ok bool)

// readyLine matches the binaries' `READY ... addr=<host:port>` line.
func readyLine(line string) (string, bool) {
	if !strings.HasPrefix(line, "READY ") {
		return "", false
	}
	for _, f := range strings.Fields(line) {
		if a, ok := strings.CutPrefix(f, "addr="); ok {
			return a, true
		}
	}
	return "", false
}

// startProc launches bin and waits (up to timeout) for ready to accept a
// stdout line. stdout and stderr both go to logPath; the process is killed
// if it does not become ready.
func startProc(ctx context.Context, name, bin string, args []string, logPath string, ready readyFunc, timeout time.Duration) (*proc, string, error) {
	p, addrCh, err := launch(name, bin, args, logPath, ready)
	if err != nil {
		return nil, "", err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-addrCh:
		return p, a, nil
	case <-p.done:
		return nil, "", fmt.Errorf("%s: exited before ready (%v); see %s", name, p.err, logPath)
	case <-t.C:
		p.kill(time.Second)
		return nil, "", fmt.Errorf("%s: not ready within %v; see %s", name, timeout, logPath)
	case <-ctx.Done():
		p.kill(time.Second)
		return nil, "", fmt.Errorf("%s: %w", name, ctx.Err())
	}
}

// startProcPolled launches bin, which prints no READY line, and calls
// ready every poll until it reports the process ready (e.g. an HTTP
// readiness endpoint answering 200), up to timeout; the process is killed
// by its PID if it does not become ready.
func startProcPolled(ctx context.Context, name, bin string, args []string, logPath string, ready func(context.Context) bool, poll, timeout time.Duration) (*proc, error) {
	p, _, err := launch(name, bin, args, logPath, func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, err
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if ready(ctx) {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s: exited before ready (%v); see %s", name, p.err, logPath)
		case <-deadline.C:
			p.kill(time.Second)
			return nil, fmt.Errorf("%s: not ready within %v; see %s", name, timeout, logPath)
		case <-ctx.Done():
			p.kill(time.Second)
			return nil, fmt.Errorf("%s: %w", name, ctx.Err())
		case <-tick.C:
		}
	}
}

// launch starts bin with its stdout scanned by ready (the first address it
// accepts is sent on the channel) and both streams logged to logPath.
func launch(name, bin string, args []string, logPath string, ready readyFunc) (*proc, <-chan string, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: log file: %w", name, err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		logf.Close()
		return nil, nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = pw
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		logf.Close()
		return nil, nil, fmt.Errorf("%s: start %s: %w", name, bin, err)
	}
	pw.Close() // the child holds the write end; EOF arrives when it exits
	p := &proc{name: name, cmd: cmd, log: logf, done: make(chan struct{})}

	addrCh := make(chan string, 1)
	var readerDone sync.WaitGroup
	readerDone.Add(1)
	go func() {
		defer readerDone.Done()
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		found := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = io.WriteString(logf, line+"\n")
			if !found {
				if a, ok := ready(line); ok {
					found = true
					addrCh <- a
				}
			}
		}
	}()
	go func() {
		p.err = cmd.Wait()
		readerDone.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, addrCh, nil
}

// pid is the child's process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) signal(sig syscall.Signal) error {
	if p.exited() {
		return errors.New(p.name + ": not running")
	}
	return syscall.Kill(p.pid(), sig)
}

// kill sends SIGKILL and waits up to wait for the process to be reaped.
func (p *proc) kill(wait time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = syscall.Kill(p.pid(), syscall.SIGKILL)
	return p.wait(wait)
}

// stop asks for a graceful exit (SIGTERM), then SIGKILLs after grace.
func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = syscall.Kill(p.pid(), syscall.SIGCONT) // a paused process cannot handle SIGTERM
	_ = syscall.Kill(p.pid(), syscall.SIGTERM)
	if p.wait(grace) == nil {
		return nil
	}
	return p.kill(5 * time.Second)
}

func (p *proc) wait(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
		return fmt.Errorf("%s (pid %d): still running after %v", p.name, p.pid(), d)
	}
}
