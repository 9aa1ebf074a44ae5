// Package alert sends Alertmanager webhook (version 4) notifications, once
// per incident: a firing alert is sent once, further Fires while it is firing
// are suppressed, and Resolve sends one resolved notification.
package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Alert is one alert in an Alertmanager webhook payload.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Payload is the Alertmanager webhook v4 body.
type Payload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// AlertStats counts what the sender did.
type AlertStats struct {
	Sent       int `json:"sent"`       // webhook POSTs answered 2xx
	Failed     int `json:"failed"`     // webhook POSTs that errored or got non-2xx
	Suppressed int `json:"suppressed"` // Fire calls while already firing, Resolve calls while not firing
	Skipped    int `json:"skipped"`    // notifications not sent because no webhook is configured
}

type incident struct {
	alert Alert
}

// Sender posts alerts to one webhook. Safe for concurrent use.
type Sender struct {
	webhook string
	client  *http.Client
	source  string

	mu      sync.Mutex
	firing  map[string]*incident
	stats   AlertStats
	sending sync.Mutex // serialises POSTs so firing/resolved order is kept
}

// Receiver is the receiver name put in payloads.
const Receiver = "failover-harness"

// NewSender returns a sender posting to webhook. An empty webhook disables
// sending (calls succeed and count as Skipped). A nil client gets one with a
// 5 s timeout. source is added as the "source" label of every alert.
func NewSender(webhook string, client *http.Client, source string) *Sender {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &Sender{webhook: webhook, client: client, source: source, firing: map[string]*incident{}}
}

// Firing reports whether alertname is currently firing.
func (s *Sender) Firing(alertname string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firing[alertname] != nil
}

// Fire sends a firing alert unless alertname is already firing. labels may
// carry severity (default "critical"), region and anything else. If the POST
// fails the incident is not recorded, so a later Fire retries.
func (s *Sender) Fire(ctx context.Context, alertname, summary string, labels map[string]string) error {
	if alertname == "" {
		return fmt.Errorf("alertname: must not be empty")
	}
	s.mu.Lock()
	if s.firing[alertname] != nil {
		s.stats.Suppressed++
		s.mu.Unlock()
		return nil
	}
	l := maps.Clone(labels)
	if l == nil {
		l = map[string]string{}
	}
	l["alertname"] = alertname
	if l["severity"] == "" {
		l["severity"] = "critical"
	}
	if s.source != "" && l["source"] == "" {
		l["source"] = s.source
	}
	inc := &incident{alert: Alert{
		Status: "firing", Labels: l,
		Annotations: map[string]string{"summary": summary, "description": describe(summary, l)},
		StartsAt:    time.Now().UTC(),
		Fingerprint: fingerprint(l),
	}}
	// Claim the incident before sending so concurrent Fires do not both send.
	s.firing[alertname] = inc
	s.mu.Unlock()

	err := s.send(ctx, inc.alert)
	if err != nil {
		s.mu.Lock()
		if s.firing[alertname] == inc {
			delete(s.firing, alertname)
		}
		s.mu.Unlock()
	}
	return err
}

// Resolve sends one resolved notification if alertname is firing.
func (s *Sender) Resolve(ctx context.Context, alertname string) error {
	s.mu.Lock()
	inc := s.firing[alertname]
	if inc == nil {
		s.stats.Suppressed++
		s.mu.Unlock()
		return nil
	}
	delete(s.firing, alertname)
	s.mu.Unlock()
	a := inc.alert
	a.Status = "resolved"
	a.EndsAt = time.Now().UTC()
	return s.send(ctx, a)
}

// Stats returns a snapshot of the counters.
func (s *Sender) Stats() AlertStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Sender) count(f func(*AlertStats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func (s *Sender) send(ctx context.Context, a Alert) error {
	if s.webhook == "" {
		s.count(func(st *AlertStats) { st.Skipped++ })
		return nil
	}
	name := a.Labels["alertname"]
	p := Payload{
		Version: "4", GroupKey: fmt.Sprintf("{}:{alertname=%q}", name), Status: a.Status,
		Receiver: Receiver, GroupLabels: map[string]string{"alertname": name},
		CommonLabels: a.Labels, CommonAnnotations: a.Annotations, Alerts: []Alert{a},
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("alert: encode payload: %w", err)
	}
	s.sending.Lock()
	defer s.sending.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.webhook, bytes.NewReader(body))
	if err != nil {
		s.count(func(st *AlertStats) { st.Failed++ })
		return fmt.Errorf("alert: webhook %q: %w", s.webhook, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		s.count(func(st *AlertStats) { st.Failed++ })
		return fmt.Errorf("alert: post %s: %w", a.Status, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.count(func(st *AlertStats) { st.Failed++ })
		return fmt.Errorf("alert: post %s: webhook answered HTTP %d", a.Status, resp.StatusCode)
	}
	s.count(func(st *AlertStats) { st.Sent++ })
	return nil
}

func describe(summary string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+labels[k])
	}
	return summary + " (" + strings.Join(parts, ", ") + ")"
}

// fingerprint is a stable id of the label set, as Alertmanager provides.
func fingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
