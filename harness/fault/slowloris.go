package fault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// Slowloris holds Conns connections to the public LB entry, each trickling
// a request one byte per Pace (headers, or with Body a declared body that
// never finishes), so a server without read timeouts keeps a goroutine and
// a buffer per connection for as long as the attacker likes. The heal closes
// every connection. Bounded: at most MaxSlowlorisConns connections, each
// held at most Hold.
type Slowloris struct {
	Conns int
	Pace  time.Duration // one byte per Pace
	Body  bool          // trickle a POST body instead of the headers
	Hold  time.Duration // a connection's life bound (the heal ends them sooner)

	st *SlowlorisStats
}

// MaxSlowlorisConns bounds the attack: this is a test of the LB's limits,
// not of the machine's file descriptors.
const MaxSlowlorisConns = 512

// SlowlorisStats says what the attack saw: connections opened, and how many
// the server cut off before the heal (its read timeouts at work).
type SlowlorisStats struct {
	Opened, CutByServer atomic.Int64
}

// NewSlowloris returns the fault with its counters.
func NewSlowloris(conns int, pace, hold time.Duration, body bool) *Slowloris {
	return &Slowloris{Conns: conns, Pace: pace, Hold: hold, Body: body, st: &SlowlorisStats{}}
}

// Stats are the attack's counters (live while it runs).
func (f *Slowloris) Stats() *SlowlorisStats { return f.st }

// Name is e.g. "slowloris(lb,64 conns,headers)".
func (f *Slowloris) Name() string {
	what := "headers"
	if f.Body {
		what = "body"
	}
	return fmt.Sprintf("slowloris(lb,%d conns,%s)", f.Conns, what)
}

// Available checks the bounds and that the LB has an address.
func (f *Slowloris) Available(c topology.Cluster) error {
	switch {
	case f.Conns < 1 || f.Conns > MaxSlowlorisConns:
		return fmt.Errorf("slowloris.conns: %d must be 1..%d", f.Conns, MaxSlowlorisConns)
	case f.Pace <= 0:
		return fmt.Errorf("slowloris.pace: %v must be > 0", f.Pace)
	case f.Hold <= 0 || f.Hold > 10*time.Minute:
		return fmt.Errorf("slowloris.hold: %v must be in (0, 10m]", f.Hold)
	case f.st == nil:
		return errors.New("slowloris: build it with NewSlowloris")
	}
	u, err := url.Parse(c.LBURL())
	if err != nil || u.Host == "" {
		return fmt.Errorf("slowloris: LB url %q: %v", c.LBURL(), err)
	}
	return nil
}

// Inject opens the connections; each trickles in its own goroutine until
// the heal, its Hold, or the server closing it.
func (f *Slowloris) Inject(ctx context.Context, c topology.Cluster) (func(context.Context) error, error) {
	u, _ := url.Parse(c.LBURL())
	actx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	heal := Once(func(context.Context) error {
		cancel()
		wg.Wait()
		return nil
	})
	d := net.Dialer{Timeout: 2 * time.Second}
	for i := range f.Conns {
		conn, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return heal, fmt.Errorf("slowloris: dial %d of %d: %w", i+1, f.Conns, err)
		}
		f.st.Opened.Add(1)
		wg.Go(func() { f.trickle(actx, conn, u.Host, i) })
	}
	return heal, nil
}

func (f *Slowloris) trickle(ctx context.Context, conn net.Conn, host string, i int) {
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, f.Hold)
	defer cancel()
	// The server closing the connection ends the read below: that is the
	// server's timeout cutting the attacker off.
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		close(closed)
	}()
	var msg string
	if f.Body {
		// The headers at once (a server bounding only them lets this in),
		// then the body a byte at a time.
		head := fmt.Sprintf("POST /v1/sessions/slow-%d/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n", i, host)
		_ = conn.SetWriteDeadline(time.Now().Add(f.Pace + time.Second))
		if _, err := conn.Write([]byte(head)); err != nil {
			f.st.CutByServer.Add(1)
			return
		}
		msg = `{"message_id":"m","content":"`
	} else {
		msg = fmt.Sprintf("GET /v1/sessions/slow-%d HTTP/1.1\r\nHost: %s\r\nX-Slow: ", i, host)
	}
	t := time.NewTicker(f.Pace)
	defer t.Stop()
	for n := 0; ; n++ {
		b := byte('a')
		if n < len(msg) {
			b = msg[n]
		}
		_ = conn.SetWriteDeadline(time.Now().Add(f.Pace + time.Second))
		if _, err := conn.Write([]byte{b}); err != nil {
			select {
			case <-ctx.Done():
			default:
				f.st.CutByServer.Add(1)
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-closed:
			f.st.CutByServer.Add(1)
			return
		case <-t.C:
		}
	}
}

// Describe says what the attack does, for a dry run (it goes to the LB's
// address, not through the cluster, so a dry cluster cannot record it).
func (f *Slowloris) Describe() string {
	what := "request headers"
	if f.Body {
		what = "a POST body"
	}
	return fmt.Sprintf("open %d connections to the LB, each trickling %s one byte per %v, for up to %v; the heal closes them", f.Conns, what, f.Pace, f.Hold)
}
