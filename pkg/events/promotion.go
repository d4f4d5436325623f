package events

import "time"

// Promotion pipelines (lifecycle): an application's revision moves from
// stage to stage through gates. Every step and outcome of a promotion is
// an event on pave.evt.lifecycle.promotion.<event>; the saga's own steps
// are commands to lifecycle itself on pave.cmd.lifecycle.promote.
const (
	TypePromoteCommand = "dev.pave.cmd.lifecycle.promote.v1"

	TypePromotionRequested   = "dev.pave.lifecycle.promotion.requested.v1"
	TypePromotionChecked     = "dev.pave.lifecycle.promotion.checked.v1"
	TypePromotionWaiting     = "dev.pave.lifecycle.promotion.waiting.v1"
	TypePromotionApproved    = "dev.pave.lifecycle.promotion.approved.v1"
	TypePromotionApplied     = "dev.pave.lifecycle.promotion.applied.v1"
	TypePromotionPromoted    = "dev.pave.lifecycle.promotion.promoted.v1"
	TypePromotionRejected    = "dev.pave.lifecycle.promotion.rejected.v1"
	TypePromotionRollingBack = "dev.pave.lifecycle.promotion.rollingback.v1"
	TypePromotionRolledBack  = "dev.pave.lifecycle.promotion.rolledback.v1"
	TypePromotionFailed      = "dev.pave.lifecycle.promotion.failed.v1"

	TypeApplicationConfigured = "dev.pave.lifecycle.application.configured.v1"
)

// Actions of a PromoteCommand: the promotion saga's steps.
const (
	PromoteGates     = "gates"
	PromoteApprovals = "approvals"
	PromoteApply     = "apply"
	PromoteVerify    = "verify"
	PromoteRollback  = "rollback"
)

func promotionTypes() map[string]any {
	return map[string]any{
		TypePromoteCommand:        PromoteCommand{},
		TypePromotionRequested:    PromotionChanged{},
		TypePromotionChecked:      PromotionChanged{},
		TypePromotionWaiting:      PromotionChanged{},
		TypePromotionApproved:     PromotionChanged{},
		TypePromotionApplied:      PromotionChanged{},
		TypePromotionPromoted:     PromotionChanged{},
		TypePromotionRejected:     PromotionChanged{},
		TypePromotionRollingBack:  PromotionChanged{},
		TypePromotionRolledBack:   PromotionChanged{},
		TypePromotionFailed:       PromotionChanged{},
		TypeApplicationConfigured: ApplicationConfigured{},
	}
}

// PromoteCommand is the data of TypePromoteCommand: run one step of the
// promotion saga (check gates, wait for approvals, apply, verify, roll
// back).
type PromoteCommand struct {
	Saga        Saga   `json:"saga"`
	PromotionID string `json:"promotion_id"`
	Action      string `json:"action"`
}

// PromotionChanged is the data of every promotion event: the promotion
// as it is after the step.
type PromotionChanged struct {
	PromotionID   string          `json:"promotion_id"`
	Application   string          `json:"application"`
	Team          string          `json:"team"`
	FromStage     string          `json:"from_stage,omitempty"`
	ToStage       string          `json:"to_stage"`
	EnvironmentID string          `json:"environment_id"`
	Commit        string          `json:"commit,omitempty"`
	By            string          `json:"by"`
	State         string          `json:"state"`
	Reason        string          `json:"reason,omitempty"`
	Gates         []PromotionGate `json:"gates"`
	Approvals     []string        `json:"approvals"`
	Seq           int             `json:"seq"`
	At            time.Time       `json:"at"`
}

// PromotionGate is one gate's verdict.
type PromotionGate struct {
	Gate   string `json:"gate"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// ApplicationConfigured is the data of TypeApplicationConfigured: an
// application's pipeline was set through the API.
type ApplicationConfigured struct {
	Name       string    `json:"name"`
	Team       string    `json:"team"`
	Repository string    `json:"repository,omitempty"`
	Stages     []string  `json:"stages"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}
