// Package httpsafe holds what every HTTP server of the runtime (region
// runtime and global LB) sets so a slow or greedy client cannot hold it:
// read/write/idle timeouts, a header size cap, and an in-flight cap that
// answers 503 + Retry-After beyond it instead of queueing without bound.
package httpsafe

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Limits is the `http:` block of both binaries' configs.
type Limits struct {
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" help:"time a client has to send the request headers"`
	ReadTimeout       time.Duration `yaml:"read_timeout" help:"time a client has to send the whole request, body included"`
	WriteTimeout      time.Duration `yaml:"write_timeout" help:"time from the end of the headers to the end of the answer (covers the handler)"`
	IdleTimeout       time.Duration `yaml:"idle_timeout" help:"keep-alive connection idle bound"`
	MaxHeaderBytes    int           `yaml:"max_header_bytes" help:"request header size cap in bytes"`
	MaxInFlight       int           `yaml:"max_in_flight" help:"requests handled at once; beyond it 503 OVERLOADED with Retry-After"`
	RetryAfter        time.Duration `yaml:"retry_after" help:"Retry-After of the 503 OVERLOADED answer"`
}

// Defaults are generous for real clients and still bound a slowloris.
func Defaults() Limits {
	return Limits{
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10, MaxInFlight: 1024, RetryAfter: time.Second,
	}
}

// Validate names the bad field under prefix (e.g. "http").
func (l Limits) Validate(prefix string) error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read_header_timeout", l.ReadHeaderTimeout}, {"read_timeout", l.ReadTimeout}, {"write_timeout", l.WriteTimeout}, {"idle_timeout", l.IdleTimeout}, {"retry_after", l.RetryAfter}} {
		if d.v <= 0 {
			return fmt.Errorf("%s.%s: %v must be positive", prefix, d.name, d.v)
		}
	}
	switch {
	case l.ReadTimeout < l.ReadHeaderTimeout:
		return fmt.Errorf("%s.read_timeout: %v must be >= read_header_timeout %v", prefix, l.ReadTimeout, l.ReadHeaderTimeout)
	case l.MaxHeaderBytes < 4096 || l.MaxHeaderBytes > 1<<20:
		return fmt.Errorf("%s.max_header_bytes: %d must be 4096..1048576", prefix, l.MaxHeaderBytes)
	case l.MaxInFlight < 1:
		return fmt.Errorf("%s.max_in_flight: %d must be >= 1", prefix, l.MaxInFlight)
	}
	return nil
}

// Server returns an http.Server for h with every limit applied; h is
// wrapped by InFlight. rejected, if non-nil, is called per refused request;
// exempt, if non-nil, names requests the in-flight cap does not count (an
// operator's cheap status endpoints, which must answer while the cap
// sheds load: that is when an operator looks).
func Server(h http.Handler, l Limits, errLog *slog.Logger, rejected func(), exempt func(*http.Request) bool) *http.Server {
	capped := InFlight(h, l.MaxInFlight, l.RetryAfter, rejected)
	handler := capped
	if exempt != nil {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if exempt(r) {
				h.ServeHTTP(w, r)
				return
			}
			capped.ServeHTTP(w, r)
		})
	}
	s := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
	if errLog != nil {
		s.ErrorLog = slog.NewLogLogger(errLog.Handler(), slog.LevelWarn)
	}
	return s
}

// InFlight answers 503 OVERLOADED with Retry-After when max requests are
// already being handled: a bounded server sheds load where an unbounded one
// would queue until every client times out.
func InFlight(next http.Handler, max int, retryAfter time.Duration, rejected func()) http.Handler {
	var n atomic.Int64
	ra := strconv.Itoa(int(math.Ceil(retryAfter.Seconds())))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > int64(max) {
			n.Add(-1)
			if rejected != nil {
				rejected()
			}
			w.Header().Set("Retry-After", ra)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"too many requests in flight, retry later","code":"OVERLOADED"}` + "\n"))
			return
		}
		defer n.Add(-1)
		next.ServeHTTP(w, r)
	})
}
