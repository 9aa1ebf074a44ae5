package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newHTTPServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }
