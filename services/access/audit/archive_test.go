package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access/audit"
)

// rolling is a ledger whose segments hold 5 records and whose archived
// records leave the stream at once (a tiny retention).
type rolling struct {
	js      jetstream.JetStream
	ledger  *audit.Ledger
	archive audit.Archive
	comp    *audit.Compactor
	keys    audit.Keyring
}

func newRolling(t *testing.T, archive func(jetstream.JetStream) audit.Archive) rolling {
	t.Helper()
	js := auditStream(t)
	s := signer(t)
	keys := audit.Keyring{}
	keys.Add(s.Public())
	a := archive(js)
	cfg := audit.ArchiveConfig{SegmentRecords: 5, Retention: time.Nanosecond, Interval: time.Second}
	return rolling{js: js, ledger: audit.NewLedger(js).WithSigner(s), archive: a, keys: keys,
		comp: audit.NewCompactor(js, audit.Stream, a, s, cfg, slog.New(slog.DiscardHandler))}
}

func (r rolling) append(t *testing.T, n int, actor string) {
	t.Helper()
	for i := range n {
		require.NoError(t, r.ledger.Append(context.Background(), audit.Record{Kind: audit.KindDecision, Actor: actor, Action: fmt.Sprintf("a%d", i)}))
	}
}

func (r rolling) verify(t *testing.T) audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), r.js, audit.Stream, audit.Signed(r.keys), audit.Archived(r.archive))
	require.NoError(t, err)
	return rep
}

func streamState(t *testing.T, js jetstream.JetStream) jetstream.StreamState {
	t.Helper()
	s, err := js.Stream(context.Background(), audit.Stream)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	return info.State
}

var archives = []struct {
	name string
	open func(t *testing.T) func(jetstream.JetStream) audit.Archive
}{
	{"object store", func(t *testing.T) func(jetstream.JetStream) audit.Archive {
		return func(js jetstream.JetStream) audit.Archive {
			a, err := audit.NewObjectArchive(context.Background(), js, 1, 64<<20)
			require.NoError(t, err)
			return a
		}
	}},
	{"directory", func(t *testing.T) func(jetstream.JetStream) audit.Archive {
		return func(jetstream.JetStream) audit.Archive {
			a, err := audit.NewDirArchive(filepath.Join(t.TempDir(), "audit"))
			require.NoError(t, err)
			return a
		}
	}},
}

// With segments of 5 records and a tiny retention, records roll into the
// archive and leave the stream, and the ledger still verifies end to end
// (archive, then stream); the stream alone no longer does.
func TestRecordsRollIntoTheArchiveLeaveTheStreamAndStillVerify(t *testing.T) {
	for _, tt := range archives {
		t.Run(tt.name, func(t *testing.T) {
			r := newRolling(t, tt.open(t))
			ctx := context.Background()
			r.append(t, 23, "amy")
			res, err := r.comp.Pass(ctx)
			require.NoError(t, err)
			assert.Equal(t, 4, res.Sealed, "23 records: four full segments of 5, three records not sealed yet")
			assert.Equal(t, uint64(20), res.Purged)
			st := streamState(t, r.js)
			assert.Equal(t, uint64(3), st.Msgs, "only the records not archived are left in AUDIT")
			assert.Equal(t, uint64(21), st.FirstSeq)

			rep := r.verify(t)
			require.True(t, rep.OK, "%+v", rep.Broken)
			assert.Equal(t, 23, rep.Records)
			assert.Equal(t, 4, rep.Segments)
			assert.Equal(t, 20, rep.Archived)

			alone, err := audit.Verify(ctx, r.js, audit.Stream, audit.Signed(r.keys))
			require.NoError(t, err)
			assert.False(t, alone.OK, "the stream alone starts in the middle of the chain")

			// The ledger goes on after a purge: it chains on the last message,
			// which is never purged; a fresh compactor (a restart) resumes.
			r.append(t, 12, "bob") // 35 records: the seventh segment ends with the last message
			again := audit.NewCompactor(r.js, audit.Stream, r.archive, nil, audit.ArchiveConfig{SegmentRecords: 5, Retention: time.Nanosecond}, slog.New(slog.DiscardHandler))
			res, err = again.Pass(ctx)
			require.NoError(t, err)
			assert.Equal(t, 3, res.Sealed)
			rep, err = audit.Verify(ctx, r.js, audit.Stream, audit.Archived(r.archive))
			require.NoError(t, err)
			require.True(t, rep.OK, "%+v", rep.Broken)
			assert.Equal(t, 35, rep.Records)
			assert.Equal(t, 7, rep.Segments)
			assert.Equal(t, uint64(5), streamState(t, r.js).Msgs, "the segment holding the last message stays: the ledger chains on it")
		})
	}
}

// Records that are not archived never leave: an unsealed tail stays
// whatever the retention, and an archived segment stays until it is older
// than the retention.
func TestNothingLeavesTheStreamBeforeItIsArchived(t *testing.T) {
	js := auditStream(t)
	ctx := context.Background()
	a, err := audit.NewDirArchive(t.TempDir())
	require.NoError(t, err)
	l := audit.NewLedger(js)
	for i := range 12 {
		require.NoError(t, l.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "amy", Action: fmt.Sprintf("a%d", i)}))
	}
	big := audit.NewCompactor(js, audit.Stream, a, nil, audit.ArchiveConfig{SegmentRecords: 100, Retention: time.Nanosecond}, slog.New(slog.DiscardHandler))
	res, err := big.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, audit.PassResult{}, res)
	assert.Equal(t, uint64(12), streamState(t, js).Msgs, "no segment is full: nothing archived, nothing purged")

	kept := audit.NewCompactor(js, audit.Stream, a, nil, audit.ArchiveConfig{SegmentRecords: 5, Retention: time.Hour}, slog.New(slog.DiscardHandler))
	res, err = kept.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Sealed)
	assert.Zero(t, res.Purged, "archived, but younger than the retention")
	assert.Equal(t, uint64(12), streamState(t, js).Msgs)

	// The next pass goes on from the two records it read already.
	for i := range 3 {
		require.NoError(t, l.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "bob", Action: fmt.Sprintf("b%d", i)}))
	}
	res, err = kept.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Sealed)
	rep, err := audit.Verify(ctx, js, audit.Stream, audit.Archived(a))
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep.Broken)
	assert.Equal(t, 3, rep.Segments)
	assert.Equal(t, 15, rep.Archived)
}

// Attack: a record changed inside an archived segment fails verification,
// naming the segment and the record; a segment removed from the archive
// fails at the segment after it.
func TestATamperedArchivedSegmentFailsNamingIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	r := newRolling(t, func(jetstream.JetStream) audit.Archive {
		a, err := audit.NewDirArchive(dir)
		require.NoError(t, err)
		return a
	})
	ctx := context.Background()
	r.append(t, 17, "amy")
	_, err := r.comp.Pass(ctx)
	require.NoError(t, err)
	names, err := r.archive.List(ctx)
	require.NoError(t, err)
	require.Len(t, names, 3)

	// Change the decision of the third record of the second segment.
	path := filepath.Join(dir, names[1])
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(string(orig), "\n")
	var m struct {
		Seq  uint64 `json:"seq"`
		Data string `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[3]), &m))
	var rec audit.Record
	require.NoError(t, json.Unmarshal([]byte(m.Data), &rec))
	rec.Decision = "allow"
	data, _ := json.Marshal(rec)
	m.Data = string(data)
	line, _ := json.Marshal(m)
	lines[3] = string(line)
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600))

	rep := r.verify(t)
	assert.False(t, rep.OK)
	require.NotNil(t, rep.Broken)
	assert.Equal(t, names[1], rep.Broken.Segment)
	assert.Equal(t, m.Seq, rep.Broken.Seq)
	assert.Equal(t, rec.ID, rep.Broken.ID)
	assert.Equal(t, "hash does not match the record's content", rep.Broken.Reason)
	assert.Equal(t, 7, rep.Records, "the records before it verify")

	// Put it back, and remove the first segment instead.
	require.NoError(t, os.WriteFile(path, orig, 0o600))
	require.True(t, r.verify(t).OK)
	require.NoError(t, os.Remove(filepath.Join(dir, names[0])))
	rep = r.verify(t)
	require.NotNil(t, rep.Broken)
	assert.Equal(t, names[1], rep.Broken.Segment)
	assert.Equal(t, "prev does not match the hash of the record before it", rep.Broken.Reason)
}

// A record missing from both the archive and the stream is a gap, named.
func TestRecordsNeitherArchivedNorInTheStreamAreNamed(t *testing.T) {
	r := newRolling(t, archives[1].open(t))
	ctx := context.Background()
	r.append(t, 12, "amy")
	_, err := r.comp.Pass(ctx)
	require.NoError(t, err)
	r.append(t, 3, "bob")
	s, err := r.js.Stream(ctx, audit.Stream)
	require.NoError(t, err)
	require.NoError(t, s.Purge(ctx, jetstream.WithPurgeSequence(14))) // someone else purges unarchived records
	rep := r.verify(t)
	require.NotNil(t, rep.Broken)
	assert.Equal(t, uint64(11), rep.Broken.Seq)
	assert.Contains(t, rep.Broken.Reason, "records of sequences 11 to 13 are neither archived nor in the stream")
}

func TestArchiveConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		give map[string]string
		want string
	}{
		{map[string]string{"PAVE_AUDIT_ARCHIVE": "s3://bucket/audit"}, "PAVE_AUDIT_ARCHIVE: an S3-compatible archive is not implemented"},
		{map[string]string{"PAVE_AUDIT_ARCHIVE": "tape"}, "PAVE_AUDIT_ARCHIVE"},
		{map[string]string{"PAVE_AUDIT_ARCHIVE": "dir:"}, "PAVE_AUDIT_ARCHIVE: dir: needs a path"},
		{map[string]string{"PAVE_AUDIT_SEGMENT_RECORDS": "0"}, "PAVE_AUDIT_SEGMENT_RECORDS"},
		{map[string]string{"PAVE_AUDIT_ARCHIVE_INTERVAL": "1ms"}, "PAVE_AUDIT_ARCHIVE_INTERVAL"},
		{map[string]string{"PAVE_AUDIT_RETENTION": "-1h"}, "PAVE_AUDIT_RETENTION"},
	}
	for _, tt := range tests {
		var c audit.ArchiveConfig
		err := config.LoadFrom(&c, tt.give)
		require.Error(t, err, tt.give)
		assert.Contains(t, err.Error(), tt.want)
	}
	var c audit.ArchiveConfig
	require.NoError(t, config.LoadFrom(&c, nil))
	assert.Equal(t, 720*time.Hour, c.Retention)
	assert.Equal(t, "objectstore", c.Archive)
}

// An AUDIT stream declared by an earlier Pave (purge denied, which
// JetStream cannot undo) still starts: it keeps purge denied, segments are
// archived and verify, and nothing leaves the stream.
func TestAnAuditStreamFromBeforeArchivingIsArchivedButKept(t *testing.T) {
	js := testkit.NATS(t).JetStream(t)
	ctx := context.Background()
	old := bus.CoreStreams(bus.DefaultStreamOptions())
	for i := range old {
		if old[i].Name == audit.Stream {
			old[i].DenyPurge = true
		}
	}
	require.NoError(t, bus.EnsureStreams(ctx, js, old...))
	require.NoError(t, bus.EnsureStreams(ctx, js, bus.CoreStreams(bus.DefaultStreamOptions())...), "the upgrade's declaration is accepted")
	a, err := audit.NewDirArchive(t.TempDir())
	require.NoError(t, err)
	l := audit.NewLedger(js)
	for i := range 7 {
		require.NoError(t, l.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "amy", Action: fmt.Sprintf("a%d", i)}))
	}
	res, err := audit.NewCompactor(js, audit.Stream, a, nil, audit.ArchiveConfig{SegmentRecords: 5, Retention: time.Nanosecond}, slog.New(slog.DiscardHandler)).Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, audit.PassResult{Sealed: 1}, res)
	assert.Equal(t, uint64(7), streamState(t, js).Msgs)
	rep, err := audit.Verify(ctx, js, audit.Stream, audit.Archived(a))
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Broken)
	assert.Equal(t, 7, rep.Records)
}
