package rpc

// Promotion pipeline API calls, answered by the lifecycle service.
const (
	ApplicationsList = "pave.lifecycle.api.applications.list"
	ApplicationsGet  = "pave.lifecycle.api.applications.get"
	ApplicationsPut  = "pave.lifecycle.api.applications.put"

	PromotionsCreate  = "pave.lifecycle.api.promotions.create"
	PromotionsList    = "pave.lifecycle.api.promotions.list"
	PromotionsGet     = "pave.lifecycle.api.promotions.get"
	PromotionsApprove = "pave.lifecycle.api.promotions.approve"
)
