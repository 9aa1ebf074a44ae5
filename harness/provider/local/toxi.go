package local

import (
	"errors"
	"net"
	"net/http"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// toxiServer is toxiproxy's API server embedded in this process, on a listener
// we own so the port is known before anyone talks to it.
type toxiServer struct {
	api *toxiproxy.ApiServer
	srv *http.Server
	url string
}

func startToxiproxy() (*toxiServer, error) {
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &toxiServer{api: api, url: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: api.Routes(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// close stops the API and every proxy (closing their listeners and links).
func (s *toxiServer) close() error {
	err := s.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	_ = s.api.Collection.Clear()
	return err
}
