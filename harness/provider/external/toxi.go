package external

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/journal"
)

// toxiJournal is an in-process front of the operator's toxiproxy API that
// writes the undo of every toxic added and every proxy disabled to the heal
// journal before passing the request on, and marks it healed when the
// harness removes or re-enables it. Faults keep using the toxiproxy client
// unchanged; nothing reaches the real API unjournaled.
type toxiJournal struct {
	api string
	j   *journal.Journal
	cl  *http.Client
	srv *http.Server
	ln  net.Listener
}

func startToxiJournal(api string, j *journal.Journal) (*toxiJournal, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("toxiproxy journal front: %w", err)
	}
	t := &toxiJournal{api: strings.TrimRight(api, "/"), j: j, cl: &http.Client{Timeout: 30 * time.Second}, ln: ln}
	t.srv = &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = t.srv.Serve(ln) }()
	return t, nil
}

func (t *toxiJournal) URL() string  { return "http://" + t.ln.Addr().String() }
func (t *toxiJournal) Close() error { return t.srv.Close() }

func (t *toxiJournal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var key string // the change this request makes or undoes
	var undoes bool
	var recorded bool // this request recorded key (not already pending)
	switch {
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "proxies" && parts[2] == "toxics":
		var tx struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(body, &tx) != nil || tx.Name == "" {
			http.Error(w, "toxic without a name: the journal cannot record its undo", http.StatusBadRequest)
			return
		}
		key = "toxic:" + parts[1] + "/" + tx.Name
		if recorded, err = t.before(journal.Action{Key: key, Kind: journal.KindToxic, API: t.api, Proxy: parts[1], Toxic: tx.Name,
			What: fmt.Sprintf("toxic %s on proxy %s (%s)", tx.Name, parts[1], t.api)}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	case r.Method == http.MethodDelete && len(parts) == 4 && parts[0] == "proxies" && parts[2] == "toxics":
		key, undoes = "toxic:"+parts[1]+"/"+parts[3], true
	case r.Method == http.MethodPost && len(parts) == 2 && parts[0] == "proxies":
		var px struct {
			Enabled *bool `json:"enabled"`
		}
		_ = json.Unmarshal(body, &px)
		if px.Enabled != nil {
			key = "disabled:" + parts[1]
			undoes = *px.Enabled
			if !undoes {
				if recorded, err = t.before(journal.Action{Key: key, Kind: journal.KindProxy, API: t.api, Proxy: parts[1],
					What: fmt.Sprintf("proxy %s disabled (%s)", parts[1], t.api)}); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, t.api+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := t.cl.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	ok := resp.StatusCode/100 == 2
	switch {
	case key != "" && undoes && (ok || resp.StatusCode == http.StatusNotFound):
		_ = t.healed(key)
	case key != "" && !undoes && !ok && recorded:
		_ = t.healed(key) // refused: nothing was injected (a change already pending under key stays)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (t *toxiJournal) before(a journal.Action) (bool, error) {
	if t.j == nil {
		return false, nil
	}
	return t.j.Record(a)
}

func (t *toxiJournal) healed(key string) error {
	if t.j == nil {
		return nil
	}
	return t.j.Healed(key)
}
