package domain

// dependencyOrder returns the indexes of rs so that every resource comes
// after the resources it depends on; among resources free to go next,
// declaration order wins, so the order is stable. Unknown dependencies
// are ignored here (buildResources reports them). If some resources
// depend on each other in a circle, order is nil and cycle names one
// circle, first name repeated last: [a b a].
func dependencyOrder(rs []Resource) (order []int, cycle []string) {
	known := make(map[string]bool, len(rs))
	for _, r := range rs {
		known[r.Name] = true
	}
	placed := make(map[string]bool, len(rs))
	ready := func(r Resource) bool {
		for _, dep := range r.DependsOn {
			if known[dep] && !placed[dep] {
				return false
			}
		}
		return true
	}
	done := make([]bool, len(rs))
	for len(order) < len(rs) {
		next := -1
		for i, r := range rs {
			if !done[i] && ready(r) {
				next = i
				break
			}
		}
		if next < 0 {
			return nil, findCycle(rs, done, placed)
		}
		done[next], placed[rs[next].Name] = true, true
		order = append(order, next)
	}
	return order, nil
}

// findCycle follows unplaced dependencies from the first unplaced
// resource until a name repeats. Every unplaced resource waits on another
// unplaced one, so the walk must close a circle.
func findCycle(rs []Resource, done []bool, placed map[string]bool) []string {
	byName := make(map[string]Resource, len(rs))
	start := ""
	for i, r := range rs {
		byName[r.Name] = r
		if !done[i] && start == "" {
			start = r.Name
		}
	}
	var path []string
	at := make(map[string]int)
	for name := start; ; {
		if i, seen := at[name]; seen {
			return append(path[i:], name)
		}
		at[name] = len(path)
		path = append(path, name)
		name = firstWaitingOn(byName[name], byName, placed)
	}
}

func firstWaitingOn(r Resource, byName map[string]Resource, placed map[string]bool) string {
	for _, dep := range r.DependsOn {
		if _, ok := byName[dep]; ok && !placed[dep] {
			return dep
		}
	}
	return r.Name // unreachable for an unplaced resource; ends the walk
}

// Ordered returns the template's resources in dependency order, the order
// Resolve gives them and the create saga works in (teardown reverses it).
func (t Template) Ordered() []Resource {
	order, _ := dependencyOrder(t.Resources)
	out := make([]Resource, 0, len(order))
	for _, i := range order {
		out = append(out, t.Resources[i])
	}
	return out
}
