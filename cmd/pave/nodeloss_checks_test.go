package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/testkit"
)

// streamLeaders counts, per member, how many streams (KV buckets
// included) it leads.
func streamLeaders(t *testing.T, c *testkit.ProcessCluster, js jetstream.JetStream) map[int][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[int][]string{}
	lister := js.ListStreams(ctx)
	for info := range lister.Info() {
		if info.Cluster == nil || info.Cluster.Leader == "" {
			continue
		}
		i := c.ServerIndex(info.Cluster.Leader)
		out[i] = append(out[i], info.Config.Name)
	}
	require.NoError(t, lister.Err())
	return out
}

// busiestLeader is the running member, other than those in skip, that
// leads the most streams.
func busiestLeader(t *testing.T, c *testkit.ProcessCluster, js jetstream.JetStream, skip ...int) (int, []string) {
	t.Helper()
	best, streams := -1, []string(nil)
	for i, led := range streamLeaders(t, c, js) {
		if i < 0 || !c.Running(i) || containsInt(skip, i) {
			continue
		}
		if len(led) > len(streams) || len(led) == len(streams) && i < best {
			best, streams = i, led
		}
	}
	require.GreaterOrEqual(t, best, 0, "no running member leads a stream")
	sort.Strings(streams)
	return best, streams
}

func containsInt(list []int, x int) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// transitionChains reads every transition event in EVT_LIFECYCLE and
// returns, per environment, the problems of its chain: sequence numbers
// must run 1..N without a gap or a second copy, each event must start
// where the one before ended, and the last must end in the environment's
// final state. The events are published from the aggregate's outbox and
// only removed from it once acknowledged, so a gap is an acknowledged
// event the stream lost.
func transitionChains(t *testing.T, js jetstream.JetStream, final map[string]string) (int, []string) {
	t.Helper()
	var byEnv map[string][]events.EnvironmentTransitioned
	var total int
	var err error
	// A member just restarted may not answer at once: read again.
	require.Eventually(t, func() bool { byEnv, total, err = readTransitions(js); return err == nil },
		30*time.Second, 250*time.Millisecond, "read transition events: %v", lazy(func() string { return fmt.Sprint(err) }))
	var problems []string
	for id, want := range final {
		problems = append(problems, chainProblems(id, byEnv[id], want)...)
	}
	sort.Strings(problems)
	return total, problems
}

const transitionSubject = "pave.evt.lifecycle.environment.transitioned"

// readTransitions reads every transition event the stream holds, by
// environment, checking the count against the stream's own.
func readTransitions(js jetstream.JetStream) (map[string][]events.EnvironmentTransitioned, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "EVT_LIFECYCLE")
	if err != nil {
		return nil, 0, err
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(transitionSubject))
	if err != nil {
		return nil, 0, err
	}
	want := int(info.State.Subjects[transitionSubject])
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{transitionSubject}})
	if err != nil {
		return nil, 0, err
	}
	byEnv := map[string][]events.EnvironmentTransitioned{}
	for total := 0; total < want; {
		batch, err := cons.Fetch(min(500, want-total), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, 0, err
		}
		n := 0
		for msg := range batch.Messages() {
			var ev events.EnvironmentTransitioned
			if err := json.Unmarshal(msg.Data(), &ev); err != nil {
				return nil, 0, err
			}
			byEnv[ev.EnvironmentID] = append(byEnv[ev.EnvironmentID], ev)
			n++
		}
		if err := batch.Error(); err != nil {
			return nil, 0, err
		}
		if n == 0 {
			return nil, 0, fmt.Errorf("read %d of %d transition events", total, want)
		}
		total += n
	}
	return byEnv, want, nil
}

func chainProblems(id string, evs []events.EnvironmentTransitioned, final string) []string {
	var out []string
	from := ""
	for i, ev := range evs {
		if ev.Seq != i+1 {
			out = append(out, fmt.Sprintf("%s: event %d has seq %d", id, i+1, ev.Seq))
			break
		}
		if ev.From != from {
			out = append(out, fmt.Sprintf("%s: seq %d goes %s→%s after %q", id, ev.Seq, ev.From, ev.To, from))
		}
		from = ev.To
	}
	if from != final {
		out = append(out, fmt.Sprintf("%s: events end in %q, the environment is %q", id, from, final))
	}
	return out
}

// undelivered lists every durable consumer with messages it has not yet
// been delivered or not yet acknowledged, or the error that kept it from
// looking.
func undelivered(js jetstream.JetStream) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []string
	streams := js.ListStreams(ctx)
	for info := range streams.Info() {
		s, err := js.Stream(ctx, info.Config.Name)
		if err != nil {
			return nil, err
		}
		consumers := s.ListConsumers(ctx)
		for ci := range consumers.Info() {
			if ci.Config.Durable == "" {
				continue
			}
			if ci.NumPending > 0 || ci.NumAckPending > 0 {
				out = append(out, fmt.Sprintf("%s/%s: %d pending, %d unacknowledged", info.Config.Name, ci.Name, ci.NumPending, ci.NumAckPending))
			}
		}
		if err := consumers.Err(); err != nil {
			return nil, err
		}
	}
	return out, streams.Err()
}
