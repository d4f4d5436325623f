package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCLIReadsServerSentEvents: the text/event-stream reader joins data
// lines, keeps ids, skips comments and stops at the caller's word.
func TestCLIReadsServerSentEvents(t *testing.T) {
	stream := ": keep-alive\n\n" +
		"event: snapshot\ndata: {\"state\":\ndata: \"requested\"}\n\n" +
		"id: 41\nevent: transitioned\ndata: {\"to\":\"queued\"}\n\n" +
		"retry: 1000\n\n" +
		"data: {\"plain\":true}\n\n" +
		"event: end\ndata: {\"state\":\"ready\"}\n\n" +
		"event: snapshot\ndata: {\"after\":\"end\"}\n\n"
	var got []sseMessage
	require.NoError(t, readSSE(strings.NewReader(stream), func(m sseMessage) bool {
		got = append(got, m)
		return m.Event != "end"
	}))
	require.Len(t, got, 4)
	assert.Equal(t, "snapshot", got[0].Event)
	assert.Equal(t, "{\"state\":\n\"requested\"}", string(got[0].Data), "data lines are joined with newlines")
	assert.Equal(t, sseMessage{Event: "transitioned", ID: "41", Data: []byte(`{"to":"queued"}`)}, got[1])
	assert.Equal(t, "message", got[2].Event, "no event field means message")
	assert.Equal(t, "end", got[3].Event, "nothing is read after the caller stops")
}

// TestCLIProgressLinesFromStreamEvents: each saga step change and state
// transition is one line, repeats and replays are not printed twice.
func TestCLIProgressLinesFromStreamEvents(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, false)
	steps := func(budget, db string, attempts int, err string) string {
		return `"steps":[{"name":"budget","status":"` + budget + `","attempts":1,"undo_attempts":0},` +
			`{"name":"provision-db","status":"` + db + `","attempts":` + string(rune('0'+attempts)) + `,"undo_attempts":0,"error":"` + err + `"}]`
	}
	for _, m := range []sseMessage{
		{Event: "snapshot", Data: []byte(`{"state":"requested","resources":[{"name":"db","driver":"postgres","state":"pending"}]}`)},
		{Event: "progressed", Data: []byte(`{"saga_id":"env-a.create.1","definition":"environment-create","seq":1,"status":"running","at":"2026-01-02T03:04:05Z",` + steps("running", "pending", 0, "") + `}`)},
		{Event: "transitioned", Data: []byte(`{"from":"requested","to":"provisioning","at":"2026-01-02T03:04:06Z"}`)},
		{Event: "progressed", Data: []byte(`{"saga_id":"env-a.create.1","definition":"environment-create","seq":2,"status":"running","at":"2026-01-02T03:04:06Z",` + steps("succeeded", "running", 1, "") + `}`)},
		{Event: "progressed", Data: []byte(`{"saga_id":"env-a.create.1","definition":"environment-create","seq":2,"status":"running","at":"2026-01-02T03:04:06Z",` + steps("succeeded", "running", 1, "") + `}`)},
		{Event: "progressed", Data: []byte(`{"saga_id":"env-a.create.1","definition":"environment-create","seq":3,"status":"running","at":"2026-01-02T03:04:07Z",` + steps("succeeded", "failed", 2, "connection refused") + `}`)},
		{Event: "progressed", Data: []byte(`{"saga_id":"env-a.create.1","definition":"environment-create","seq":4,"status":"compensating","reason":"gave up","at":"2026-01-02T03:04:08Z",` + steps("compensating", "failed", 3, "connection refused") + `}`)},
		{Event: "transitioned", Data: []byte(`{"from":"provisioning","to":"failed","reason":"gave up","at":"2026-01-02T03:04:09Z"}`)},
		{Event: "transitioned", Data: []byte(`{"from":"provisioning","to":"failed","reason":"gave up","at":"2026-01-02T03:04:09Z"}`)},
		{Event: "end", Data: []byte(`{"state":"failed"}`)},
	} {
		p.message(m)
	}
	var texts []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		require.Regexp(t, `^\d\d:\d\d:\d\d  `, l)
		texts = append(texts, strings.Join(strings.Fields(l[10:]), " "))
	}
	assert.Equal(t, []string{
		"state requested",
		"saga environment-create started",
		"step budget: running",
		"state requested → provisioning",
		"step budget: succeeded",
		"step provision-db: running",
		"step provision-db: failed (attempt 2): connection refused",
		"step budget: compensating",
		"saga environment-create compensating: gave up",
		"state provisioning → failed: gave up",
		"end failed",
	}, texts)
}
