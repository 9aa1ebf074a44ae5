package external

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/agentops/failover-harness/harness/target"
	"github.com/agentops/failover-harness/harness/topology"
)

// Dry is a handle on the target that touches nothing: every hook a fault
// would run and every toxiproxy change it would make is written to w
// instead, in order (`chaos run --dry-run`). Reads (status, metrics) are
// not available; only faults' Available, Inject and heal are meant to run
// against it. Close stops its in-process recorder.
func Dry(f *target.File, spec topology.Spec, w io.Writer) (topology.Cluster, error) {
	c := &cluster{p: &Provider{File: f}, f: f, spec: spec, http: &http.Client{Timeout: time.Second},
		paused: map[string]bool{}, down: map[string]bool{}, dry: &lockedWriter{w: w}}
	if t := f.Toxiproxy; t != nil {
		rec, err := startDryToxi(t.URL, c.dry)
		if err != nil {
			return nil, err
		}
		c.dryToxi = rec
		c.toxi = toxiproxy.NewClient(rec.url)
		c.links = map[string]string{}
		for l, p := range t.Links {
			c.links[l] = p
		}
		if len(t.Links) == 0 { // every proxy named like a link: assume each link is there
			for _, r := range spec.Regions {
				for _, l := range topology.RegionLinks(spec, r.Name) {
					c.links[l] = l
				}
			}
		}
	}
	return c, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}

// dryToxi answers the toxiproxy client as the API would and prints every
// change instead of making it.
type dryToxi struct {
	api string
	out *lockedWriter
	srv *http.Server
	url string
}

func startDryToxi(api string, out *lockedWriter) (*dryToxi, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dry run: %w", err)
	}
	d := &dryToxi{api: api, out: out, url: "http://" + ln.Addr().String()}
	d.srv = &http.Server{Handler: d, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = d.srv.Serve(ln) }()
	return d, nil
}

func (d *dryToxi) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && len(parts) == 2: // a proxy, as Link reads it
		_ = json.NewEncoder(w).Encode(map[string]any{"name": parts[1], "listen": "", "upstream": "", "enabled": true, "toxics": []any{}})
		return
	case r.Method == http.MethodGet:
		_, _ = w.Write([]byte("[]"))
		return
	case r.Method == http.MethodPost && len(parts) == 3:
		var tx struct {
			Name       string         `json:"name"`
			Type       string         `json:"type"`
			Stream     string         `json:"stream"`
			Attributes map[string]any `json:"attributes"`
		}
		_ = json.Unmarshal(body, &tx)
		d.out.printf("    toxiproxy %s: add %s toxic %s (%s, %v) to proxy %s\n", d.api, tx.Type, tx.Name, tx.Stream, tx.Attributes, parts[1])
	case r.Method == http.MethodDelete && len(parts) == 4:
		d.out.printf("    toxiproxy %s: remove toxic %s from proxy %s\n", d.api, parts[3], parts[1])
		w.WriteHeader(http.StatusNoContent)
		return
	case r.Method == http.MethodPost && len(parts) == 2:
		var px struct {
			Enabled *bool `json:"enabled"`
		}
		_ = json.Unmarshal(body, &px)
		state := "update"
		if px.Enabled != nil && *px.Enabled {
			state = "enable"
		} else if px.Enabled != nil {
			state = "disable"
		}
		d.out.printf("    toxiproxy %s: %s proxy %s\n", d.api, state, parts[1])
	default:
		d.out.printf("    toxiproxy %s: %s %s\n", d.api, r.Method, r.URL.Path)
	}
	_, _ = w.Write(body)
}
