// Package traffic simulates users talking to the agent runtime through the
// global LB and records every operation into a history.History.
package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/history"
)

// Config bounds a traffic run. Every user stops at Duration or MaxMessages,
// whichever comes first.
type Config struct {
	LBURL          string
	Users          int           // default 6
	ClientRegions  []string      // users are spread over these; default the three seed regions
	Interval       time.Duration // pause between a user's operations; default 50ms
	Duration       time.Duration // default 5s
	MaxMessages    int           // per user, acknowledged or not; default 100
	MaxRetries     int           // resends of one message id after a failure; default 20
	RequestTimeout time.Duration // per request; default 2s
	Seed           int64
	UserPrefix     string // user/session id prefix; default "u"
	HTTP           *http.Client
	Log            io.Writer
}

func (c Config) withDefaults() Config {
	if c.Users <= 0 {
		c.Users = 6
	}
	if len(c.ClientRegions) == 0 {
		c.ClientRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-1"}
	}
	if c.Interval <= 0 {
		c.Interval = 50 * time.Millisecond
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.MaxMessages <= 0 {
		c.MaxMessages = 100
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 20
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 2 * time.Second
	}
	if c.UserPrefix == "" {
		c.UserPrefix = "u"
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{}
	}
	return c
}

// Result names what the users ended with.
type Result struct {
	Sessions map[string]string // user -> latest session id
	All      []string          // every session id ever created, in creation order
	Acked    int               // 2xx message answers
	Failed   int               // non-2xx or transport errors, all kinds
}

// Client performs single recorded operations against the LB.
type Client struct {
	cfg Config
	h   *history.History

	mu       sync.Mutex
	inflight map[int64]Pending
	next     int64
}

// Pending is a request sent and not answered yet.
type Pending struct {
	Kind, User, Session string
	Start               time.Time
}

// NewClient returns a client recording into h.
func NewClient(cfg Config, h *history.History) *Client {
	return &Client{cfg: cfg.withDefaults(), h: h, inflight: map[int64]Pending{}}
}

// InFlight lists the requests sent and not yet answered, so a scenario can
// break a region while work is on its way to it.
func (c *Client) InFlight() []Pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Pending, 0, len(c.inflight))
	for _, p := range c.inflight {
		out = append(out, p)
	}
	return out
}

func (c *Client) begin(op history.Op) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	c.inflight[c.next] = Pending{Kind: op.Kind, User: op.User, Session: op.Session, Start: op.Start}
	return c.next
}

func (c *Client) end(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, id)
}

type apiAnswer struct {
	SessionID      string `json:"session_id"`
	Version        int64  `json:"version"`
	MessageVersion int64  `json:"message_version"`
	Cache          string `json:"cache"`
	Durable        bool   `json:"durable"`
	Duplicate      bool   `json:"duplicate"`
	Code           string `json:"code"`
	Error          string `json:"error"`
	Messages       []struct {
		ID      string `json:"id"`
		Role    string `json:"role"`
		Version int64  `json:"version"`
	} `json:"messages"`
	Reply struct {
		ToolCalls []struct {
			Name string `json:"name"`
		} `json:"tool_calls"`
	} `json:"reply"`
}

// do sends one request and records it as op (kind/user/session/message set by caller).
func (c *Client) do(ctx context.Context, op history.Op, method, path string, body any, hdr map[string]string) (history.Op, apiAnswer) {
	var ans apiAnswer
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	op.Start = time.Now()
	defer c.end(c.begin(op))
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.LBURL+path, rd)
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Client-Region", op.Client)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		var resp *http.Response
		resp, err = c.cfg.HTTP.Do(req)
		if err == nil {
			op.Status = resp.StatusCode
			op.ServedBy = resp.Header.Get("X-Served-By")
			b, rerr := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
			resp.Body.Close()
			if rerr != nil {
				err = rerr
			} else if len(b) > 0 {
				if jerr := json.Unmarshal(b, &ans); jerr != nil && op.OK() {
					err = fmt.Errorf("decode answer: %w", jerr)
				}
			}
		}
	}
	op.End = time.Now()
	if err != nil && op.Status == 0 && parent.Err() != nil {
		// the run ended mid-request: not an answer from the system, kept
		// apart (it may still take effect)
		op.Error = err.Error()
		c.h.Abandon(op)
		return op, ans
	}
	if err != nil {
		op.Error = err.Error()
	}
	op.Code = ans.Code
	if op.Error == "" && ans.Error != "" {
		op.Error = ans.Error
	}
	if op.OK() && err == nil {
		op.Version, op.Cache, op.Durable, op.Duplicate = ans.Version, ans.Cache, ans.Durable, ans.Duplicate
		op.MessageVersion = ans.MessageVersion
		for _, m := range ans.Messages {
			if m.Role == "user" || m.Role == "" {
				op.IDs = append(op.IDs, m.ID)
			}
		}
		for _, tc := range ans.Reply.ToolCalls {
			op.Tools = append(op.Tools, tc.Name)
		}
		if op.Session == "" {
			op.Session = ans.SessionID
		}
	} else if op.OK() {
		op.Status = 0 // a 2xx we could not read is not an acknowledgement
	}
	return c.h.Add(op), ans
}

// CreateSession creates (kind create) or re-creates after expiry (kind
// reauth) a session with a client-chosen id.
func (c *Client) CreateSession(ctx context.Context, kind, user, clientRegion, session string) history.Op {
	op, _ := c.do(ctx, history.Op{Kind: kind, User: user, Client: clientRegion, Session: session},
		http.MethodPost, "/v1/sessions", map[string]string{"user_id": user, "session_id": session, "session_token": SessionToken(session)}, nil)
	return op
}

// SendMessage posts one message, idempotent by messageID.
func (c *Client) SendMessage(ctx context.Context, user, clientRegion, session, messageID string) history.Op {
	op, _ := c.do(ctx, history.Op{Kind: history.KindMessage, User: user, Client: clientRegion, Session: session, MessageID: messageID},
		http.MethodPost, "/v1/sessions/"+session+"/messages",
		map[string]string{"message_id": messageID, "content": "hello " + messageID},
		map[string]string{"Idempotency-Key": messageID, SessionTokenHeader: SessionToken(session)})
	return op
}

// Conversation is a session as read back.
type Conversation struct {
	Session    string
	Version    int64
	MessageIDs []string // ids of user messages, in stored order
	Versions   []int64  // the session version each was stored at
	Messages   int      // every message kept, replies included
	// Expired: the read was answered 410 (the session's TTL ran out);
	// ReadAt is when that answer arrived (the harness's clock).
	Expired bool
	ReadAt  time.Time
}

// ReadSession reads a session's conversation (kind read).
func (c *Client) ReadSession(ctx context.Context, user, clientRegion, session string) (history.Op, Conversation) {
	op, ans := c.do(ctx, history.Op{Kind: history.KindRead, User: user, Client: clientRegion, Session: session},
		http.MethodGet, "/v1/sessions/"+session, nil, map[string]string{SessionTokenHeader: SessionToken(session)})
	conv := Conversation{Session: session, Version: ans.Version, Messages: len(ans.Messages)}
	for _, m := range ans.Messages {
		if m.Role == "user" || m.Role == "" {
			conv.MessageIDs = append(conv.MessageIDs, m.ID)
			conv.Versions = append(conv.Versions, m.Version)
		}
	}
	return op, conv
}

// ReadAll reads every session back (retrying each until deadline), for the
// loss checkers. A session the system no longer has (404, or 410 because it
// expired) comes back as an empty conversation: whatever it acknowledged is
// lost. Sessions that could not be read at all are reported in the error.
func (c *Client) ReadAll(ctx context.Context, sessions []string, deadline time.Duration) (map[string]Conversation, error) {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	out := map[string]Conversation{}
	var errs []error
	for _, s := range sessions {
		for {
			op, conv := c.ReadSession(ctx, "reader", "", s)
			if op.OK() {
				out[s] = conv
				break
			}
			if op.Status == http.StatusGone || op.Status == http.StatusNotFound {
				out[s] = Conversation{Session: s, Expired: op.Status == http.StatusGone, ReadAt: op.End}
				break
			}
			if !waitOrDone(ctx, c.cfg.Interval) {
				errs = append(errs, fmt.Errorf("session %s: read back: status %d %s %s", s, op.Status, op.Code, op.Error))
				break
			}
		}
	}
	return out, errors.Join(errs...)
}

func waitOrDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Run drives cfg.Users users until Duration, MaxMessages or ctx ends.
func Run(ctx context.Context, cfg Config, h *history.History) (Result, error) {
	if cfg.LBURL == "" {
		return Result{}, errors.New("traffic.lb_url: empty")
	}
	return NewClient(cfg, h).Run(ctx)
}

// Run drives the client's configured users until Duration, MaxMessages or
// ctx ends; InFlight shows their outstanding requests meanwhile.
func (c *Client) Run(ctx context.Context) (Result, error) {
	cfg := c.cfg
	if cfg.LBURL == "" {
		return Result{}, errors.New("traffic.lb_url: empty")
	}
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "traffic: seed=%d users=%d duration=%v interval=%v\n", cfg.Seed, cfg.Users, cfg.Duration, cfg.Interval)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		mu  sync.Mutex
		res = Result{Sessions: map[string]string{}}
	)
	var wg sync.WaitGroup
	for i := 0; i < cfg.Users; i++ {
		// one RNG per user, derived from the run seed, so a replay with the
		// same seed makes the same choices whatever the goroutine schedule
		rng := rand.New(rand.NewSource(cfg.Seed*1_000_003 + int64(i)))
		u := &user{c: c, rng: rng, name: fmt.Sprintf("%s%d", cfg.UserPrefix, i),
			region: cfg.ClientRegions[i%len(cfg.ClientRegions)]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			u.run(ctx)
			mu.Lock()
			defer mu.Unlock()
			if u.session != "" {
				res.Sessions[u.name] = u.session
			}
			res.All = append(res.All, u.all...)
			res.Acked += u.acked
			res.Failed += u.failed
		}()
	}
	wg.Wait()
	return res, nil
}

type user struct {
	c      *Client
	rng    *rand.Rand
	name   string
	region string

	session string
	all     []string
	acked   int
	failed  int
}

func (u *user) newID(prefix string) string {
	return fmt.Sprintf("%s-%s-%016x", prefix, u.name, u.rng.Uint64())
}

// create makes a session, retrying until it succeeds or ctx ends.
func (u *user) create(ctx context.Context, kind string) bool {
	id := u.newID("s")
	for ctx.Err() == nil {
		op := u.c.CreateSession(ctx, kind, u.name, u.region, id)
		if op.OK() {
			u.session = id
			u.all = append(u.all, id)
			return true
		}
		u.failed++
		if !waitOrDone(ctx, u.c.cfg.Interval) {
			return false
		}
	}
	return false
}

func (u *user) run(ctx context.Context) {
	if !u.create(ctx, history.KindCreate) {
		return
	}
	cfg := u.c.cfg
	sent := 0
	for sent < cfg.MaxMessages && ctx.Err() == nil {
		mid := u.newID("m")
		sent++
		for try := 0; try <= cfg.MaxRetries && ctx.Err() == nil; try++ {
			op := u.c.SendMessage(ctx, u.name, u.region, u.session, mid)
			if op.OK() {
				u.acked++
				break
			}
			if ctx.Err() != nil && op.Status == 0 {
				break // our own deadline, not the system's failure
			}
			u.failed++
			if op.Status == http.StatusGone && op.Code == "SESSION_EXPIRED" {
				// re-authenticate, then send this message in the new session
				if !u.create(ctx, history.KindReauth) {
					return
				}
				continue
			}
			if !waitOrDone(ctx, cfg.Interval) {
				return
			}
		}
		if !waitOrDone(ctx, cfg.Interval) {
			return
		}
	}
}
