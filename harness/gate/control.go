package gate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Control is a resource-shaped HTTP API over a set of gates, in the style of
// toxiproxy's: it lets another process (an external run's hooks) switch the
// gates of a topology this process started.
//
//	GET    /gates/{region}   {"status":0,"failure_rate":0,"delay":"0s"}
//	PUT    /gates/{region}   the same body; fields left out keep their value
//	DELETE /gates/{region}   pass everything through
type Control struct {
	gates map[string]*Gate
	mux   *http.ServeMux
}

// Setting is a gate's mode as the control API reads and writes it.
type Setting struct {
	Status      *int     `json:"status,omitempty"`
	FailureRate *float64 `json:"failure_rate,omitempty"`
	Delay       string   `json:"delay,omitempty"`
}

// NewControl serves gates by region name.
func NewControl(gates map[string]*Gate) *Control {
	c := &Control{gates: gates, mux: http.NewServeMux()}
	c.mux.HandleFunc("GET /gates/{region}", c.get)
	c.mux.HandleFunc("PUT /gates/{region}", c.put)
	c.mux.HandleFunc("DELETE /gates/{region}", c.reset)
	return c
}

func (c *Control) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

func (c *Control) gate(w http.ResponseWriter, r *http.Request) *Gate {
	g, ok := c.gates[r.PathValue("region")]
	if !ok {
		ctlError(w, http.StatusNotFound, "NO_SUCH_GATE", fmt.Sprintf("no gate for region %q", r.PathValue("region")))
	}
	return g
}

func (c *Control) get(w http.ResponseWriter, r *http.Request) {
	g := c.gate(w, r)
	if g == nil {
		return
	}
	status, rate, delay := g.Mode()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Setting{Status: &status, FailureRate: &rate, Delay: delay.String()})
}

func (c *Control) put(w http.ResponseWriter, r *http.Request) {
	g := c.gate(w, r)
	if g == nil {
		return
	}
	var s Setting
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		ctlError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	var delay time.Duration
	if s.Delay != "" {
		d, err := time.ParseDuration(s.Delay)
		if err != nil || d < 0 {
			ctlError(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("delay: %q is not a non-negative duration", s.Delay))
			return
		}
		delay = d
	}
	if s.Status != nil && *s.Status != 0 && (*s.Status < 100 || *s.Status > 599) {
		ctlError(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("status: %d is not an HTTP status", *s.Status))
		return
	}
	if s.FailureRate != nil && (*s.FailureRate < 0 || *s.FailureRate > 1) {
		ctlError(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("failure_rate: %v not in [0,1]", *s.FailureRate))
		return
	}
	if s.Status != nil {
		_ = g.SetStatus(*s.Status)
	}
	if s.FailureRate != nil {
		_ = g.SetFailureRate(*s.FailureRate)
	}
	if s.Delay != "" {
		_ = g.SetDelay(delay)
	}
	c.get(w, r)
}

func (c *Control) reset(w http.ResponseWriter, r *http.Request) {
	g := c.gate(w, r)
	if g == nil {
		return
	}
	_ = g.Reset()
	c.get(w, r)
}

func ctlError(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "code": errCode})
}
