// Package cache is the regional exact-match response cache on Redis and the Replicator that
// warms peer regions' caches over signed HTTP (POST /cache/warmup, /cache/export).
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// KeyPrefix starts every cache key; warmup refuses keys outside it so a peer can only
// write cache entries, never other Redis keys.
const KeyPrefix = "respcache:"

// indexKey is a sorted set of cache keys scored by creation time (ms), used by Recent.
// It is deliberately outside KeyPrefix.
const indexKey = "respcache-index"

// Entry is one cached response.
type Entry struct {
	Key, Value string
	CreatedAt  time.Time     // on this process's clock
	TTL        time.Duration // total lifetime from CreatedAt
}

// Key returns the cache key of a prompt for a model: the prompt is normalised (case and
// runs of whitespace) so trivially different spellings hit the same entry.
func Key(model, prompt string) string {
	norm := strings.ToLower(strings.Join(strings.Fields(prompt), " "))
	sum := sha256.Sum256([]byte(norm))
	return KeyPrefix + model + ":" + hex.EncodeToString(sum[:])
}

// Cache is a Redis-backed response cache for one region. Safe for concurrent use.
type Cache struct {
	rdb    redis.UniversalClient
	region string
	ttl    time.Duration
	now    func() time.Time
}

// DefaultTTL applies when New is given a non-positive ttl.
const DefaultTTL = 10 * time.Minute

// New returns a cache whose Set entries live for ttl (DefaultTTL if ttl <= 0). now may be
// nil (time.Now).
func New(rdb redis.UniversalClient, region string, ttl time.Duration, now func() time.Time) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Cache{rdb: rdb, region: region, ttl: ttl, now: now}
}

// stored is the Redis value: the response plus what Recent needs to rebuild the Entry.
type stored struct {
	V string `json:"v"`
	C int64  `json:"c"` // CreatedAt, unix ms
	T int64  `json:"t"` // TTL, ms
}

// Get returns the cached value for key.
func (c *Cache) Get(ctx context.Context, key string) (string, bool, error) {
	raw, err := c.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("cache get: %w", err)
	}
	var s stored
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return "", false, fmt.Errorf("cache get %q: stored value: %w", key, err)
	}
	return s.V, true, nil
}

// Set stores value under key for the cache's TTL and returns the entry (for Broadcast).
func (c *Cache) Set(ctx context.Context, key, value string) (Entry, error) {
	e := Entry{Key: key, Value: value, CreatedAt: c.now(), TTL: c.ttl}
	if _, err := c.store(ctx, e); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Store writes e with its remaining lifetime (e.TTL minus its age); an expired entry is
// dropped silently.
func (c *Cache) Store(ctx context.Context, e Entry) error {
	_, err := c.store(ctx, e)
	return err
}

// store reports whether e was written (false when already expired).
func (c *Cache) store(ctx context.Context, e Entry) (bool, error) {
	if e.Key == "" {
		return false, errors.New("cache store: entry.key: required")
	}
	n, _, err := c.storeMany(ctx, []Entry{e})
	return n == 1, err
}

// storeMany stores es in one round trip (a cold region's pull brings
// hundreds of entries, and its warm start is bounded by one health
// timeout: one Redis round trip per entry would not fit). It returns how
// many were stored and how many had already outlived their TTL.
func (c *Cache) storeMany(ctx context.Context, es []Entry) (n, expired int, err error) {
	now := c.now()
	// Index entries older than this cache's TTL are gone (or nearly): trim them on write so
	// the index stays bounded without a janitor.
	trimBefore := now.Add(-c.ttl).UnixMilli()
	_, err = c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range es {
			remaining := e.TTL - now.Sub(e.CreatedAt)
			if remaining <= 0 {
				expired++
				continue
			}
			if remaining < time.Millisecond { // PX cannot express less
				remaining = time.Millisecond
			}
			val, err := json.Marshal(stored{V: e.Value, C: e.CreatedAt.UnixMilli(), T: e.TTL.Milliseconds()})
			if err != nil {
				return err
			}
			p.Set(ctx, e.Key, val, remaining)
			p.ZAdd(ctx, indexKey, redis.Z{Score: float64(e.CreatedAt.UnixMilli()), Member: e.Key})
			n++
		}
		if n > 0 {
			p.ZRemRangeByScore(ctx, indexKey, "-inf", "("+strconv.FormatInt(trimBefore, 10))
		}
		return nil
	})
	if err != nil {
		return 0, expired, fmt.Errorf("cache store: %w", err)
	}
	return n, expired, nil
}

// Recent returns up to limit live entries created within maxAge, newest first.
func (c *Cache) Recent(ctx context.Context, maxAge time.Duration, limit int) ([]Entry, error) {
	if limit <= 0 {
		return nil, nil
	}
	now := c.now()
	// Never an entry dated after now: an export carries no future (an older
	// receiver may have stored one; it is not passed on).
	keys, err := c.rdb.ZRevRangeByScore(ctx, indexKey, &redis.ZRangeBy{
		Max: strconv.FormatInt(now.UnixMilli(), 10), Min: strconv.FormatInt(now.Add(-maxAge).UnixMilli(), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("cache recent: %w", err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("cache recent: %w", err)
	}
	out := make([]Entry, 0, len(keys))
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok { // expired since it was indexed
			continue
		}
		var s stored
		if json.Unmarshal([]byte(raw), &s) != nil {
			continue
		}
		e := Entry{Key: keys[i], Value: s.V, CreatedAt: time.UnixMilli(s.C), TTL: time.Duration(s.T) * time.Millisecond}
		// The index score is the creation time of the latest write; re-check against it.
		if now.Sub(e.CreatedAt) > maxAge || now.Sub(e.CreatedAt) >= e.TTL {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// Ping checks Redis.
func (c *Cache) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Region is the region this cache belongs to.
func (c *Cache) Region() string { return c.region }
