package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/provider/docker"
)

var runIDRe = regexp.MustCompile(`docker: run (fh-[0-9a-f]+):`)

// Ctrl-C on `chaos up --provider docker` removes every container, network
// and volume of the run.
func TestUpDockerSIGINTLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	skipWithoutDocker(t, ctx)
	chaos, _, _ := buildChaos(t, ctx)
	cmd, stdout, stderr := startChaos(t, chaos, "up", "--provider", "docker", "--images", "local", "--seed", "7")
	runID := make(chan string, 1)
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := runIDRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case runID <- m[1]:
				default:
				}
			}
		}
	}()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "seed: ") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("chaos up --provider docker never became ready")
	}
	id := <-runID
	if left, err := docker.Leftovers(ctx, id); err != nil || len(left) == 0 {
		t.Fatalf("run %s: want its containers while up, got %v (%v)", id, left, err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-errDone
	if err := cmd.Wait(); err != nil {
		t.Fatalf("chaos up after SIGINT: %v", err)
	}
	left, err := docker.Leftovers(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("run %s left after Ctrl-C: %v", id, left)
	}
}

// skipWithoutDocker skips a test that starts containers when no engine
// answers or the local images are missing (scripts/build-images.sh).
func skipWithoutDocker(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := docker.New(docker.Options{Images: docker.LocalImages()}).Available(ctx); err != nil {
		if errors.Is(err, docker.ErrUnavailable) {
			t.Skipf("docker provider unavailable here: %v", err)
		}
		t.Fatal(err)
	}
}
