// Package ratelimit limits how often a key (an API principal) may act: the
// generic cell rate algorithm (GCRA), so a key gets Burst requests at
// once and then one every Period/Rate. Two implementations share one
// contract suite: Redis (a Lua script, atomic on the server, for
// horizontally scaled gateways) and JetStream KV (compare-and-set on
// the key's revision, the embedded default).
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limit is Rate requests per Period with bursts of up to Burst.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// PerMinute is rate requests a minute with bursts of burst.
func PerMinute(rate, burst int) Limit { return Limit{Rate: rate, Period: time.Minute, Burst: burst} }

// Validate refuses a limit that cannot admit anything.
func (l Limit) Validate() error {
	if l.Rate < 1 || l.Burst < 1 || l.Period <= 0 {
		return fmt.Errorf("rate limit %d per %s with burst %d: rate, burst and period must be positive", l.Rate, l.Period, l.Burst)
	}
	return nil
}

// emission is the time one request uses up.
func (l Limit) emission() time.Duration { return l.Period / time.Duration(l.Rate) }

// Result is one decision.
type Result struct {
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is how long until a denied request would be allowed.
	RetryAfter time.Duration
}

// Limiter decides whether key may make one more request.
type Limiter interface {
	Allow(ctx context.Context, key string) (Result, error)
}

// ErrContention is returned when a key's state kept changing under a
// compare-and-set for longer than the caller waited.
var ErrContention = errors.New("rate limit state kept changing")

// gcra is the pure step: with the key's theoretical arrival time tat
// (zero: none), at now, the decision and the new tat to store.
func gcra(l Limit, tat, now time.Time) (Result, time.Time) {
	if tat.Before(now) {
		tat = now
	}
	t := l.emission()
	next := tat.Add(t)
	allowAt := next.Add(-t * time.Duration(l.Burst))
	diff := now.Sub(allowAt)
	if diff < 0 {
		return Result{RetryAfter: -diff}, time.Time{}
	}
	return Result{Allowed: true, Remaining: int(diff / t)}, next
}
