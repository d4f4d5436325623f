package domain

import (
	"slices"
	"strings"
	"time"
)

// templateDoc is a template file as written, after template.schema.json
// has vouched for its shape; build checks what a schema cannot.
type templateDoc struct {
	Name        string         `json:"name"`
	Version     string         `json:"version"`
	Description string         `json:"description"`
	Owner       string         `json:"owner"`
	Parameters  map[string]any `json:"parameters"`
	Resources   []resourceDoc  `json:"resources"`
	Lifecycle   lifecycleDoc   `json:"lifecycle"`
	CostClass   string         `json:"cost_class"`
	Checks      []HealthCheck  `json:"health_checks"`
}

type resourceDoc struct {
	Name       string         `json:"name"`
	Driver     Driver         `json:"driver"`
	Class      string         `json:"class"`
	Parameters map[string]any `json:"parameters"`
	DependsOn  []string       `json:"depends_on"`
	Sanitize   Sanitize       `json:"sanitize"`
}

type lifecycleDoc struct {
	Stages          []Stage `json:"stages"`
	Ephemeral       bool    `json:"ephemeral"`
	DefaultTTL      string  `json:"default_ttl"`
	MaxTTL          string  `json:"max_ttl"`
	RenewOnActivity bool    `json:"renew_on_activity"`
}

func (d templateDoc) build() (Template, []FieldError) {
	var p problems
	if !ValidVersion(d.Version) {
		p.add("version", "%q is not a semantic version like 1.2.3", d.Version)
	}
	t := Template{
		Name: d.Name, Version: d.Version, Description: d.Description, Owner: d.Owner,
		Parameters: d.Parameters, CostClass: d.CostClass,
		Lifecycle: d.Lifecycle.build(&p),
		Resources: buildResources(d.Resources, &p),
	}
	t.HealthChecks = buildChecks(d.Checks, t.Resources, &p)
	t.params = compileParams(t.Ref(), d.Parameters, &p)
	if t.params != nil {
		checkReferences(t.Resources, t.params, &p)
	}
	return t, p.sorted()
}

func (d lifecycleDoc) build(p *problems) Lifecycle {
	l := Lifecycle{Stages: d.Stages, Ephemeral: d.Ephemeral, RenewOnActivity: d.RenewOnActivity}
	l.DefaultTTL = parseTTL(d.DefaultTTL, "lifecycle.default_ttl", p)
	l.MaxTTL = parseTTL(d.MaxTTL, "lifecycle.max_ttl", p)
	if !d.Ephemeral {
		for field, given := range map[string]bool{
			"lifecycle.default_ttl":       d.DefaultTTL != "",
			"lifecycle.max_ttl":           d.MaxTTL != "",
			"lifecycle.renew_on_activity": d.RenewOnActivity,
		} {
			if given {
				p.add(field, "only an ephemeral template expires; set ephemeral: true or remove it")
			}
		}
		return l
	}
	for field, given := range map[string]bool{"lifecycle.default_ttl": d.DefaultTTL != "", "lifecycle.max_ttl": d.MaxTTL != ""} {
		if !given {
			p.add(field, "required field is missing (the template is ephemeral)")
		}
	}
	if l.DefaultTTL > 0 && l.MaxTTL > 0 && l.MaxTTL < l.DefaultTTL {
		p.add("lifecycle.max_ttl", "%s is shorter than default_ttl %s", l.MaxTTL, l.DefaultTTL)
	}
	return l
}

func parseTTL(s, field string, p *problems) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		p.add(field, "%q is not a duration like 24h or 90m", s)
	case d <= 0:
		p.add(field, "%s is not positive", s)
	}
	return d
}

// buildResources checks names and dependencies: unique names, known
// dependencies, no cycles.
func buildResources(docs []resourceDoc, p *problems) []Resource {
	out := make([]Resource, len(docs))
	seen := make(map[string]int, len(docs))
	for i, d := range docs {
		field := index("resources", i)
		if first, dup := seen[d.Name]; dup {
			p.add(join(field, "name"), "duplicate resource %q (also resources[%d])", d.Name, first)
		} else {
			seen[d.Name] = i
		}
		sanitize := d.Sanitize
		if sanitize == "" {
			sanitize = SanitizeDrop
		}
		out[i] = Resource{Name: d.Name, Driver: d.Driver, Class: d.Class,
			Parameters: d.Parameters, DependsOn: d.DependsOn, Sanitize: sanitize}
	}
	for i, r := range out {
		for _, dep := range r.DependsOn {
			field := join(index("resources", i), "depends_on")
			if _, ok := seen[dep]; !ok {
				p.add(field, "unknown resource %q", dep)
			} else if dep == r.Name {
				p.add(field, "resource %q depends on itself", dep)
			}
		}
	}
	if _, cycle := dependencyOrder(out); cycle != nil {
		p.add(join(index("resources", seen[cycle[0]]), "depends_on"), "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
	return out
}

// checkReferences finds every ${params.<name>} in the resources and
// refuses names the parameter schema does not declare, or declares with
// neither a default nor `required` (Resolve could not substitute them).
func checkReferences(rs []Resource, ps *paramSchema, p *problems) {
	check := func(field, text string) {
		for _, m := range refPattern.FindAllStringSubmatch(text, -1) {
			name := m[1]
			switch prop, ok := ps.props[name]; {
			case !identPattern.MatchString(name):
				p.add(field, "invalid parameter reference %q", m[0])
			case !ok:
				p.add(field, "unknown parameter %q", name)
			case !prop.required && !prop.hasDefault:
				p.add(field, "parameter %q is neither required nor has a default", name)
			}
		}
	}
	for i, r := range rs {
		field := index("resources", i)
		check(join(field, "class"), r.Class)
		walkStrings(join(field, "parameters"), r.Parameters, check)
	}
}

// walkStrings calls fn with the path of every string inside v.
func walkStrings(path string, v any, fn func(path, s string)) {
	switch x := v.(type) {
	case string:
		fn(path, x)
	case map[string]any:
		for k, e := range x {
			walkStrings(join(path, k), e, fn)
		}
	case []any:
		for i, e := range x {
			walkStrings(index(path, i), e, fn)
		}
	}
}

// buildChecks defaults each check's status to 200 and names a check whose
// resource the template does not have.
func buildChecks(checks []HealthCheck, rs []Resource, p *problems) []HealthCheck {
	var out []HealthCheck
	for i, c := range checks {
		if !slices.ContainsFunc(rs, func(r Resource) bool { return r.Name == c.Resource }) {
			p.add(index("health_checks", i)+".resource", "%q is not a resource of the template", c.Resource)
		}
		if c.Status == 0 {
			c.Status = 200
		}
		out = append(out, c)
	}
	return out
}
