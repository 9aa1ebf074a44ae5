// Package dynamotest serves an embedded DynamoDB-compatible endpoint (minidyn) on a real
// 127.0.0.1 TCP port, so the store is always exercised through the AWS SDK's HTTP stack.
//
// minidyn v0.8.2 gaps this package papers over in its wrapping handler:
//   - UpdateTimeToLive / DescribeTimeToLive are not implemented: answered here (TTL settings
//     are recorded; expiry itself is enforced by the store on read, SPEC §5 defect 7).
//   - PutItem always returns the NEW item as Attributes and ignores ReturnValues: the wrapper
//     reads the old item first and returns it for ReturnValues=ALL_OLD (nothing otherwise),
//     and attaches it to a ConditionalCheckFailedException when
//     ReturnValuesOnConditionCheckFailure=ALL_OLD, as DynamoDB does.
//
// All requests are serialised by one mutex so the read-old-then-put pair is atomic.
package dynamotest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truora/minidyn/server"
)

// EnvEndpoint names the variable that points tests at an external endpoint (DynamoDB Local).
const EnvEndpoint = "DYNAMODB_ENDPOINT"

// Server is a running embedded endpoint.
type Server struct {
	URL string // http://127.0.0.1:port

	srv  *http.Server
	done chan struct{}
}

// Start listens on addr ("127.0.0.1:0" for a free port) and serves until Close.
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dynamotest: listen %q: %w", addr, err)
	}
	s := &Server{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: NewHandler(), ReadHeaderTimeout: 10 * time.Second,
			// minidyn writes the status twice on some conditional-check
			// answers; net/http's "superfluous WriteHeader" notice about it
			// would otherwise land on the terminal of whoever embeds this.
			ErrorLog: log.New(io.Discard, "", 0)},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed on Close
	}()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return strings.TrimPrefix(s.URL, "http://") }

// Close stops the listener and drops open connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}

// Endpoint returns $DYNAMODB_ENDPOINT when set (e.g. DynamoDB Local), else starts an
// embedded server that is closed when the test ends.
func Endpoint(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		return ep
	}
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("dynamotest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.URL
}

// NewHandler returns the minidyn JSON API handler with the gaps listed in the package doc filled.
func NewHandler() http.Handler {
	return &handler{inner: server.NewServer(), ttl: map[string]string{}, keys: map[string][]string{}}
}

type handler struct {
	mu    sync.Mutex
	inner http.Handler
	ttl   map[string]string   // table -> TTL attribute name (enabled)
	keys  map[string][]string // table -> key attribute names, cached from DescribeTable
}

const maxBody = 16 << 20 // DynamoDB's own item limit is 400 KB; this only guards the test server

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "SerializationException", "read body: "+err.Error())
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]

	h.mu.Lock()
	defer h.mu.Unlock()
	switch op {
	case "UpdateTimeToLive":
		h.updateTTL(w, body)
	case "DescribeTimeToLive":
		h.describeTTL(w, body)
	case "PutItem":
		h.putItem(w, r, body)
	default:
		if op == "DeleteTable" {
			var in struct{ TableName string }
			if json.Unmarshal(body, &in) == nil {
				delete(h.ttl, in.TableName)
				delete(h.keys, in.TableName)
			}
		}
		h.forward(w, r, body)
	}
}

// call runs one request against minidyn and returns the recorded response.
func (h *handler) call(r *http.Request, op string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if r != nil {
		req = req.WithContext(r.Context())
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	h.inner.ServeHTTP(rec, req)
	return rec
}

func (h *handler) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.inner.ServeHTTP(w, r)
}

func (h *handler) updateTTL(w http.ResponseWriter, body []byte) {
	var in struct {
		TableName               string
		TimeToLiveSpecification struct {
			AttributeName string
			Enabled       bool
		}
	}
	if err := json.Unmarshal(body, &in); err != nil || in.TableName == "" || in.TimeToLiveSpecification.AttributeName == "" {
		writeErr(w, http.StatusBadRequest, "ValidationException", "TableName and TimeToLiveSpecification.AttributeName are required")
		return
	}
	if _, err := h.keySchema(in.TableName); err != nil {
		writeErr(w, http.StatusBadRequest, "ResourceNotFoundException", err.Error())
		return
	}
	if in.TimeToLiveSpecification.Enabled {
		h.ttl[in.TableName] = in.TimeToLiveSpecification.AttributeName
	} else {
		delete(h.ttl, in.TableName)
	}
	writeJSON(w, map[string]any{"TimeToLiveSpecification": in.TimeToLiveSpecification})
}

func (h *handler) describeTTL(w http.ResponseWriter, body []byte) {
	var in struct{ TableName string }
	if err := json.Unmarshal(body, &in); err != nil || in.TableName == "" {
		writeErr(w, http.StatusBadRequest, "ValidationException", "TableName is required")
		return
	}
	desc := map[string]string{"TimeToLiveStatus": "DISABLED"}
	if attr, ok := h.ttl[in.TableName]; ok {
		desc = map[string]string{"TimeToLiveStatus": "ENABLED", "AttributeName": attr}
	}
	writeJSON(w, map[string]any{"TimeToLiveDescription": desc})
}

// keySchema returns the table's key attribute names (cached; the schema is immutable).
func (h *handler) keySchema(table string) ([]string, error) {
	if k, ok := h.keys[table]; ok {
		return k, nil
	}
	req, _ := json.Marshal(map[string]string{"TableName": table})
	rec := h.call(nil, "DescribeTable", req)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("table %q: %s", table, strings.TrimSpace(rec.Body.String()))
	}
	var out struct {
		Table struct {
			KeySchema []struct{ AttributeName string }
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		return nil, err
	}
	var names []string
	for _, k := range out.Table.KeySchema {
		names = append(names, k.AttributeName)
	}
	if len(names) == 0 {
		return nil, errors.New("table " + table + " has no key schema")
	}
	h.keys[table] = names
	return names, nil
}

func (h *handler) putItem(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		TableName                           string
		Item                                map[string]json.RawMessage
		ReturnValues                        string
		ReturnValuesOnConditionCheckFailure string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		h.forward(w, r, body) // let minidyn produce its own validation error
		return
	}
	var old json.RawMessage
	if keys, err := h.keySchema(in.TableName); err == nil {
		key := map[string]json.RawMessage{}
		for _, k := range keys {
			if v, ok := in.Item[k]; ok {
				key[k] = v
			}
		}
		if len(key) == len(keys) {
			req, _ := json.Marshal(map[string]any{"TableName": in.TableName, "Key": key, "ConsistentRead": true})
			if rec := h.call(r, "GetItem", req); rec.Code == http.StatusOK {
				var got struct{ Item json.RawMessage }
				if json.Unmarshal(rec.Body.Bytes(), &got) == nil && len(got.Item) > 0 && string(got.Item) != "null" {
					old = got.Item
				}
			}
		}
	}

	rec := h.call(r, "PutItem", body)
	switch {
	case rec.Code == http.StatusOK:
		out := map[string]any{}
		if in.ReturnValues == "ALL_OLD" && old != nil {
			out["Attributes"] = old
		}
		writeJSON(w, out)
	case in.ReturnValuesOnConditionCheckFailure == "ALL_OLD" && old != nil &&
		bytes.Contains(rec.Body.Bytes(), []byte("ConditionalCheckFailedException")):
		var e map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &e) != nil {
			copyRecorded(w, rec)
			return
		}
		e["Item"] = old
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(rec.Code)
		_ = json.NewEncoder(w).Encode(e)
	default:
		copyRecorded(w, rec)
	}
}

func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}
