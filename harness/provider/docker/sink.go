package docker

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// alertSink receives Alertmanager webhook (v4) POSTs from the containers. It
// runs on the host, bound to the run network's gateway address, so only the
// host and the run's containers can reach it.
type alertSink struct {
	mu     sync.Mutex
	alerts []topology.Alert

	srv *http.Server
	ln  net.Listener
}

// maxAlertBody bounds one webhook payload; Alertmanager payloads are small.
const maxAlertBody = 1 << 20

func startAlertSink(addr string) (*alertSink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("alert sink listen %s: %w", addr, err)
	}
	s := &alertSink{ln: ln}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the webhook URL as a container reaches it.
func (s *alertSink) URL() string { return "http://" + s.ln.Addr().String() + "/alerts" }

func (s *alertSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAlertBody+1))
	if err != nil || len(body) > maxAlertBody {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	a, err := parseAlert(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.At = time.Now()
	s.mu.Lock()
	s.alerts = append(s.alerts, a)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// parseAlert decodes the fields of an Alertmanager v4 payload the checkers use.
func parseAlert(body []byte) (topology.Alert, error) {
	var p struct {
		Status string `json:"status"`
		Alerts []struct {
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return topology.Alert{}, fmt.Errorf("alert payload: %w", err)
	}
	if p.Status == "" {
		return topology.Alert{}, errors.New("alert payload: status: empty")
	}
	a := topology.Alert{Status: p.Status, Raw: append([]byte(nil), body...)}
	if len(p.Alerts) > 0 {
		a.Labels = p.Alerts[0].Labels
		a.Name = a.Labels["alertname"]
	}
	return a, nil
}

func (s *alertSink) Alerts() []topology.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]topology.Alert(nil), s.alerts...)
}

func (s *alertSink) Close() error {
	err := s.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// parseMetrics reads Prometheus text exposition into series → value. The key
// is the series exactly as exposed (name plus its label set), e.g.
// `agent_cache_hits_total{region="us-east-1"}`. Comments and malformed lines
// are skipped; a trailing timestamp is ignored.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// The series ends after the closing brace (labels may contain spaces)
		// or at the first space.
		var series, rest string
		if i := strings.LastIndexByte(line, '}'); i >= 0 {
			series, rest = line[:i+1], strings.TrimSpace(line[i+1:])
		} else {
			var ok bool
			series, rest, ok = strings.Cut(line, " ")
			if !ok {
				continue
			}
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		out[series] = v
	}
	return out, sc.Err()
}
