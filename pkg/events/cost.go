package events

import "time"

// The cost service's budget gate: a saga step sends a check, cost answers
// allowed or denied on pave.evt.cost.check.<decision>.
const (
	// TypeCostCheckCommand asks cost to estimate an environment's
	// resources and hold them against the team's budget. It is also how
	// cost learns each resource's class (provisioning's results carry no
	// class), so every create and update saga sends one.
	TypeCostCheckCommand = "dev.pave.cmd.cost.check.v1"
	TypeCostCheckAllowed = "dev.pave.cost.check.allowed.v1"
	TypeCostCheckDenied  = "dev.pave.cost.check.denied.v1"
)

// Cost alerts.
const (
	// TypeBudgetCrossed fires once per team, budget period and threshold.
	TypeBudgetCrossed = "dev.pave.cost.budget.crossed.v1"
	// TypeSpendSpiked fires at most once per team and hour.
	TypeSpendSpiked = "dev.pave.cost.spend.spiked.v1"
)

// Decisions of a cost check.
const (
	CostDecisionAllowed          = "allowed"
	CostDecisionDenied           = "denied"
	CostDecisionApprovalRequired = "approval_required"
)

func costTypes() map[string]any {
	return map[string]any{
		TypeCostCheckCommand: CostCheckCommand{},
		TypeCostCheckAllowed: CostCheck{},
		TypeCostCheckDenied:  CostCheck{},
		TypeBudgetCrossed:    BudgetCrossed{},
		TypeSpendSpiked:      SpendSpiked{},
	}
}

// CostResource is a resource as cost prices it.
type CostResource struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Driver string `json:"driver"`
	Class  string `json:"class"`
}

// CostCheckCommand is the data of TypeCostCheckCommand.
type CostCheckCommand struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	Team          string `json:"team"`
	// Operation is create or update.
	Operation string         `json:"operation"`
	Resources []CostResource `json:"resources"`
	// Previous holds, for an update, the resources as they were.
	Previous    []CostResource `json:"previous,omitempty"`
	RequestedBy string         `json:"requested_by,omitempty"`
}

// CostCheck is the data of TypeCostCheckAllowed and TypeCostCheckDenied.
// Amounts are decimal strings in Currency.
type CostCheck struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	Team          string `json:"team"`
	// Decision is allowed, denied or approval_required (denied for now:
	// approvals through access are not built).
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	Currency string `json:"currency"`
	// Hourly and Monthly estimate the environment as the operation leaves it.
	Hourly  string `json:"hourly"`
	Monthly string `json:"monthly"`
	// Increase is the hourly cost the operation adds (an update's
	// difference; a create's whole hourly estimate).
	Increase string `json:"increase"`
	// Budget is absent when the team has no budget.
	Budget *CostBudgetFigures `json:"budget,omitempty"`
	At     time.Time          `json:"at"`
}

// CostBudgetFigures are the figures a check compared.
type CostBudgetFigures struct {
	Period      string    `json:"period"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	Amount      string    `json:"amount"`
	Spent       string    `json:"spent"`
	// Committed is what running and approved environments will still
	// cost until the period ends.
	Committed string `json:"committed"`
	// Requested is what the operation adds until the period ends.
	Requested string `json:"requested"`
	// Remaining is Amount less Spent and Committed.
	Remaining string `json:"remaining"`
	Policy    string `json:"policy"`
}

// BudgetCrossed is the data of TypeBudgetCrossed.
type BudgetCrossed struct {
	Team             string    `json:"team"`
	Period           string    `json:"period"`
	PeriodStart      time.Time `json:"period_start"`
	PeriodEnd        time.Time `json:"period_end"`
	ThresholdPercent int       `json:"threshold_percent"`
	Amount           string    `json:"amount"`
	Spent            string    `json:"spent"`
	Forecast         string    `json:"forecast"`
	Currency         string    `json:"currency"`
	At               time.Time `json:"at"`
}

// SpendSpiked is the data of TypeSpendSpiked: the last hour's spend
// against the average hour of the baseline before it.
type SpendSpiked struct {
	Team          string    `json:"team"`
	WindowStart   time.Time `json:"window_start"`
	WindowEnd     time.Time `json:"window_end"`
	LastHour      string    `json:"last_hour"`
	Baseline      string    `json:"baseline"`
	BaselineHours int       `json:"baseline_hours"`
	// RelativeThreshold is the ratio over the baseline that fires.
	RelativeThreshold string    `json:"relative_threshold"`
	MinimumAmount     string    `json:"minimum_amount"`
	Currency          string    `json:"currency"`
	At                time.Time `json:"at"`
}
