// Package alertsink is the on-call end of a chaos run: an HTTP receiver for
// Alertmanager webhook (v4) payloads that records each one with its arrival
// time, so checkers can count pages. The request path names the sender
// (e.g. /lb or /region/us-east-1, or /alertmanager when a real Alertmanager
// notifies on-call: Source "alertmanager"); providers choose it.
package alertsink

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// maxBody bounds one payload; Alertmanager payloads are small.
const maxBody = 1 << 20

// Sink records alerts. Safe for concurrent use.
type Sink struct {
	mu     sync.Mutex
	alerts []topology.Alert
	srv    *http.Server
	ln     net.Listener
}

// Start listens on addr (e.g. "127.0.0.1:0", or a docker network gateway
// so only the run's containers reach it) and serves until Close.
func Start(addr string) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("alert sink listen %s: %w", addr, err)
	}
	s := &Sink{ln: ln}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the base URL; senders append a path naming themselves.
func (s *Sink) URL() string { return "http://" + s.ln.Addr().String() }

// ServeHTTP records one POSTed payload; anything else is refused.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	a, err := Parse(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.At = time.Now()
	a.Source = strings.TrimPrefix(r.URL.Path, "/")
	s.mu.Lock()
	s.alerts = append(s.alerts, a)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// Parse decodes the fields of an Alertmanager v4 payload the checkers use.
func Parse(body []byte) (topology.Alert, error) {
	var p struct {
		Status string `json:"status"`
		Alerts []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
		CommonLabels map[string]string `json:"commonLabels"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return topology.Alert{}, fmt.Errorf("alert payload: %w", err)
	}
	a := topology.Alert{Status: p.Status, Raw: append([]byte(nil), body...), Labels: p.CommonLabels}
	if len(p.Alerts) > 0 {
		a.Labels = p.Alerts[0].Labels
		if a.Status == "" {
			a.Status = p.Alerts[0].Status
		}
	}
	for _, x := range p.Alerts {
		if n := x.Labels["alertname"]; n != "" && !slices.Contains(a.Names, n) {
			a.Names = append(a.Names, n)
		}
	}
	if a.Status == "" {
		return topology.Alert{}, errors.New("alert payload: status: empty")
	}
	a.Name = a.Labels["alertname"]
	return a, nil
}

// Alerts lists what arrived, in order.
func (s *Sink) Alerts() []topology.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]topology.Alert(nil), s.alerts...)
}

// Close stops the receiver.
func (s *Sink) Close() error {
	err := s.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
