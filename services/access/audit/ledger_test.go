package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access/audit"
)

var zeroTime time.Time

func auditStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	js := testkit.NATS(t).JetStream(t)
	for _, cfg := range bus.CoreStreams(bus.DefaultStreamOptions()) {
		_, err := js.CreateOrUpdateStream(context.Background(), cfg)
		require.NoError(t, err)
	}
	return js
}

// Two ledgers (the gateway's and the access service's) append at once:
// the chain stays one chain and verifies.
func TestTwoWritersNeverForkTheChain(t *testing.T) {
	js := auditStream(t)
	ctx := context.Background()
	writers := []*audit.Ledger{audit.NewLedger(js), audit.NewLedger(js)}
	var wg sync.WaitGroup
	for w, l := range writers {
		for i := range 40 {
			wg.Go(func() {
				assert.NoError(t, l.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: fmt.Sprintf("w%d", w), Action: fmt.Sprintf("a%d", i)}))
			})
		}
	}
	wg.Wait()
	rep, err := audit.Verify(ctx, js, audit.Stream)
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Broken)
	assert.Equal(t, 80, rep.Records)

	got, err := audit.Query(ctx, js, audit.Stream, audit.Filter{Actor: "w1"})
	require.NoError(t, err)
	assert.Len(t, got, 40)
}

// An edited record is found at that record: the chain is copied into a
// stream where one record's content was changed, as someone with access
// to the storage could.
func TestVerifyNamesTheFirstTamperedRecord(t *testing.T) {
	js := auditStream(t)
	ctx := context.Background()
	l := audit.NewLedger(js)
	for i := range 5 {
		require.NoError(t, l.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "alice", Action: fmt.Sprintf("a%d", i), Decision: "deny"}))
	}
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "AUDIT_COPY", Subjects: []string{"copy.>"}})
	require.NoError(t, err)
	var tamperedID string
	require.NoError(t, audit.Walk(ctx, js, audit.Stream, zeroTime, func(seq uint64, raw []byte) bool {
		if seq == 3 {
			var r audit.Record
			require.NoError(t, json.Unmarshal(raw, &r))
			r.Decision = "allow" // the edit
			tamperedID = r.ID
			raw, _ = json.Marshal(r)
		}
		_, err := js.Publish(ctx, "copy.x", raw)
		require.NoError(t, err)
		return true
	}))
	rep, err := audit.Verify(ctx, js, "AUDIT_COPY")
	require.NoError(t, err)
	assert.False(t, rep.OK)
	require.NotNil(t, rep.Broken)
	assert.Equal(t, uint64(3), rep.Broken.Seq)
	assert.Equal(t, tamperedID, rep.Broken.ID)
	assert.Equal(t, 2, rep.Records, "the records before it verify")

	rep, err = audit.Verify(ctx, js, audit.Stream)
	require.NoError(t, err)
	assert.True(t, rep.OK, "the original still verifies")
}

// Concurrent appends share messages (group commit), every caller returns
// only once its record is stored, and an edit inside a shared message is
// found at that record's line.
func TestGroupCommitSharesMessagesAndVerifiesPerRecord(t *testing.T) {
	js := auditStream(t)
	ctx := context.Background()
	l := audit.NewLedger(js)
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			assert.NoError(t, l.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "bob", Action: fmt.Sprintf("a%d", i)}))
		})
	}
	wg.Wait()
	s, err := js.Stream(ctx, audit.Stream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	assert.Less(t, info.State.Msgs, uint64(300), "records of concurrent callers share messages")
	rep, err := audit.Verify(ctx, js, audit.Stream)
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep.Broken)
	assert.Equal(t, 300, rep.Records)
	got, err := audit.Query(ctx, js, audit.Stream, audit.Filter{Actor: "bob", Limit: 1000})
	require.NoError(t, err)
	assert.Len(t, got, 300)

	// Edit the second record of the first message that holds several.
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "AUDIT_COPY", Subjects: []string{"copy.>"}})
	require.NoError(t, err)
	var want audit.Broken
	require.NoError(t, audit.Walk(ctx, js, audit.Stream, zeroTime, func(seq uint64, raw []byte) bool {
		recs, err := audit.Records(raw)
		require.NoError(t, err)
		if want.Seq == 0 && len(recs) > 1 {
			recs[1].Decision = "allow"
			want = audit.Broken{Seq: seq, Line: 2, ID: recs[1].ID}
			var lines [][]byte
			for _, r := range recs {
				b, _ := json.Marshal(r)
				lines = append(lines, b)
			}
			raw = bytesJoin(lines)
		}
		_, err = js.Publish(ctx, "copy.x", raw)
		require.NoError(t, err)
		return true
	}))
	require.NotZero(t, want.Seq)
	rep, err = audit.Verify(ctx, js, "AUDIT_COPY")
	require.NoError(t, err)
	require.NotNil(t, rep.Broken)
	assert.Equal(t, want.Seq, rep.Broken.Seq)
	assert.Equal(t, want.Line, rep.Broken.Line)
	assert.Equal(t, want.ID, rep.Broken.ID)
}

func bytesJoin(lines [][]byte) []byte {
	var out []byte
	for i, l := range lines {
		if i > 0 {
			out = append(out, '\n')
		}
		out = append(out, l...)
	}
	return out
}
