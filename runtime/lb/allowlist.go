package lb

import (
	"encoding/json"
	"net/http"
	"strings"
)

// route is what the public entry serves at a path. Everything outside the
// allowlist (admin /regions/*, peer /cache/*, a region's /metrics and
// /health, unknown paths) is answered 404 by the LB and never reaches a
// region: the public entry is the agent API and the LB's own endpoints.
type route int

const (
	routeNone     route = iota
	routeCreate         // POST /v1/sessions
	routeSession        // GET|HEAD /v1/sessions/{id}
	routeMessage        // POST /v1/sessions/{id}/messages
	routeLBHealth       // GET|HEAD /lb/health
	routeLBStatus       // GET|HEAD /lb/status (bearer status_token when set)
	// routeRoot is GET|HEAD /: the LB's own page. It is the status page
	// (503) when no region is in rotation, else 404: browsers land here.
	routeRoot
	routeLBMetrics // GET|HEAD /lb/metrics: Prometheus (metrics.go), same token as /lb/status
)

// matchRoute maps a request path (decoded, as r.URL.Path) to its route and
// the session id it names. An id is one non-empty segment other than "."
// and ".." (a region's mux would clean those into another path); an encoded
// "/" inside it decodes into an extra segment, so it does not match.
func matchRoute(path string) (route, string) {
	switch path {
	case "/":
		return routeRoot, ""
	case "/v1/sessions":
		return routeCreate, ""
	case "/lb/health":
		return routeLBHealth, ""
	case "/lb/status":
		return routeLBStatus, ""
	case "/lb/metrics":
		return routeLBMetrics, ""
	}
	rest, ok := strings.CutPrefix(path, "/v1/sessions/")
	if !ok {
		return routeNone, ""
	}
	id, tail, more := strings.Cut(rest, "/")
	if id == "" || id == "." || id == ".." {
		return routeNone, ""
	}
	switch {
	case !more:
		return routeSession, id
	case tail == "messages":
		return routeMessage, id
	}
	return routeNone, ""
}

// methods lists what a route allows, as an Allow header says it.
func (rt route) methods() string {
	switch rt {
	case routeCreate, routeMessage:
		return http.MethodPost
	case routeNone:
		return ""
	}
	return "GET, HEAD"
}

func (rt route) allows(method string) bool {
	switch rt {
	case routeNone:
		return false
	case routeCreate, routeMessage:
		return method == http.MethodPost
	}
	return method == http.MethodGet || method == http.MethodHead
}

// proxied reports whether the route goes to a region.
func (rt route) proxied() bool {
	return rt == routeCreate || rt == routeSession || rt == routeMessage
}

// hasBody reports whether the route's method carries a body the LB reads:
// only the agent API's POSTs. Other bodies are never read (a GET's body is
// not forwarded), so a request the LB refuses costs no buffering.
func (rt route) hasBody() bool { return rt == routeCreate || rt == routeMessage }

// retryable reports whether the API contract makes a request safe to send
// to a second region: reads, and a message POST whose body carries a
// message_id (the runtime answers a repeated message_id with the stored
// reply, duplicate:true). A client's Idempotency-Key header proves nothing
// the runtime enforces, and a session create is not deduplicated, so
// neither is retried: a slow POST would run on two regions.
func retryable(rt route, method string, body []byte) bool {
	switch rt {
	case routeSession:
		return method == http.MethodGet || method == http.MethodHead
	case routeMessage:
		var v struct {
			MessageID string `json:"message_id"`
		}
		// Decoded as the region decodes it (encoding/json), so both read
		// the same message_id from the same bytes.
		return json.Unmarshal(body, &v) == nil && v.MessageID != ""
	}
	return false
}

// sessionKey is the session id a request is routed by: the path's, or the
// session_id of a POST /v1/sessions body (so a create lands where the
// session's later requests go). "" routes at random by weight.
func sessionKey(rt route, id string, body []byte) string {
	if id != "" {
		return id
	}
	if rt == routeCreate && len(body) > 0 {
		var v struct {
			SessionID string `json:"session_id"`
		}
		if json.Unmarshal(body, &v) == nil {
			return v.SessionID
		}
	}
	return ""
}

// OperatorPath reports the LB's own endpoints (/lb/health, /lb/status,
// /lb/metrics):
// cheap, answered without a region, and what an operator reads while the
// in-flight cap sheds load, so global-lb leaves them out of that cap.
func OperatorPath(r *http.Request) bool {
	rt, _ := matchRoute(r.URL.Path)
	return rt == routeLBHealth || rt == routeLBStatus || rt == routeLBMetrics
}
