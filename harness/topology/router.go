package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// RouterStatus is the body of a region's GET /regions: its router's view of
// every region, the status changes the router made and its failover
// manager's health-loop timing. ReadRouter returns it with AlignClock
// applied: every time is then on the harness's clock.
type RouterStatus struct {
	Self    string `json:"self"`
	Current string `json:"current"` // the primary this region's failover manager names
	// Now is the region's clock when it built the body (read last).
	Now     time.Time `json:"now"`
	Regions []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"regions"`
	Transitions      []Transition   `json:"transitions"`
	TransitionsTotal int64          `json:"transitions_total"`
	Health           LBHealthRounds `json:"health"`
	ClockAligned     bool           `json:"clock_aligned,omitempty"`
}

// Status returns the router's status of the named region ("" when absent).
func (s RouterStatus) Status(name string) string {
	for _, r := range s.Regions {
		if r.Name == name {
			return r.Status
		}
	}
	return ""
}

// AlignClock moves the transitions' and rounds' times onto the caller's
// clock by their age on the region's clock, as LBStatus.AlignClock does: a
// region's clock may be skewed and is never compared with the harness's.
func (s *RouterStatus) AlignClock(received time.Time) {
	if s.ClockAligned || s.Now.IsZero() {
		return
	}
	local := byAge(s.Now, received)
	s.Transitions = alignTransitions(s.Transitions, local)
	s.Health = alignRounds(s.Health, local)
	s.Now = received
	s.ClockAligned = true
}

// ReadRouter reads region r's GET /regions with the admin token and aligns
// its clock.
func ReadRouter(ctx context.Context, cl *http.Client, r Region, token string) (RouterStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/regions", nil)
	if err != nil {
		return RouterStatus{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := cl.Do(req)
	if err != nil {
		return RouterStatus{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	received := time.Now()
	if err != nil {
		return RouterStatus{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return RouterStatus{}, fmt.Errorf("GET %s/regions: %s", r.Name, resp.Status)
	}
	var st RouterStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return RouterStatus{}, fmt.Errorf("GET %s/regions: %w", r.Name, err)
	}
	st.AlignClock(received)
	return st, nil
}
