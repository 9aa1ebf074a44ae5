// Package alert sends alerts, once per incident, to an Alertmanager webhook
// (version 4 payloads: a firing alert is sent once, further Fires while it
// is firing are suppressed, and Resolve sends one resolved notification)
// and/or to an Alertmanager's API v2 (POST /api/v2/alerts: the firing alert
// is re-sent while it fires, as Alertmanager expects of its clients, with
// an endsAt ahead of the next re-send; Resolve sends endsAt = now).
package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	alert  Alert
	posted time.Time // last POST to the Alertmanager API
}

// Sender posts alerts to one webhook and/or one Alertmanager. Safe for
// concurrent use.
type Sender struct {
	webhook string
	client  *http.Client
	source  string
	am      string        // Alertmanager base URL; empty: none
	resend  time.Duration // re-send interval of a firing alert to the Alertmanager

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
	return NewSenderWith(webhook, client, source, Options{})
}

// Options are a Sender's Alertmanager API settings.
type Options struct {
	// Alertmanager is the base URL of an Alertmanager (API v2); empty: none.
	Alertmanager string
	// Resend is how often a firing alert is re-sent to the Alertmanager
	// (each Fire call while firing re-sends once it is due); default 1m,
	// Prometheus's resend delay. Each carries endsAt = now + 4 × Resend, so
	// an alert whose sender died resolves by itself.
	Resend time.Duration
}

// DefaultResend is Options.Resend's default.
const DefaultResend = time.Minute

// NewSenderWith is NewSender that also (or only, with an empty webhook)
// sends to an Alertmanager's API.
func NewSenderWith(webhook string, client *http.Client, source string, o Options) *Sender {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	if o.Resend <= 0 {
		o.Resend = DefaultResend
	}
	return &Sender{webhook: webhook, client: client, source: source, am: strings.TrimRight(o.Alertmanager, "/"), resend: o.Resend, firing: map[string]*incident{}}
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
	if inc := s.firing[alertname]; inc != nil {
		s.stats.Suppressed++
		due := s.am != "" && time.Since(inc.posted) >= s.resend
		if due {
			inc.posted = time.Now()
		}
		a := inc.alert
		s.mu.Unlock()
		if due { // still firing: tell the Alertmanager before its endsAt passes
			return s.postAM(ctx, a, false)
		}
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
	inc.posted = time.Now()
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

// send delivers a to every destination configured.
func (s *Sender) send(ctx context.Context, a Alert) error {
	if s.webhook == "" && s.am == "" {
		s.count(func(st *AlertStats) { st.Skipped++ })
		return nil
	}
	var errs []error
	if s.webhook != "" {
		errs = append(errs, s.sendWebhook(ctx, a))
	}
	if s.am != "" {
		errs = append(errs, s.postAM(ctx, a, a.Status == "resolved"))
	}
	return errors.Join(errs...)
}

// postable is an alert as Alertmanager's API v2 takes it.
type postable struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// postAM posts a to the Alertmanager's API v2: firing with endsAt ahead of
// the next re-send, or resolved with endsAt now.
func (s *Sender) postAM(ctx context.Context, a Alert, resolved bool) error {
	now := time.Now().UTC()
	p := postable{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, EndsAt: now.Add(4 * s.resend)}
	if resolved {
		p.EndsAt = now
	}
	body, err := json.Marshal([]postable{p})
	if err != nil {
		return fmt.Errorf("alert: encode postable alert: %w", err)
	}
	return s.post(ctx, s.am+"/api/v2/alerts", body, a.Status)
}

func (s *Sender) sendWebhook(ctx context.Context, a Alert) error {
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
	return s.post(ctx, s.webhook, body, a.Status)
}

// post sends one body, in order with every other (firing before resolved).
func (s *Sender) post(ctx context.Context, url string, body []byte, status string) error {
	s.sending.Lock()
	defer s.sending.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		s.count(func(st *AlertStats) { st.Failed++ })
		return fmt.Errorf("alert: %q: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		s.count(func(st *AlertStats) { st.Failed++ })
		return fmt.Errorf("alert: post %s to %s: %w", status, url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.count(func(st *AlertStats) { st.Failed++ })
		return fmt.Errorf("alert: post %s to %s: answered HTTP %d", status, url, resp.StatusCode)
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
