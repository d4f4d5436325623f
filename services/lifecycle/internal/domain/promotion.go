package domain

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"
)

// PromotionState is where a promotion is.
type PromotionState string

// Promotion states. The last four are terminal.
const (
	PromotionCheckingGates    PromotionState = "checking_gates"
	PromotionAwaitingApproval PromotionState = "awaiting_approval"
	PromotionApplying         PromotionState = "applying"
	PromotionVerifying        PromotionState = "verifying"
	PromotionRollingBack      PromotionState = "rolling_back"
	PromotionPromoted         PromotionState = "promoted"
	PromotionRejected         PromotionState = "rejected"
	PromotionRolledBack       PromotionState = "rolled_back"
	PromotionRollbackFailed   PromotionState = "rollback_failed"
)

// Terminal reports whether nothing more happens to a promotion in s.
func (s PromotionState) Terminal() bool {
	return s == PromotionPromoted || s == PromotionRejected || s == PromotionRolledBack || s == PromotionRollbackFailed
}

// nextPromotionStates is the promotion's transition table.
//
//	checking_gates    → awaiting_approval, applying, rejected
//	awaiting_approval → applying, rejected (timed out)
//	applying          → verifying, rolling_back
//	verifying         → promoted, rolling_back
//	rolling_back      → rolled_back, rollback_failed
var nextPromotionStates = map[PromotionState][]PromotionState{
	PromotionCheckingGates:    {PromotionAwaitingApproval, PromotionApplying, PromotionRejected},
	PromotionAwaitingApproval: {PromotionApplying, PromotionRejected},
	PromotionApplying:         {PromotionVerifying, PromotionRollingBack},
	PromotionVerifying:        {PromotionPromoted, PromotionRollingBack},
	PromotionRollingBack:      {PromotionRolledBack, PromotionRollbackFailed},
}

// CanPromotionMove reports whether the table allows from → to.
func CanPromotionMove(from, to PromotionState) bool {
	return slices.Contains(nextPromotionStates[from], to)
}

// Gate names.
const (
	GateCI        = "ci"
	GatePolicy    = "policy"
	GateApprovals = "approvals"
)

// GateResult is one gate's verdict, kept in the promotion's history.
type GateResult struct {
	Gate   string `json:"gate"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// Approval is one person's yes.
type Approval struct {
	By   string    `json:"by"`
	Role string    `json:"role"`
	At   time.Time `json:"at"`
}

// Promotion moves one revision of an application into a stage.
type Promotion struct {
	ID          string `json:"id"`
	Application string `json:"application"`
	Team        string `json:"team"`
	// FromStage is empty when promoting into the first stage.
	FromStage         string `json:"from_stage,omitempty"`
	ToStage           string `json:"to_stage"`
	SourceEnvironment string `json:"source_environment_id,omitempty"`
	SourceRevision    int    `json:"source_revision,omitempty"`
	EnvironmentID     string `json:"environment_id"`
	Commit            string `json:"commit,omitempty"`
	// Parameters are what the target environment is updated with.
	Parameters map[string]any `json:"parameters"`
	// PreviousRevision is the target's revision before the promotion:
	// what a rollback restores.
	PreviousRevision int            `json:"previous_revision"`
	By               string         `json:"by"`
	State            PromotionState `json:"state"`
	Reason           string         `json:"reason,omitempty"`
	Gates            Gates          `json:"required"`
	Results          []GateResult   `json:"gates"`
	Approvals        []Approval     `json:"approvals"`
	// AppliedRevision is the target revision the promotion made.
	AppliedRevision int       `json:"applied_revision,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	EndedAt         time.Time `json:"ended_at,omitzero"`
}

// Promotion errors.
var (
	ErrSelfApproval    = errors.New("the promoter may not approve their own promotion")
	ErrApproverRole    = errors.New("approver role too low")
	ErrAlreadyApproved = errors.New("already approved by this person")
	ErrNotAwaiting     = errors.New("promotion is not awaiting approval")
)

// Move changes the state if the table allows it.
func (p Promotion) Move(to PromotionState, reason string, now time.Time) (Promotion, error) {
	if p.State == to {
		return p, nil
	}
	if !CanPromotionMove(p.State, to) {
		return p, fmt.Errorf("promotion %s: %s → %s: %w", p.ID, p.State, to, ErrIllegalTransition)
	}
	p.State, p.UpdatedAt = to, now
	if reason != "" {
		p.Reason = reason
	}
	if to.Terminal() {
		p.EndedAt = now
	}
	return p, nil
}

// Record replaces the result of gate r.Gate, or adds it.
func (p Promotion) Record(r GateResult) Promotion {
	p.Results = slices.Clone(p.Results)
	if i := slices.IndexFunc(p.Results, func(g GateResult) bool { return g.Gate == r.Gate }); i >= 0 {
		p.Results[i] = r
		return p
	}
	p.Results = append(p.Results, r)
	return p
}

// Approve records by's approval with their team role. The promoter may
// not approve (separation of duties), the role must satisfy the stage's
// approver role, and nobody approves twice.
func (p Promotion) Approve(by, role string, now time.Time) (Promotion, error) {
	switch {
	case p.Gates.Approvals == 0 || p.State != PromotionAwaitingApproval && p.State != PromotionCheckingGates:
		return p, fmt.Errorf("promotion %s is %s: %w", p.ID, p.State, ErrNotAwaiting)
	case by == p.By:
		return p, ErrSelfApproval
	case !RoleSatisfies(role, p.Gates.ApproverRole):
		return p, fmt.Errorf("%w: %q is not at least %s", ErrApproverRole, role, p.Gates.ApproverRole)
	case slices.ContainsFunc(p.Approvals, func(a Approval) bool { return a.By == by }):
		return p, ErrAlreadyApproved
	}
	p.Approvals = append(slices.Clip(p.Approvals), Approval{By: by, Role: role, At: now})
	p.UpdatedAt = now
	return p, nil
}

// Approved reports whether enough people approved.
func (p Promotion) Approved() bool { return len(p.Approvals) >= p.Gates.Approvals }

// CIVerdict evaluates the CI gate from the conclusions recorded for the
// promoted commit: it passes when one run succeeded.
func CIVerdict(required bool, commit string, conclusions map[string]string) GateResult {
	if !required {
		return GateResult{Gate: GateCI, Passed: true, Detail: "not required"}
	}
	if commit == "" {
		return GateResult{Gate: GateCI, Detail: "the revision has no commit to check"}
	}
	var seen []string
	for _, name := range sortedKeys(conclusions) {
		if conclusions[name] == "success" {
			return GateResult{Gate: GateCI, Passed: true, Detail: fmt.Sprintf("%s succeeded for %s", name, commit[:12])}
		}
		seen = append(seen, name+"="+conclusions[name])
	}
	if len(seen) == 0 {
		return GateResult{Gate: GateCI, Detail: fmt.Sprintf("no CI run recorded for commit %s", commit)}
	}
	return GateResult{Gate: GateCI, Detail: fmt.Sprintf("no successful CI run for commit %s: %v", commit, seen)}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var promotionIDFormat = regexp.MustCompile(`^prm-[a-z2-7]{12}$`)

// NewPromotionID draws a promotion id ("prm-" and 12 base32 characters)
// from entropy.
func NewPromotionID(entropy io.Reader) (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(entropy, b[:]); err != nil {
		return "", fmt.Errorf("generate promotion id: %w", err)
	}
	return "prm-" + idEncoding.EncodeToString(b[:])[:12], nil
}

// ValidPromotionID reports whether id has the shape NewPromotionID makes.
func ValidPromotionID(id string) bool { return promotionIDFormat.MatchString(id) }
