package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// sessTok is the session token the tests' sessions are created with (spelled out
// in their create bodies); owner is the header that presents it.
const sessTok = "tok-0123456789abcdef"

var owner = []string{SessionTokenHeader, sessTok}

func newHTTPServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

// errorLogger logs errors (a handler's panic among them) through t, so a
// failing test shows them; quieter levels are dropped.
// Lines after the test's cleanup are dropped: t.Log then would panic.
func errorLogger(t testing.TB) *slog.Logger {
	w := &testLog{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}

type testLog struct {
	t    testing.TB
	done atomic.Bool
}

func (w *testLog) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
