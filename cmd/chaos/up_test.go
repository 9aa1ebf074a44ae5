package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestHelpAndBadUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "up") {
		t.Fatalf("--help: code %d out %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"up", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "--provider") {
		t.Fatalf("up --help: code %d out %q", code, out.String())
	}
	for _, args := range [][]string{{}, {"nope"}, {"up", "--bogus"}, {"up", "extra"}, {"up", "--provider", "mars"}} {
		errb.Reset()
		if code := run(args, io.Discard, &errb); code != 2 || errb.Len() == 0 {
			t.Fatalf("%v: code %d stderr %q, want 2 with usage", args, code, errb.String())
		}
	}
}

var (
	pidRe  = regexp.MustCompile(`pid=(\d+)`)
	addrRe = regexp.MustCompile(`127\.0\.0\.1:\d+`)
)

// `chaos up` as a subprocess; SIGINT must leave no child and no port within 5 s.
func TestUpSubprocessSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	chaos, binDir, _ := buildChaos(t, ctx)
	cmd, stdout, stderr := startChaos(t, chaos, "up", "--provider", "local", "--seed", "7", "--run-dir", t.TempDir(), "--bin-dir", binDir)

	var (
		mu    sync.Mutex
		pids  []int
		addrs []string
		lines []string
	)
	collect := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, line)
		for _, m := range pidRe.FindAllStringSubmatch(line, -1) {
			p, _ := strconv.Atoi(m[1])
			pids = append(pids, p)
		}
		addrs = append(addrs, addrRe.FindAllString(line, -1)...)
	}
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			collect(sc.Text())
		}
	}()
	ready := make(chan map[string]string, 1)
	go func() {
		got := map[string]string{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			collect(sc.Text())
			if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
				got[k] = v
			}
			if strings.HasPrefix(sc.Text(), "seed: ") {
				ready <- got
			}
		}
	}()
	var got map[string]string
	select {
	case got = <-ready:
	case <-time.After(90 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("chaos up not ready; output:\n%s", strings.Join(lines, "\n"))
	}
	for _, k := range []string{"lb", "us-east-1", "eu-west-1", "ap-southeast-1", "admin-token", "toxiproxy"} {
		if got[k] == "" {
			t.Fatalf("missing %q line in %v", k, got)
		}
	}
	mu.Lock()
	pidsNow, addrsNow := append([]int(nil), pids...), append([]string(nil), addrs...)
	mu.Unlock()
	if len(pidsNow) < 4 {
		t.Fatalf("want >= 4 child pids in progress lines, got %v", pidsNow)
	}
	for _, p := range pidsNow {
		if syscall.Kill(p, 0) != nil {
			t.Fatalf("pid %d not alive while up", p)
		}
	}

	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { <-errDone; waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("chaos up exit: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("chaos up still running 5s after SIGINT")
	}
	// grandchildren cannot be waited on: poll with a deadline
	deadline := start.Add(5 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for _, p := range pidsNow {
		for syscall.Kill(p, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d alive 5s after SIGINT", p)
			}
			<-tick.C
		}
	}
	for _, a := range addrsNow {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("%s still in use after SIGINT: %v", a, err)
		}
		ln.Close()
	}
}
