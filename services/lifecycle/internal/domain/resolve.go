package domain

import (
	"fmt"
	"regexp"
	"slices"
)

var labelRE = regexp.MustCompile(labelPattern)

// ResolvedResource is a template resource with parameters applied: what
// provisioning is asked to create.
type ResolvedResource struct {
	Name       string         `json:"name"`
	Driver     Driver         `json:"driver"`
	Class      string         `json:"class"`
	Parameters map[string]any `json:"parameters,omitempty"`
	DependsOn  []string       `json:"depends_on,omitempty"`
	Sanitize   Sanitize       `json:"sanitize"`
}

// Resolve applies defaults to params, validates them against the
// template's schema (a *ValidationError naming each field as
// parameters.<name>), and substitutes ${params.<name>} in the resources.
// The resources come in dependency order: each after those it depends
// on; teardown uses the reverse.
func (t Template) Resolve(params map[string]any) (ResolvedParams, []ResolvedResource, error) {
	if t.params == nil {
		return nil, nil, fmt.Errorf("resolve %s: %w: not made by ParseTemplate", t.Ref(), ErrInvalidTemplate)
	}
	values, err := t.params.apply(params)
	if err != nil {
		return nil, nil, err
	}
	order, cycle := dependencyOrder(t.Resources)
	if cycle != nil {
		return nil, nil, fmt.Errorf("resolve %s: %w: dependency cycle %v", t.Ref(), ErrInvalidTemplate, cycle)
	}
	var p problems
	out := make([]ResolvedResource, 0, len(order))
	for _, i := range order {
		out = append(out, t.Resources[i].resolve(values, &p))
	}
	if len(p) > 0 {
		return nil, nil, &ValidationError{Fields: p.sorted()}
	}
	return values, out, nil
}

func (r Resource) resolve(values ResolvedParams, p *problems) ResolvedResource {
	out := ResolvedResource{
		Name: r.Name, Driver: r.Driver, Class: r.Class,
		DependsOn: slices.Clone(r.DependsOn), Sanitize: r.Sanitize,
	}
	if r.Parameters != nil {
		out.Parameters = substitute(r.Parameters, values).(map[string]any)
	}
	if m := wholeRef.FindStringSubmatch(r.Class); m != nil {
		class, ok := values[m[1]].(string)
		if !ok || !labelRE.MatchString(class) {
			p.add("parameters."+m[1], "%s is the class of resource %q and must be a DNS label", jsonText(values[m[1]]), r.Name)
		}
		out.Class = class
	}
	return out
}
