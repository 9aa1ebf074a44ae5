package alertsink

import (
	"net/http"
	"strings"
	"testing"
)

func TestAlertSinkRecordsPayloads(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	post := func(body string) int {
		resp, err := http.Post(s.URL()+"/lb", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"version":"4","status":"firing","alerts":[{"labels":{"alertname":"NoHealthyRegion","severity":"page"}}]}`); code != 200 {
		t.Fatalf("status %d", code)
	}
	if code := post(`not json`); code != 400 {
		t.Errorf("malformed payload: status %d, want 400", code)
	}
	if code := post(`{"alerts":[]}`); code != 400 {
		t.Errorf("payload without status: status %d, want 400", code)
	}
	got := s.Alerts()
	if len(got) != 1 || got[0].Status != "firing" || got[0].Name != "NoHealthyRegion" || got[0].Labels["severity"] != "page" || got[0].At.IsZero() || got[0].Source != "lb" {
		t.Fatalf("alerts = %+v", got)
	}
}

// An Alertmanager notifies on-call at /alertmanager with its group's alerts:
// the source is "alertmanager" and every alert's name is kept.
func TestAlertSinkAlertmanagerNotification(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := `{"version":"4","status":"firing","receiver":"harness","groupLabels":{"alertname":"NoHealthyRegion"},
		"alerts":[{"status":"firing","labels":{"alertname":"NoHealthyRegion","source":"global-lb"}},
		          {"status":"firing","labels":{"alertname":"NoHealthyRegion","source":"agent-runtime/us-east-1"}},
		          {"status":"firing","labels":{"alertname":"RegionDown"}}]}`
	resp, err := http.Post(s.URL()+"/alertmanager", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := s.Alerts()
	if len(got) != 1 || got[0].Source != "alertmanager" || got[0].Name != "NoHealthyRegion" || strings.Join(got[0].Names, ",") != "NoHealthyRegion,RegionDown" {
		t.Fatalf("alerts = %+v", got)
	}
}
