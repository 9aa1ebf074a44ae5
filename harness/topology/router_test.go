package topology

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A region whose clock runs an hour ahead: its transitions and rounds land
// on the harness's clock by their age, never by comparing the two clocks.
func TestReadRouterAlignsByAge(t *testing.T) {
	const skew = time.Hour
	truth := time.Now()
	rc := func(d time.Duration) string { return truth.Add(d).Add(skew).UTC().Format(time.RFC3339Nano) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"self":"eu-west-1","current":"us-east-1","now":%q,
 "regions":[{"name":"us-east-1","status":"active"},{"name":"eu-west-1","status":"down"}],
 "transitions":[{"region":"us-east-1","from":"down","to":"active","at":%q}],"transitions_total":3,
 "health":{"enabled":true,"interval_seconds":0.15,"rounds":1,"recent":[{"started":%q,"late_seconds":0.01,"took_seconds":0.002}]}}`,
			rc(0), rc(-300*time.Millisecond), rc(-time.Second))
	}))
	defer srv.Close()
	st, err := ReadRouter(context.Background(), srv.Client(), Region{Name: "eu-west-1", URL: srv.URL}, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if !st.ClockAligned || st.Status("us-east-1") != "active" || st.Status("eu-west-1") != "down" || st.Status("x") != "" || st.TransitionsTotal != 3 {
		t.Fatalf("status %+v", st)
	}
	// Aligned times are never earlier than the truth, late by at most the
	// round trip; an hour of skew would show at once.
	if d := st.Transitions[0].At.Sub(truth.Add(-300 * time.Millisecond)); d < 0 || d > 5*time.Second {
		t.Fatalf("transition off by %v", d)
	}
	if d := st.Health.Recent[0].Started.Sub(truth.Add(-time.Second)); d < 0 || d > 5*time.Second {
		t.Fatalf("round off by %v", d)
	}
	if _, err := ReadRouter(context.Background(), srv.Client(), Region{Name: "eu-west-1", URL: srv.URL}, "wrong"); err == nil {
		t.Fatal("a refused read returned no error")
	}
}
