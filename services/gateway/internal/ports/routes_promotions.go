package ports

// promotionRoutes are answered by lifecycle's promotion pipelines.
var promotionRoutes = []route{}

// promotionRules are the promotion routes' actions and resources.
var promotionRules = map[string]resolver{}
