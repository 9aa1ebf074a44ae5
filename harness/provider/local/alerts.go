package local

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// alertSink records Alertmanager webhook (v4) payloads. The path after the
// host names the sender: /lb or /region/<name>.
type alertSink struct {
	mu     sync.Mutex
	alerts []topology.Alert
	srv    *http.Server
	url    string
}

func startAlertSink() (*alertSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &alertSink{url: "http://" + ln.Addr().String()}
	a.srv = &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

func (a *alertSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	al := topology.Alert{At: time.Now(), Source: strings.TrimPrefix(r.URL.Path, "/"), Raw: body}
	var p struct {
		Status string `json:"status"`
		Alerts []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
		CommonLabels map[string]string `json:"commonLabels"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad alert payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	al.Status = p.Status
	if len(p.Alerts) > 0 {
		al.Labels = p.Alerts[0].Labels
		if al.Status == "" {
			al.Status = p.Alerts[0].Status
		}
	} else {
		al.Labels = p.CommonLabels
	}
	al.Name = al.Labels["alertname"]
	a.mu.Lock()
	a.alerts = append(a.alerts, al)
	a.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (a *alertSink) list() []topology.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]topology.Alert(nil), a.alerts...)
}

func (a *alertSink) close() error {
	err := a.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
