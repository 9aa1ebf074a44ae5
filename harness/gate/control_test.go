package gate

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type controlRig struct {
	gate *Gate
	api  *httptest.Server
}

func newControlRig(t *testing.T) controlRig {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	g, err := Start("r1", up.URL, "127.0.0.1:0", 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	api := httptest.NewServer(NewControl(map[string]*Gate{"r1": g}))
	t.Cleanup(api.Close)
	return controlRig{gate: g, api: api}
}

// call sends method to the control API and decodes the reply.
func (c controlRig) call(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, c.api.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: body: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func wantSetting(t *testing.T, got map[string]any, status, rate float64, delay string) {
	t.Helper()
	if got["status"] != status || got["failure_rate"] != rate || got["delay"] != delay {
		t.Errorf("setting %v, want status %v failure_rate %v delay %s", got, status, rate, delay)
	}
}

func TestControlPutGetDelete(t *testing.T) {
	c := newControlRig(t)
	code, s := c.call(t, http.MethodGet, "/gates/r1", "")
	if code != 200 {
		t.Fatalf("GET: %d %v", code, s)
	}
	wantSetting(t, s, 0, 0, "0s")

	code, s = c.call(t, http.MethodPut, "/gates/r1", `{"status":503}`)
	if code != 200 {
		t.Fatalf("PUT: %d %v", code, s)
	}
	wantSetting(t, s, 503, 0, "0s")
	_, s = c.call(t, http.MethodGet, "/gates/r1", "")
	wantSetting(t, s, 503, 0, "0s")
	if code, _ := get(t, c.gate.URL()+"/health"); code != 503 {
		t.Errorf("gate answers %d after PUT status 503", code)
	}

	// Fields left out keep their value.
	_, s = c.call(t, http.MethodPut, "/gates/r1", `{"failure_rate":0.5,"delay":"20ms"}`)
	wantSetting(t, s, 503, 0.5, "20ms")
	if st, rate, d := c.gate.Mode(); st != 503 || rate != 0.5 || d != 20*time.Millisecond {
		t.Errorf("gate mode %d %v %v", st, rate, d)
	}
	// status 0 is pass-through, not a bad status.
	if code, s = c.call(t, http.MethodPut, "/gates/r1", `{"status":0}`); code != 200 {
		t.Errorf("PUT status 0: %d %v", code, s)
	}
	wantSetting(t, s, 0, 0.5, "20ms")

	code, s = c.call(t, http.MethodDelete, "/gates/r1", "")
	if code != 200 {
		t.Fatalf("DELETE: %d %v", code, s)
	}
	wantSetting(t, s, 0, 0, "0s")
	if st, rate, d := c.gate.Mode(); st != 0 || rate != 0 || d != 0 {
		t.Errorf("gate mode after DELETE %d %v %v", st, rate, d)
	}
	if code, body := get(t, c.gate.URL()+"/health"); code != 200 || body != "ok" {
		t.Errorf("gate after DELETE: %d %q", code, body)
	}
}

func TestControlBadBodyNamesTheField(t *testing.T) {
	c := newControlRig(t)
	c.gate.SetStatus(502)
	for _, x := range []struct{ body, field string }{
		{`{"status":42}`, "status"},
		{`{"status":600}`, "status"},
		{`{"status":"503"}`, "status"},
		{`{"failure_rate":1.5}`, "failure_rate"},
		{`{"failure_rate":-0.1}`, "failure_rate"},
		{`{"delay":"soon"}`, "delay"},
		{`{"delay":"-1s"}`, "delay"},
		{`{"stauts":503}`, "stauts"},
		{`{"status":503`, "unexpected EOF"},
		// a bad field spoils the whole PUT: the good one is not applied
		{`{"status":503,"failure_rate":2}`, "failure_rate"},
	} {
		code, s := c.call(t, http.MethodPut, "/gates/r1", x.body)
		msg, _ := s["error"].(string)
		if code != http.StatusBadRequest || s["code"] != "BAD_REQUEST" || !strings.Contains(msg, x.field) {
			t.Errorf("PUT %s: %d %v, want 400 naming %s", x.body, code, s, x.field)
		}
	}
	if st, rate, d := c.gate.Mode(); st != 502 || rate != 0 || d != 0 {
		t.Errorf("a refused PUT changed the gate: %d %v %v", st, rate, d)
	}
}

func TestControlUnknownRegion(t *testing.T) {
	c := newControlRig(t)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		code, s := c.call(t, m, "/gates/mars-1", `{"status":503}`)
		if code != http.StatusNotFound || s["code"] != "NO_SUCH_GATE" || !strings.Contains(s["error"].(string), `"mars-1"`) {
			t.Errorf("%s unknown region: %d %v", m, code, s)
		}
	}
	if st, _, _ := c.gate.Mode(); st != 0 {
		t.Errorf("a PUT to another region changed r1: %d", st)
	}
}
