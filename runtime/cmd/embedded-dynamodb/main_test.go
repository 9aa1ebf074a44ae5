package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the command, so the test drives a real process.
func TestMain(m *testing.M) {
	if os.Getenv("EMBEDDED_DYNAMODB_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestReadyServeAndStopOnSIGTERM(t *testing.T) {
	cmd := exec.Command(os.Args[0], "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "EMBEDDED_DYNAMODB_RUN_MAIN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
		exited <- cmd.Wait()
	}()
	defer func() { _ = cmd.Process.Kill() }()

	var addr string
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "READY dynamodb addr=127.0.0.1:") {
			t.Fatalf("first line %q, want READY dynamodb addr=127.0.0.1:PORT", line)
		}
		addr = strings.TrimSpace(strings.TrimPrefix(line, "READY dynamodb addr="))
	case <-time.After(10 * time.Second):
		t.Fatal("no READY line within 10s")
	}

	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(`{"TableName":"x"}`))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("endpoint not serving: %v", err)
	}
	resp.Body.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
}
