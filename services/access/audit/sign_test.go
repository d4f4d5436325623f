package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/access/audit"
)

// forge appends raw after the stream's tail exactly as a writer of the
// ledger does (fenced on the last sequence), so only the record's content
// can give it away.
func forge(t *testing.T, js jetstream.JetStream, r audit.Record) {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, audit.Stream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	last, err := s.GetMsg(ctx, info.State.LastSeq)
	require.NoError(t, err)
	recs, err := audit.Records(last.Data)
	require.NoError(t, err)
	r.Prev = recs[len(recs)-1].Hash
	r.Hash = r.ComputeHash()
	raw, err := json.Marshal(r)
	require.NoError(t, err)
	_, err = js.Publish(ctx, audit.Subject(audit.KindDecision), raw, jetstream.WithExpectLastSequence(info.State.LastSeq))
	require.NoError(t, err)
}

func signer(t *testing.T) *audit.Signer {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	_, err := rand.Read(seed)
	require.NoError(t, err)
	s, err := audit.NewSigner(seed)
	require.NoError(t, err)
	return s
}

// Attack (issue 16, finding 6): with the previous record's hash, a record
// published directly on pave.audit.decision chains correctly — and still
// fails verification, named, because only the access service's key signs.
// A record signed with another key, or carrying the right key id with a
// signature copied from another record, fails too.
func TestAttackAForgedRecordWithTheRightPrevFailsVerification(t *testing.T) {
	ctx := context.Background()
	access := signer(t)
	keys := audit.Keyring{}
	keys.Add(access.Public())
	write := func(js jetstream.JetStream) {
		l := audit.NewLedger(js).WithSigner(access)
		for _, a := range []string{"environment:read", "member:read"} {
			require.NoError(t, l.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "alice", Action: a, Decision: "allow"}))
		}
	}
	js := auditStream(t)
	write(js)
	rep, err := audit.Verify(ctx, js, audit.Stream, audit.Signed(keys))
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep.Broken)

	attacker := signer(t)
	tests := []struct {
		name   string
		write  func(js jetstream.JetStream)
		reason string
	}{
		{"unsigned", func(js jetstream.JetStream) {
			forge(t, js, audit.Record{ID: "aud-forged", Kind: audit.KindDecision, Actor: "mallory", Action: "member:write", Decision: "allow"})
		}, "not signed by the access service"},
		{"another key", func(js jetstream.JetStream) {
			require.NoError(t, audit.NewLedger(js).WithSigner(attacker).Append(ctx,
				audit.Record{ID: "aud-forged", Kind: audit.KindDecision, Actor: "mallory", Action: "member:write"}))
		}, "signed by an unknown key " + attacker.ID()},
		{"copied signature", func(js jetstream.JetStream) {
			var genuine audit.Record
			require.NoError(t, audit.Walk(ctx, js, audit.Stream, zeroTime, func(_ uint64, raw []byte) bool {
				recs, _ := audit.Records(raw)
				genuine = recs[len(recs)-1]
				return true
			}))
			forge(t, js, audit.Record{ID: "aud-forged", Kind: audit.KindDecision, Actor: "mallory", Action: "member:write",
				Key: genuine.Key, Sig: genuine.Sig})
		}, "signature does not match the record"},
	}
	for _, tt := range tests {
		js := auditStream(t)
		write(js)
		tt.write(js)
		rep, err := audit.Verify(ctx, js, audit.Stream, audit.Signed(keys))
		require.NoError(t, err, tt.name)
		assert.False(t, rep.OK, tt.name)
		require.NotNil(t, rep.Broken, tt.name)
		assert.Equal(t, "aud-forged", rep.Broken.ID, tt.name)
		assert.Equal(t, tt.reason, rep.Broken.Reason, tt.name)
		assert.Equal(t, 2, rep.Records, "%s: the genuine records before it verify", tt.name)
		chainOnly, err := audit.Verify(ctx, js, audit.Stream)
		require.NoError(t, err)
		assert.True(t, chainOnly.OK, "%s: the chain alone cannot tell", tt.name)
	}
}

// The key file is made once, mode 0600, and read back the same.
func TestSigningKeyFileIsCreatedOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	cfg := audit.SigningConfig{DataDir: dir}
	s1, keys, file, created, err := cfg.Load()
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, filepath.Join(dir, "audit-signing.key"), file)
	st, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	s2, _, _, created, err := cfg.Load()
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, s1.ID(), s2.ID())
	assert.Contains(t, keys, s1.ID())

	for _, bad := range []audit.SigningConfig{{Key: "not-base64!"}, {Key: "c2hvcnQ="}, {TrustedKeys: "abc"},
		{Key: "x", KeyFile: "y"}} {
		assert.Error(t, bad.Validate(), "%+v", bad)
	}
}

// A ledger written before records were signed still verifies once its
// last unsigned sequence is configured; a record after it must be signed.
func TestUnsignedThroughExemptsOnlyTheOldRecords(t *testing.T) {
	ctx := context.Background()
	js := auditStream(t)
	old := audit.NewLedger(js)
	require.NoError(t, old.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "alice", Action: "a"}))
	require.NoError(t, old.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "alice", Action: "b"}))
	access := signer(t)
	keys := audit.Keyring{}
	keys.Add(access.Public())
	require.NoError(t, audit.NewLedger(js).WithSigner(access).Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "bob", Action: "c"}))
	cfg := audit.SigningConfig{UnsignedThrough: 2}
	rep, err := audit.Verify(ctx, js, audit.Stream, cfg.VerifyOptions(keys)...)
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Broken)
	assert.Equal(t, 3, rep.Records)

	forge(t, js, audit.Record{ID: "aud-forged", Kind: audit.KindDecision, Actor: "mallory", Action: "member:write"})
	rep, err = audit.Verify(ctx, js, audit.Stream, cfg.VerifyOptions(keys)...)
	require.NoError(t, err)
	require.NotNil(t, rep.Broken)
	assert.Equal(t, "aud-forged", rep.Broken.ID)
}
