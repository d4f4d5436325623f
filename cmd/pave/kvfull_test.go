package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
)

// A KV bucket filled on purpose (LIFECYCLE_ENVIRONMENTS bounded to 1 MiB,
// filled with keys no reader looks at) is alerted on like a stream (event,
// /readyz warning naming KV_LIFECYCLE_ENVIRONMENTS); an environment create
// answers 503 naming the bucket's stream before anything is stored; once
// space frees (the filler keys purged) the same create goes through to
// ready, and the environment made before is untouched.
func TestFullKVBucketRefusesCreatesCleanlyAndRecovers(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", map[string]string{"PAVE_STREAM_FILL_INTERVAL": "1s"})
	before := p.create(map[string]any{"team": "payments", "name": "before", "template": "redis-cache", "stage": "dev"})
	p.waitState(before, "ready")

	const bucket, stream = "LIFECYCLE_ENVIRONMENTS", "KV_LIFECYCLE_ENVIRONMENTS"
	raiseLimit(t, p.js, stream, 1<<20)
	fillBucket(t, p.js, bucket)

	var ready map[string]any
	require.Eventually(t, func() bool {
		_, ready = getJSON(t, p.base+"/readyz", "")
		return strings.Contains(strings.Join(anyStrings(ready["warnings"]), " "), "stream "+stream+" is ")
	}, 30*time.Second, 100*time.Millisecond, "/readyz never warned of %s: %v", stream, &ready)
	assert.Equal(t, "ok", ready["status"])
	require.Eventually(t, func() bool { return len(streamAlerts(t, p.js, stream)) > 0 },
		30*time.Second, 100*time.Millisecond, "no fill alert for %s", stream)
	assert.Equal(t, []string{events.TypeStreamFilling}, streamAlerts(t, p.js, stream))

	body := map[string]any{"team": "payments", "name": "refused", "template": "redis-cache", "stage": "dev"}
	code, header, problem := p.raw(http.MethodPost, "/v1/environments", body)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", problem)
	assert.Equal(t, "30", header.Get("Retry-After"))
	assert.Equal(t, []any{stream}, problem["streams"])
	assert.Contains(t, problem["detail"], "nothing was changed")
	code, list := p.do(http.MethodGet, "/v1/environments?team=payments&name=refused", nil)
	require.Equal(t, http.StatusOK, code, "reads go on while a bucket is full: %v", list)
	assert.Empty(t, list["items"], "the refused create left no environment behind")

	s, err := p.js.Stream(context.Background(), stream)
	require.NoError(t, err)
	require.NoError(t, s.Purge(context.Background(), jetstream.WithPurgeSubject("$KV."+bucket+".filler.>")))
	id := p.createOnceAccepted(t, body, "creates were still refused once the bucket had room")
	p.waitState(id, "ready")
	assert.Equal(t, "ready", p.waitState(before, "ready")["state"], "the environment made before is untouched")
	require.Eventually(t, func() bool { return len(streamAlerts(t, p.js, stream)) == 2 },
		30*time.Second, 100*time.Millisecond, "no cleared alert for %s", stream)
}

// fillBucket puts 16 KiB values under filler.<n> (a prefix no reader of
// the bucket watches) until the bucket refuses one.
func fillBucket(t *testing.T, js jetstream.JetStream, bucket string) {
	t.Helper()
	ctx := context.Background()
	b, err := js.KeyValue(ctx, bucket)
	require.NoError(t, err)
	pad := bytes.Repeat([]byte("x"), 16<<10)
	for i := 0; ; i++ {
		require.Less(t, i, 200, "%s never refused a value", bucket)
		if _, err := b.Put(ctx, fmt.Sprintf("filler.%d", i), pad); err != nil {
			require.Contains(t, err.Error(), "maximum bytes exceeded")
			return
		}
	}
}
