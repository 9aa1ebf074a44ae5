package httpsafe

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestInFlightShedsBeyondTheCap(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	rejected := 0
	h := InFlight(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
	}), 2, 1500*time.Millisecond, func() { rejected++ })
	var done sync.WaitGroup
	for range 2 {
		done.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)) })
	}
	<-entered
	<-entered // both slots held
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "2" || !strings.Contains(w.Body.String(), `"OVERLOADED"`) || rejected != 1 {
		t.Fatalf("third request: %d Retry-After %q %s (rejected %d), want 503 OVERLOADED, Retry-After 2", w.Code, w.Header().Get("Retry-After"), w.Body, rejected)
	}
	close(release)
	done.Wait()
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil)) // slots freed: served (the handler returns at once now)
	if w.Code != http.StatusOK {
		t.Fatalf("after the slots freed: %d", w.Code)
	}
}

func TestLimitsValidateNamesTheField(t *testing.T) {
	if err := Defaults().Validate("http"); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for field, edit := range map[string]func(*Limits){
		"http.read_header_timeout": func(l *Limits) { l.ReadHeaderTimeout = 0 },
		"http.write_timeout":       func(l *Limits) { l.WriteTimeout = -time.Second },
		"http.read_timeout":        func(l *Limits) { l.ReadTimeout = time.Second; l.ReadHeaderTimeout = 2 * time.Second },
		"http.max_header_bytes":    func(l *Limits) { l.MaxHeaderBytes = 10 },
		"http.max_in_flight":       func(l *Limits) { l.MaxInFlight = 0 },
	} {
		l := Defaults()
		edit(&l)
		if err := l.Validate("http"); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("%s: %v, want an error naming it", field, err)
		}
	}
	s := Server(http.NotFoundHandler(), Defaults(), nil, nil, nil)
	if s.ReadHeaderTimeout != 5*time.Second || s.ReadTimeout != 30*time.Second || s.WriteTimeout != time.Minute || s.MaxHeaderBytes != 64<<10 {
		t.Fatalf("server limits not applied: %+v", s)
	}
}

// Requests exempt would name pass a full cap; all others are shed.
func TestServerExemptBypassesTheCap(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	l := Defaults()
	l.MaxInFlight = 1
	s := Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
	}), l, nil, nil, func(r *http.Request) bool { return r.URL.Path == "/status" })
	done := make(chan struct{})
	go func() {
		s.Handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
		close(done)
	}()
	<-entered // the one slot is held
	for path, want := range map[string]int{"/status": http.StatusOK, "/other": http.StatusServiceUnavailable} {
		w := httptest.NewRecorder()
		s.Handler.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("%s with the cap full: %d, want %d", path, w.Code, want)
		}
	}
	close(release)
	<-done
}
