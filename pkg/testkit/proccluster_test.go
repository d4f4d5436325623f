package testkit_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
)

// The same proof as the in-process cluster's, with real nats-server
// processes killed by SIGKILL.
func TestNATSProcessClusterSurvivesKillingTheStreamLeader(t *testing.T) {
	ctx := context.Background()
	cluster := testkit.NATSProcessCluster(t, 3)
	js := cluster.JetStream(t)
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "JOBS", Subjects: []string{"jobs.>"}, Replicas: 3})
	require.NoError(t, err)
	publish(t, js, "jobs.a", 0)

	first := processStreamLeader(t, cluster, js, "JOBS")
	cluster.Kill(first)
	publish(t, js, "jobs.a", 1)

	cluster.Restart(t, first)
	second := processStreamLeader(t, cluster, js, "JOBS")
	cluster.Kill(second)
	publish(t, js, "jobs.a", 2)

	assert.Equal(t, []string{"0", "1", "2"}, consume(t, js, "JOBS", 3))
}

// processStreamLeader waits until the stream has a leader among the
// running members and returns its index.
func processStreamLeader(t *testing.T, c *testkit.ProcessCluster, js jetstream.JetStream, stream string) int {
	t.Helper()
	leader := -1
	require.Eventually(t, func() bool {
		info, err := streamInfo(js, stream)
		if err != nil || info.Cluster == nil {
			return false
		}
		leader = c.ServerIndex(info.Cluster.Leader)
		return leader >= 0 && c.Running(leader)
	}, waitFor, 25*time.Millisecond)
	return leader
}
