package ports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pave-platform/pave/pkg/audit"
	"github.com/pave-platform/pave/pkg/policy"
)

// ReadFlushInterval is how often the minutes that are over are recorded.
const ReadFlushInterval = 10 * time.Second

// ActionReads is the action of a record that counts a principal's
// permitted reads of one minute.
const ActionReads = "api:reads"

// ReadCounter keeps permitted reads out of the ledger one by one: it
// counts them per principal, team and minute, and appends one record per
// such minute with the count and the count per route, once the minute is
// over. A client polling every 200 ms thus costs one record a minute
// instead of 300. Denies and writes never pass here: they are recorded
// one by one, before the answer, as before.
//
// The price: the counts of the minute under way are in memory until it
// ends; Stop appends them, a crash loses them (never a deny or a write).
type ReadCounter struct {
	ledger Recorder
	log    *slog.Logger
	now    func() time.Time
	every  time.Duration

	mu     sync.Mutex
	counts map[readKey]*readCount

	stop chan struct{}
	done chan struct{}
}

type readKey struct {
	actor, actorKind, team string
	minute                 time.Time
}

type readCount struct {
	n      int
	routes map[string]int
}

// NewReadCounter counts into ledger, appending the minutes that are over
// every flushEvery.
func NewReadCounter(ledger Recorder, flushEvery time.Duration, log *slog.Logger) *ReadCounter {
	return &ReadCounter{ledger: ledger, log: log, now: time.Now, every: flushEvery, counts: map[readKey]*readCount{}}
}

// isRead is a request that changes nothing.
func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

// Count adds one permitted read.
func (c *ReadCounter) Count(req policy.Request, route string) {
	k := readKey{actor: req.Principal.ID, actorKind: req.Principal.Kind, team: req.Resource.Team,
		minute: c.now().UTC().Truncate(time.Minute)}
	c.mu.Lock()
	defer c.mu.Unlock()
	rc := c.counts[k]
	if rc == nil {
		rc = &readCount{routes: map[string]int{}}
		c.counts[k] = rc
	}
	rc.n++
	rc.routes[route]++
}

// Start appends the minutes that are over, every flushEvery, until Stop.
func (c *ReadCounter) Start(context.Context) error {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go c.loop()
	return nil
}

// Stop ends the loop and appends every count still held, the minute
// under way included.
func (c *ReadCounter) Stop(ctx context.Context) error {
	if c.stop != nil {
		close(c.stop)
		select {
		case <-c.done:
		case <-ctx.Done():
			return fmt.Errorf("read counter stop: %w", ctx.Err())
		}
	}
	return c.Flush(ctx, true)
}

func (c *ReadCounter) loop() {
	defer close(c.done)
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := c.Flush(ctx, false); err != nil {
				c.log.Warn("read counts not recorded yet; kept for the next try", "error", err)
			}
			cancel()
		}
	}
}

// Flush appends one record per minute that is over (all, with all). A
// count whose append fails is put back and tried again next time.
func (c *ReadCounter) Flush(ctx context.Context, all bool) error {
	now := c.now().UTC()
	c.mu.Lock()
	due := map[readKey]*readCount{}
	for k, rc := range c.counts {
		if all || !k.minute.Add(time.Minute).After(now) {
			due[k] = rc
			delete(c.counts, k)
		}
	}
	c.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(due), func(a, b readKey) int { return a.minute.Compare(b.minute) })
	var errs []error
	for _, k := range keys {
		if err := c.ledger.Append(ctx, readsRecord(k, due[k])); err != nil {
			errs = append(errs, fmt.Errorf("record %d reads of %s: %w", due[k].n, k.actor, err))
			c.putBack(k, due[k])
		}
	}
	return errors.Join(errs...)
}

func (c *ReadCounter) putBack(k readKey, rc *readCount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.counts[k]
	if cur == nil {
		c.counts[k] = rc
		return
	}
	cur.n += rc.n
	for r, n := range rc.routes {
		cur.routes[r] += n
	}
}

// readsRecord is the ledger's record of one principal's reads in one
// minute: the total in details.count, each route's count under its
// pattern, the minute in details.from/details.to.
func readsRecord(k readKey, rc *readCount) audit.Record {
	details := map[string]string{
		"count": strconv.Itoa(rc.n),
		"from":  k.minute.Format(time.RFC3339),
		"to":    k.minute.Add(time.Minute).Format(time.RFC3339),
	}
	for r, n := range rc.routes {
		details[r] = strconv.Itoa(n)
	}
	return audit.Record{Kind: audit.KindDecision, Actor: k.actor, ActorKind: k.actorKind, Team: k.team,
		Action: ActionReads, Decision: "allow", Details: details}
}
