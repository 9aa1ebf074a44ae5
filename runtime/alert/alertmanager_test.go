package alert

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// amServer records what an Alertmanager's POST /api/v2/alerts receives.
type amServer struct {
	mu    sync.Mutex
	posts [][]postable
	at    []time.Time
}

func newAM(t *testing.T) (*amServer, *httptest.Server) {
	am := &amServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" {
			t.Errorf("Alertmanager got %s %s, want POST /api/v2/alerts", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		var ps []postable
		if err := json.NewDecoder(r.Body).Decode(&ps); err != nil {
			t.Errorf("postable alerts: %v", err)
		}
		am.mu.Lock()
		am.posts = append(am.posts, ps)
		am.at = append(am.at, time.Now())
		am.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return am, srv
}

func (a *amServer) snapshot() ([][]postable, []time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([][]postable(nil), a.posts...), append([]time.Time(nil), a.at...)
}

// The API v2 client: a firing alert is posted with endsAt ahead of its next
// re-send, re-sent by a Fire once it is due (never before), and resolved by
// an endsAt of now; the webhook still gets exactly one firing and one
// resolved notification.
func TestAlertmanagerAPIResendAndResolve(t *testing.T) {
	am, amSrv := newAM(t)
	rc, hook := newReceiver(t)
	const resend = 50 * time.Millisecond
	s := NewSenderWith(hook.URL, nil, "global-lb", Options{Alertmanager: amSrv.URL + "/", Resend: resend})
	ctx := context.Background()

	before := time.Now()
	if err := s.Fire(ctx, "NoHealthyRegion", "no region", map[string]string{"component": "global-lb"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Fire(ctx, "NoHealthyRegion", "no region", nil); err != nil { // not due: nothing posted
		t.Fatal(err)
	}
	posts, _ := am.snapshot()
	if len(posts) != 1 || len(posts[0]) != 1 {
		t.Fatalf("after two Fires within the resend interval: %d posts, want 1", len(posts))
	}
	p := posts[0][0]
	if p.Labels["alertname"] != "NoHealthyRegion" || p.Labels["source"] != "global-lb" || p.Labels["severity"] != "critical" {
		t.Errorf("labels %v", p.Labels)
	}
	if p.StartsAt.Before(before.Add(-time.Second)) || !p.EndsAt.After(p.StartsAt.Add(3*resend)) {
		t.Errorf("firing: startsAt %v endsAt %v, want endsAt about 4 × resend after now", p.StartsAt, p.EndsAt)
	}
	// Fires keep coming while the condition holds; once one is due it re-sends.
	deadline := time.Now().Add(5 * time.Second)
	for {
		posts, _ = am.snapshot()
		if len(posts) >= 2 || time.Now().After(deadline) {
			break
		}
		_ = s.Fire(ctx, "NoHealthyRegion", "no region", nil)
		time.Sleep(resend / 5) // the caller's round, not a wait for a condition
	}
	posts, at := am.snapshot()
	if len(posts) < 2 {
		t.Fatalf("a firing alert was never re-sent to the Alertmanager")
	}
	if gap := at[1].Sub(at[0]); gap < resend {
		t.Errorf("re-sent after %v, before the resend interval %v", gap, resend)
	}
	if !posts[1][0].StartsAt.Equal(p.StartsAt) {
		t.Errorf("a re-send moved startsAt: %v then %v", p.StartsAt, posts[1][0].StartsAt)
	}
	if err := s.Resolve(ctx, "NoHealthyRegion"); err != nil {
		t.Fatal(err)
	}
	posts, _ = am.snapshot()
	last := posts[len(posts)-1][0]
	if last.EndsAt.After(time.Now()) || last.EndsAt.Before(last.StartsAt) {
		t.Errorf("resolved: endsAt %v, want now (after startsAt %v)", last.EndsAt, last.StartsAt)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.payloads) != 2 || rc.payloads[0].Status != "firing" || rc.payloads[1].Status != "resolved" {
		t.Errorf("webhook got %d payloads, want firing then resolved", len(rc.payloads))
	}
}

// Without a webhook, alerts go to the Alertmanager alone.
func TestAlertmanagerOnly(t *testing.T) {
	am, amSrv := newAM(t)
	s := NewSenderWith("", nil, "", Options{Alertmanager: amSrv.URL})
	if err := s.Fire(context.Background(), "X", "x", nil); err != nil {
		t.Fatal(err)
	}
	if posts, _ := am.snapshot(); len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	if st := s.Stats(); st.Sent != 1 || st.Skipped != 0 {
		t.Errorf("stats %+v, want one sent", st)
	}
}
