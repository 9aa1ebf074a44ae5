package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Get reads url with an optional bearer token: the body of a 200, an
// error naming the URL and status otherwise. Bodies are capped at 8 MiB.
func Get(ctx context.Context, cl *http.Client, url, token string) ([]byte, error) {
	b, _, err := get(ctx, cl, url, token)
	return b, err
}

func get(ctx context.Context, cl *http.Client, url, token string) ([]byte, time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	received := time.Now() // after the whole body: later than the sender built it
	if err != nil {
		return nil, received, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, received, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return body, received, nil
}

// ReadLBStatus reads the LB's GET /lb/status (bearer token, when it asks
// for one) with its times moved onto the caller's clock (AlignClock): the
// LB's clock is never compared with the harness's.
func ReadLBStatus(ctx context.Context, cl *http.Client, lbURL, token string) (LBStatus, error) {
	var st LBStatus
	body, received, err := get(ctx, cl, lbURL+"/lb/status", token)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("lb status: %w", err)
	}
	st.AlignClock(received)
	return st, nil
}
