package events_test

import (
	"time"

	"github.com/pave-platform/pave/pkg/events"
)

var costResources = []events.CostResource{{ID: "env-abcdefghijkl-db", Name: "db", Driver: "postgres", Class: "medium"}}

var costBudget = events.CostBudgetFigures{Period: "monthly", PeriodStart: at, PeriodEnd: at.Add(31 * 24 * time.Hour),
	Amount: "100.00", Spent: "80.25", Committed: "12.5", Requested: "18.6", Remaining: "7.25", Policy: "deny"}

// costSamples join samples in allSamples.
var costSamples = map[string]any{
	events.TypeCostCheckCommand: events.CostCheckCommand{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl", Team: "payments",
		Operation: "update", Resources: costResources, Previous: costResources, RequestedBy: "user:alice"},
	events.TypeCostCheckAllowed: events.CostCheck{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl", Team: "payments",
		Decision: events.CostDecisionAllowed, Reason: "fits", Currency: "USD", Hourly: "0.025", Monthly: "18.25",
		Increase: "0.025", Budget: &costBudget, At: at},
	events.TypeCostCheckDenied: events.CostCheck{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl", Team: "payments",
		Decision: events.CostDecisionDenied, Reason: "over by 11.35 USD", Currency: "USD", Hourly: "0.025", Monthly: "18.25",
		Increase: "0.025", Budget: &costBudget, At: at},
	events.TypeBudgetCrossed: events.BudgetCrossed{Team: "payments", Period: "weekly", PeriodStart: at, PeriodEnd: at.Add(7 * 24 * time.Hour),
		ThresholdPercent: 80, Amount: "100", Spent: "80.01", Forecast: "120.5", Currency: "EUR", At: at},
	events.TypeSpendSpiked: events.SpendSpiked{Team: "payments", WindowStart: at, WindowEnd: at.Add(time.Hour), LastHour: "12.00",
		Baseline: "1.50", BaselineHours: 24, RelativeThreshold: "2", MinimumAmount: "5", Currency: "USD", At: at},
}
