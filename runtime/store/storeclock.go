package store

import (
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// storeClock estimates the store's clock from the Date header of its
// answers, so that every region stamps and judges session expiry on the one
// clock they share (the store's, on which DynamoDB's own TTL runs) instead
// of each on its own: a region whose clock is off would otherwise expire
// other regions' sessions early or late by the difference.
//
// A Date header has whole seconds, truncated. For an answer to a request
// sent at local time s and received at r, the store's offset θ (store -
// local) satisfies date - r <= θ < date + 1s - s. The estimate intersects
// these intervals over the answers seen. When the interval allows the
// region's own clock (offset zero), that is the estimate: a correct clock
// is kept exactly from the first answer on (taking the middle would move it
// by up to half a second on a region's first answers). Otherwise the
// estimate is the middle, off by at most half the interval's width: under
// half a second plus a round trip at first, a round trip once answers have
// arrived at every phase of the second. An interval that becomes empty (a
// clock jumped) starts again.
type storeClock struct {
	local func() time.Time

	mu     sync.Mutex
	lo, hi time.Duration
	known  bool
}

// Now is the store's time as estimated; the local clock until an answer
// with a Date header arrived.
func (c *storeClock) Now() time.Time {
	t := c.local()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		return t
	}
	if c.lo <= 0 && 0 <= c.hi {
		return t // the answers allow the region's own clock: keep it exactly
	}
	return t.Add(c.lo + (c.hi-c.lo)/2)
}

// observe narrows the offset with one answer's Date, sent at s and
// received at r on the local clock.
func (c *storeClock) observe(date, s, r time.Time) {
	lo, hi := date.Sub(r), date.Add(time.Second).Sub(s)
	if hi <= lo {
		return // not a consistent sample (local clock went backwards)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.known {
		nlo, nhi := max(c.lo, lo), min(c.hi, hi)
		if nlo < nhi {
			c.lo, c.hi = nlo, nhi
			return
		}
	}
	c.lo, c.hi, c.known = lo, hi, true
}

// clockClient records the Date of every answer from the store.
type clockClient struct {
	base  aws.HTTPClient
	clock *storeClock
}

func (c clockClient) Do(req *http.Request) (*http.Response, error) {
	s := c.clock.local()
	resp, err := c.base.Do(req)
	if err != nil {
		return resp, err
	}
	r := c.clock.local()
	if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
		c.clock.observe(d, s, r)
	}
	return resp, nil
}
