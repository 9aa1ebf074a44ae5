// Package redistest runs a real redis-server on a free 127.0.0.1 port (or, outside tests,
// an embedded miniredis when redis-server is missing) for tests and the local provider.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// StartTimeout bounds how long Start waits for redis-server to answer PING.
var StartTimeout = 10 * time.Second

// Server is a running Redis.
type Server struct {
	Addr     string // 127.0.0.1:port
	Embedded bool   // true when served by miniredis

	mu   sync.Mutex
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been waited for
	mini *miniredis.Miniredis
}

// Start execs redis-server on a free port with persistence off; dir is its working dir.
func Start(dir string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redistest: redis-server not on PATH: %w", err)
	}
	var lastErr error
	for range 3 { // the free port can be taken between probing and binding; try another
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, port: port}
		if lastErr = s.spawn(bin); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// StartOrEmbedded starts a real redis-server when one is on PATH, else an embedded miniredis,
// printing a notice to notice (may be nil) so nobody mistakes it for the real thing.
func StartOrEmbedded(dir string, notice io.Writer) (*Server, error) {
	if _, err := exec.LookPath("redis-server"); err == nil {
		return Start(dir)
	}
	m, err := Embedded("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if notice != nil {
		fmt.Fprintf(notice, "NOTICE: redis-server not on PATH; using embedded miniredis at %s (apt-get install -y redis-server for the real one)\n", m.Addr())
	}
	port, _ := strconv.Atoi(m.Port())
	return &Server{Addr: m.Addr(), Embedded: true, dir: dir, port: port, mini: m}, nil
}

// Embedded starts a miniredis on addr ("127.0.0.1:0": a free port) whose
// key TTLs run with the wall clock, as a real Redis's do: without ClockTTL
// miniredis only expires keys on FastForward, so cache entries would never
// expire. Every embedded fallback starts here.
func Embedded(addr string) (*miniredis.Miniredis, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr(addr); err != nil {
		return nil, fmt.Errorf("redistest: start miniredis on %s: %w", addr, err)
	}
	return m, nil
}

// ForTest returns the address of a real redis-server that stops when the test ends.
func ForTest(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server not on PATH: apt-get install -y redis-server")
	}
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.Addr
}

func (s *Server) spawn(bin string) error {
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no")
	cmd.Dir = s.dir
	setProcAttr(cmd)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: &out}, &lockedWriter{w: &out}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	if err := waitReady(s.Addr, done, StartTimeout); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("redistest: redis-server on %s: %w; output: %s", s.Addr, err, out.String())
	}
	s.cmd, s.done = cmd, done
	return nil
}

// waitReady polls PING until PONG, the process exits, or the deadline passes.
func waitReady(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if ping(addr) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %v", timeout)
		}
		select {
		case <-exited:
			return errors.New("exited before answering")
		case <-tick.C:
		}
	}
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// Close kills the server by PID and waits for it.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stop()
}

func (s *Server) stop() error {
	if s.mini != nil {
		s.mini.Close()
		return nil
	}
	if s.cmd == nil {
		return nil
	}
	err := s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
	if errors.Is(err, os.ErrProcessDone) {
		err = nil
	}
	return err
}

// Restart stops the server and starts it again on the same port with no data: a cold cache.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mini != nil {
		s.mini.Close()
		s.mini.FlushAll()
		return s.mini.StartAddr(s.Addr)
	}
	if err := s.stop(); err != nil {
		return err
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redistest: redis-server not on PATH: %w", err)
	}
	return s.spawn(bin)
}

// PID is the redis-server process id (0 when embedded or stopped), for pause/kill faults.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redistest: find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedWriter lets stdout and stderr share one buffer safely.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
