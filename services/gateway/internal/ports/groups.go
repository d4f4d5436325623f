package ports

import (
	"fmt"
	"maps"
)

// route is one forwarded route: the rpc subject that answers it and the
// path wildcards passed along.
type route struct {
	pattern, subject string
	keys             []string
}

// routeGroups are every forwarded route, an area per file.
var routeGroups = [][]route{forwarded, accessRoutes, promotionRoutes, automateRoutes}

// routeRules maps every registered route pattern to its action and
// resource, merged from each area's table. A pattern missing here is
// denied (authz_test.go fails first).
var routeRules = mergeRules(coreRules, accessRules, promotionRules, ingressRules, automateRules, notifyRules)

func mergeRules(tables ...map[string]resolver) map[string]resolver {
	out := map[string]resolver{}
	for _, t := range tables {
		for k := range t {
			if _, dup := out[k]; dup {
				panic(fmt.Sprintf("route %q has two access rules", k))
			}
		}
		maps.Copy(out, t)
	}
	return out
}
