// Package teams knows which environments and workloads each team owns,
// learned from the lifecycle's and the scheduler's events (never by
// reading their state), so that a team with live resources is not
// deleted out from under them.
//
//	pave.evt.lifecycle.environment.transitioned ─┐
//	pave.evt.scheduler.workload.>               ─┴─ Handle ─ ACCESS_TEAM_RESOURCES (KV, watched) ─ Live(team)
//
// An environment is live until it reaches deleted or failed (compensated);
// a workload from its submission until it finishes, fails, is cancelled,
// rejected or released.
package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/kv"
)

// Bucket holds the live resources by key env.<id> or wl.<id>.
const Bucket = "ACCESS_TEAM_RESOURCES"

// Consumers the access service runs for this index.
func Consumers() []bus.ConsumerSpec {
	spec := func(stream, durable, filter string) bus.ConsumerSpec {
		return bus.ConsumerSpec{Stream: stream, Durable: durable, FilterSubjects: []string{filter}, MaxDeliver: 20, Concurrency: 4}
	}
	return []bus.ConsumerSpec{
		spec("EVT_LIFECYCLE", "access-team-environments", "pave.evt.lifecycle.environment.transitioned"),
		spec("EVT_SCHEDULER", "access-team-workloads", "pave.evt.scheduler.workload.>"),
	}
}

// Resources is the index.
type Resources struct {
	kv  jetstream.KeyValue
	w   jetstream.KeyWatcher
	log *slog.Logger

	mu   sync.RWMutex
	team map[string]string // key -> team
}

// Open declares the bucket and loads it; later changes (by any instance)
// follow through a watch until Close.
func Open(ctx context.Context, js jetstream.JetStream, replicas int, log *slog.Logger) (*Resources, error) {
	bucket, err := kv.Declare(ctx, js, kv.Spec{Bucket: Bucket, Description: "live environments and workloads by team", Replicas: replicas})
	if err != nil {
		return nil, err
	}
	r := &Resources{kv: bucket, log: log, team: map[string]string{}}
	w, err := bucket.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch bucket %s: %w", Bucket, err)
	}
	for e := range w.Updates() {
		if e == nil {
			break
		}
		r.apply(e)
	}
	r.w = w
	go func() {
		for e := range w.Updates() {
			if e != nil {
				r.apply(e)
			}
		}
	}()
	return r, nil
}

// Close stops the watch.
func (r *Resources) Close() { _ = r.w.Stop() }

type entry struct {
	Team string `json:"team"`
}

func (r *Resources) apply(e jetstream.KeyValueEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(r.team, e.Key())
		return
	}
	var v entry
	if json.Unmarshal(e.Value(), &v) == nil {
		r.team[e.Key()] = v.Team
	}
}

// Live lists the team's live environment and workload ids, sorted.
func (r *Resources) Live(team string) (environments, workloads []string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for k, t := range r.team {
		if t != team {
			continue
		}
		if id, ok := strings.CutPrefix(k, "env."); ok {
			environments = append(environments, id)
		} else if id, ok := strings.CutPrefix(k, "wl."); ok {
			workloads = append(workloads, id)
		}
	}
	sort.Strings(environments)
	sort.Strings(workloads)
	return environments, workloads
}

// ended are the states and events after which nothing of it is left.
var (
	endedStates    = map[string]bool{"deleted": true, "failed": true}
	endedWorkloads = map[string]bool{events.TypeWorkloadFinished: true, events.TypeWorkloadFailed: true,
		events.TypeWorkloadCancelled: true, events.TypeWorkloadRejected: true, events.TypeWorkloadReleased: true}
)

type facts struct {
	EnvironmentID string `json:"environment_id"`
	To            string `json:"to"`
	WorkloadID    string `json:"workload_id"`
	Team          string `json:"team"`
	Workload      *struct {
		ID   string `json:"id"`
		Team string `json:"team"`
	} `json:"workload"`
}

// Handle records an environment's transition or a workload's event.
func (r *Resources) Handle(ctx context.Context, e event.Event) error {
	var f facts
	if err := json.Unmarshal(e.Data(), &f); err != nil {
		return bus.Permanent(fmt.Errorf("event %s: %w", e.ID(), err))
	}
	switch {
	case e.Type() == events.TypeEnvironmentTransitioned && f.EnvironmentID != "":
		return r.set(ctx, "env."+f.EnvironmentID, f.Team, endedStates[f.To])
	case e.Type() == events.TypeWorkloadSubmitted && f.Workload != nil && f.Workload.ID != "":
		return r.set(ctx, "wl."+f.Workload.ID, f.Workload.Team, false)
	case endedWorkloads[e.Type()] && f.WorkloadID != "":
		return r.set(ctx, "wl."+f.WorkloadID, f.Team, true)
	}
	return nil
}

func (r *Resources) set(ctx context.Context, key, team string, ended bool) error {
	if ended {
		err := r.kv.Delete(ctx, key)
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("forget %s: %w", key, err)
		}
		r.mu.Lock()
		delete(r.team, key)
		r.mu.Unlock()
		return nil
	}
	// A live resource's every transition reports it again: when the index
	// (which follows the bucket) already holds it for this team, a put
	// would write the same value once more, a sync write for nothing.
	r.mu.RLock()
	held, ok := r.team[key]
	r.mu.RUnlock()
	if ok && held == team {
		return nil
	}
	raw, _ := json.Marshal(entry{Team: team})
	if _, err := r.kv.Put(ctx, key, raw); err != nil {
		return fmt.Errorf("record %s: %w", key, err)
	}
	r.mu.Lock()
	r.team[key] = team
	r.mu.Unlock()
	return nil
}

// Start declares the streams it reads, opens the index and starts its
// consumers; stop ends them and the watch.
func Start(ctx context.Context, b *bus.Bus, so bus.StreamOptions, log *slog.Logger) (*Resources, func() error, error) {
	js := b.JetStream()
	for _, peer := range []string{"lifecycle", "scheduler"} {
		if err := bus.EnsureStreams(ctx, js, bus.ServiceStreams(peer, so)...); err != nil {
			return nil, nil, err
		}
	}
	r, err := Open(ctx, js, so.Replicas, log)
	if err != nil {
		return nil, nil, err
	}
	var subs []*bus.Subscription
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var errs []error
		for _, s := range subs {
			errs = append(errs, s.Stop(ctx))
		}
		r.Close()
		return errors.Join(errs...)
	}
	for _, spec := range Consumers() {
		s, err := b.Subscribe(ctx, spec, r.Handle)
		if err != nil {
			_ = stop()
			return nil, nil, fmt.Errorf("start %s: %w", spec.Durable, err)
		}
		subs = append(subs, s)
	}
	return r, stop, nil
}
