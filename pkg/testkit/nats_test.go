package testkit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
)

const waitFor = 20 * time.Second

func TestNATSRestartKeepsStreamMessages(t *testing.T) {
	ctx := context.Background()
	srv := testkit.NATS(t)
	js := srv.JetStream(t)
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}})
	require.NoError(t, err)
	_, err = js.Publish(ctx, "orders.created", []byte("first"))
	require.NoError(t, err)

	srv.Restart(t)

	// The same client reconnects on its own; publishing proves it.
	require.Eventually(t, func() bool {
		_, err := js.Publish(ctx, "orders.created", []byte("second"))
		return err == nil
	}, waitFor, 25*time.Millisecond)
	assert.Equal(t, []string{"first", "second"}, consume(t, js, "ORDERS", 2))
}

func TestNATSClusterSurvivesLosingStreamLeader(t *testing.T) {
	ctx := context.Background()
	cluster := testkit.NATSCluster(t, 3)
	js := cluster.JetStream(t)
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "JOBS", Subjects: []string{"jobs.>"}, Replicas: 3})
	require.NoError(t, err)
	publish(t, js, "jobs.a", 0)

	leader := streamLeader(t, cluster, js, "JOBS")
	cluster.Kill(leader)
	publish(t, js, "jobs.a", 1)

	cluster.Restart(t, leader)
	// Losing a second member needs the restarted one for quorum, so this
	// also proves it rejoined and caught up.
	cluster.Kill(streamLeader(t, cluster, js, "JOBS"))
	publish(t, js, "jobs.a", 2)

	assert.Equal(t, []string{"0", "1", "2"}, consume(t, js, "JOBS", 3))
}

// publish retries through leader elections, the way a producer would.
func publish(t *testing.T, js jetstream.JetStream, subject string, n int) {
	t.Helper()
	ctx := context.Background()
	msgID := subject + "-" + strconv.Itoa(n)
	require.Eventually(t, func() bool {
		_, err := js.Publish(ctx, subject, []byte(strconv.Itoa(n)), jetstream.WithMsgID(msgID))
		return err == nil
	}, waitFor, 50*time.Millisecond, "publish %d", n)
}

func streamLeader(t *testing.T, c *testkit.Cluster, js jetstream.JetStream, stream string) int {
	t.Helper()
	leader := -1
	require.Eventually(t, func() bool {
		info, err := streamInfo(js, stream)
		if err != nil || info.Cluster == nil {
			return false
		}
		leader = c.ServerIndex(info.Cluster.Leader)
		return leader >= 0
	}, waitFor, 50*time.Millisecond, "stream %s has no leader", stream)
	return leader
}

func streamInfo(js jetstream.JetStream, name string) (*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.Info(ctx)
}

// consume reads n messages from the start of stream with an ephemeral
// consumer and returns their bodies.
func consume(t *testing.T, js jetstream.JetStream, stream string, n int) []string {
	t.Helper()
	var bodies []string
	require.Eventually(t, func() bool {
		bodies = fetchAll(js, stream, n)
		return len(bodies) == n
	}, waitFor, 50*time.Millisecond, "consume %d from %s", n, stream)
	return bodies
}

func fetchAll(js jetstream.JetStream, stream string, n int) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil
	}
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		return nil
	}
	var bodies []string
	for msg := range batch.Messages() {
		bodies = append(bodies, string(msg.Data()))
	}
	return bodies
}
