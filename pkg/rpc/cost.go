package rpc

// Cost API calls, answered by the cost service.
const (
	CostsEstimate = "pave.cost.api.costs.estimate"
	CostsQuery    = "pave.cost.api.costs.query"
	// CostsExport answers one page of CSV rows; the gateway asks for
	// pages until the last and streams them out as one file.
	CostsExport  = "pave.cost.api.costs.export"
	BudgetsList  = "pave.cost.api.budgets.list"
	BudgetsGet   = "pave.cost.api.budgets.get"
	BudgetsPut   = "pave.cost.api.budgets.put"
	RateCardsGet = "pave.cost.api.ratecards.get"
)
