package domain_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func TestCIVerdict(t *testing.T) {
	tests := []struct {
		name     string
		required bool
		commit   string
		runs     map[string]string
		pass     bool
		detail   string
	}{
		{"not required", false, "", nil, true, "not required"},
		{"no commit", true, "", nil, false, "no commit"},
		{"no run", true, sha, map[string]string{}, false, "no CI run recorded"},
		{"only failures", true, sha, map[string]string{"build": "failure", "lint": "cancelled"}, false, "build=failure"},
		{"one success is enough", true, sha, map[string]string{"build": "failure", "test": "success"}, true, "test succeeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := domain.CIVerdict(tt.required, tt.commit, tt.runs)
			assert.Equal(t, domain.GateCI, g.Gate)
			assert.Equal(t, tt.pass, g.Passed)
			assert.Contains(t, g.Detail, tt.detail)
		})
	}
}

func TestPromotionStateMachine(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := domain.Promotion{ID: "prm-aaaaaaaaaaaa", State: domain.PromotionCheckingGates}
	var err error
	for _, to := range []domain.PromotionState{domain.PromotionAwaitingApproval, domain.PromotionApplying,
		domain.PromotionVerifying, domain.PromotionRollingBack, domain.PromotionRolledBack} {
		p, err = p.Move(to, "", now)
		require.NoError(t, err, "to %s", to)
	}
	assert.True(t, p.State.Terminal())
	assert.Equal(t, now, p.EndedAt)
	_, err = p.Move(domain.PromotionApplying, "", now)
	assert.True(t, errors.Is(err, domain.ErrIllegalTransition), "nothing leaves a terminal state")

	tests := []struct {
		from, to domain.PromotionState
		ok       bool
	}{
		{domain.PromotionCheckingGates, domain.PromotionRejected, true},
		{domain.PromotionCheckingGates, domain.PromotionPromoted, false},
		{domain.PromotionAwaitingApproval, domain.PromotionRejected, true},
		{domain.PromotionAwaitingApproval, domain.PromotionRollingBack, false},
		{domain.PromotionVerifying, domain.PromotionPromoted, true},
		{domain.PromotionApplying, domain.PromotionPromoted, false},
		{domain.PromotionRollingBack, domain.PromotionRollbackFailed, true},
		{domain.PromotionPromoted, domain.PromotionRollingBack, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, domain.CanPromotionMove(tt.from, tt.to), "%s → %s", tt.from, tt.to)
	}
}

func TestApproveEnforcesSeparationOfDutiesAndRole(t *testing.T) {
	now := time.Now()
	p := domain.Promotion{ID: "prm-aaaaaaaaaaaa", By: "alice", State: domain.PromotionAwaitingApproval,
		Gates: domain.Gates{Approvals: 2, ApproverRole: "maintainer"}}
	_, err := p.Approve("alice", "admin", now)
	assert.ErrorIs(t, err, domain.ErrSelfApproval)
	_, err = p.Approve("bob", "developer", now)
	assert.ErrorIs(t, err, domain.ErrApproverRole)
	p, err = p.Approve("bob", "maintainer", now)
	require.NoError(t, err)
	assert.False(t, p.Approved(), "one of two approvals")
	_, err = p.Approve("bob", "maintainer", now)
	assert.ErrorIs(t, err, domain.ErrAlreadyApproved)
	p, err = p.Approve("carol", "admin", now)
	require.NoError(t, err)
	assert.True(t, p.Approved())
	p.State = domain.PromotionPromoted
	_, err = p.Approve("dave", "admin", now)
	assert.ErrorIs(t, err, domain.ErrNotAwaiting)
}

func TestPromotionIDsAndCommits(t *testing.T) {
	id, err := domain.NewPromotionID(bytes.NewReader(make([]byte, 8)))
	require.NoError(t, err)
	assert.True(t, domain.ValidPromotionID(id), id)
	assert.False(t, domain.ValidPromotionID("env-aaaaaaaaaaaa"))
	assert.True(t, domain.ValidCommit(sha))
	assert.False(t, domain.ValidCommit(sha[:39]))
	assert.False(t, domain.ValidCommit("0123456789ABCDEF0123456789abcdef01234567"))
}

func TestRecordReplacesAGatesResult(t *testing.T) {
	p := domain.Promotion{}.Record(domain.GateResult{Gate: "ci"}).Record(domain.GateResult{Gate: "policy", Passed: true})
	p = p.Record(domain.GateResult{Gate: "ci", Passed: true, Detail: "again"})
	require.Len(t, p.Results, 2)
	assert.Equal(t, domain.GateResult{Gate: "ci", Passed: true, Detail: "again"}, p.Results[0])
}

func TestWithCommitMarksTheCurrentRevision(t *testing.T) {
	e := domain.Environment{Revisions: []domain.Revision{{Number: 1}, {Number: 2}}}
	e2 := e.WithCommit(sha)
	assert.Equal(t, sha, e2.Commit())
	assert.Empty(t, e.Revisions[1].Commit, "the receiver is unchanged")
	assert.Empty(t, e2.Revisions[0].Commit)
}
