package alert

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

type receiver struct {
	mu       sync.Mutex
	payloads []Payload
	raw      []map[string]any
	code     int
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	rc := &receiver{code: 200}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p Payload
		var raw map[string]any
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&raw); err != nil {
			t.Errorf("bad payload: %v", err)
		}
		b, _ := json.Marshal(raw)
		_ = json.Unmarshal(b, &p)
		rc.mu.Lock()
		rc.payloads = append(rc.payloads, p)
		rc.raw = append(rc.raw, raw)
		code := rc.code
		rc.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return rc, srv
}

func TestFireDedupeResolve(t *testing.T) {
	rc, srv := newReceiver(t)
	s := NewSender(srv.URL, nil, "global-lb")
	ctx := context.Background()
	if err := s.Fire(ctx, "NoHealthyRegion", "no region healthy", map[string]string{"region": "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := s.Fire(ctx, "NoHealthyRegion", "again", nil); err != nil {
			t.Fatal(err)
		}
	}
	if !s.Firing("NoHealthyRegion") {
		t.Fatal("not firing after Fire")
	}
	if err := s.Resolve(ctx, "NoHealthyRegion"); err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(ctx, "NoHealthyRegion"); err != nil { // not firing: no-op
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.payloads) != 2 {
		t.Fatalf("webhook got %d posts, want 2 (firing, resolved)", len(rc.payloads))
	}
	f, r := rc.payloads[0], rc.payloads[1]
	if f.Version != "4" || f.Status != "firing" || f.Receiver == "" || f.GroupKey == "" || len(f.Alerts) != 1 {
		t.Fatalf("firing payload shape: %+v", f)
	}
	a := f.Alerts[0]
	if a.Status != "firing" || a.Labels["alertname"] != "NoHealthyRegion" || a.Labels["severity"] != "critical" ||
		a.Labels["region"] != "us-east-1" || a.Labels["source"] != "global-lb" || a.Annotations["summary"] != "no region healthy" ||
		a.Annotations["description"] == "" || a.StartsAt.IsZero() {
		t.Fatalf("firing alert: %+v", a)
	}
	if f.CommonLabels["alertname"] != "NoHealthyRegion" {
		t.Fatalf("commonLabels: %v", f.CommonLabels)
	}
	for _, k := range []string{"version", "groupKey", "status", "receiver", "alerts", "commonLabels", "commonAnnotations", "groupLabels", "externalURL", "truncatedAlerts"} {
		if _, ok := rc.raw[0][k]; !ok {
			t.Errorf("payload lacks %q", k)
		}
	}
	if r.Status != "resolved" || r.Alerts[0].Status != "resolved" || r.Alerts[0].EndsAt.Before(a.StartsAt) {
		t.Fatalf("resolved payload: %+v", r)
	}
	if r.Alerts[0].Fingerprint != a.Fingerprint {
		t.Fatal("resolved alert has a different fingerprint")
	}
	st := s.Stats()
	if st.Sent != 2 || st.Suppressed != 4 || st.Failed != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestFailedSendIsRetriedByNextFire(t *testing.T) {
	rc, srv := newReceiver(t)
	rc.code = 500
	s := NewSender(srv.URL, nil, "")
	if err := s.Fire(context.Background(), "A", "x", nil); err == nil {
		t.Fatal("want an error for a 500 webhook")
	}
	if s.Firing("A") {
		t.Fatal("failed send must not leave the incident marked as notified")
	}
	rc.mu.Lock()
	rc.code = 200
	rc.mu.Unlock()
	if err := s.Fire(context.Background(), "A", "x", nil); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Sent != 1 || st.Failed != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestConcurrentFireSendsOnce(t *testing.T) {
	rc, srv := newReceiver(t)
	s := NewSender(srv.URL, nil, "")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() { _ = s.Fire(context.Background(), "A", "x", nil) })
	}
	wg.Wait()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.payloads) != 1 {
		t.Fatalf("got %d posts, want 1", len(rc.payloads))
	}
}

func TestDisabled(t *testing.T) {
	s := NewSender("", nil, "")
	if err := s.Fire(context.Background(), "A", "x", nil); err != nil {
		t.Fatal(err)
	}
	_ = s.Fire(context.Background(), "A", "x", nil)
	if err := s.Resolve(context.Background(), "A"); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Skipped != 2 || st.Sent != 0 || st.Suppressed != 1 {
		t.Fatalf("stats = %+v", st)
	}
}
