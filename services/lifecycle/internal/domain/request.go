package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits on request names.
const (
	maxTeamLen = 63
	maxNameLen = 40
)

// CreateRequest asks for a new environment.
type CreateRequest struct {
	Team       string
	Name       string
	Template   string
	Version    string // "" is the latest release
	Stage      Stage  // "" is the template's only stage, if it has one
	Parameters map[string]any
	TTL        time.Duration // ephemeral templates only; 0 is default_ttl
}

// EnvironmentRequest is a CreateRequest checked against the catalog, with
// the template version, parameters and TTL it resolved to.
type EnvironmentRequest struct {
	Team       string
	Name       string
	Template   Template
	Stage      Stage
	Parameters ResolvedParams
	Resources  []ResolvedResource // dependency order
	TTL        time.Duration      // 0 for a persistent template
}

// NewEnvironmentRequest validates req against cat. It reports every
// problem at once in a *ValidationError whose fields are team, name,
// template, version, stage, ttl and parameters.<name>.
func NewEnvironmentRequest(cat *Catalog, req CreateRequest) (EnvironmentRequest, error) {
	var p problems
	checkLabel(&p, "team", req.Team, maxTeamLen)
	checkLabel(&p, "name", req.Name, maxNameLen)
	out := EnvironmentRequest{Team: req.Team, Name: req.Name}
	t, ok := lookupTemplate(&p, cat, req.Template, req.Version)
	if ok {
		out.Template = t
		out.Stage = checkStage(&p, t, req.Stage)
		out.TTL = checkTTL(&p, t, req.TTL)
		values, resources, err := t.Resolve(req.Parameters)
		var invalid *ValidationError
		switch {
		case errors.As(err, &invalid):
			p = append(p, invalid.Fields...)
		case err != nil:
			return EnvironmentRequest{}, fmt.Errorf("validate request: %w", err)
		}
		out.Parameters, out.Resources = values, resources
	}
	if len(p) > 0 {
		return EnvironmentRequest{}, &ValidationError{Fields: p}
	}
	return out, nil
}

func checkLabel(p *problems, field, value string, maxLen int) {
	switch {
	case value == "":
		p.add(field, "required")
	case len(value) > maxLen:
		p.add(field, "%q is longer than %d characters", value, maxLen)
	case !labelRE.MatchString(value):
		p.add(field, "%q is not a DNS label (lowercase letters, digits and '-', starting with a letter)", value)
	}
}

func lookupTemplate(p *problems, cat *Catalog, name, version string) (Template, bool) {
	if name == "" {
		p.add("template", "required")
		return Template{}, false
	}
	t, err := cat.Get(name, version)
	switch {
	case errors.Is(err, ErrUnknownTemplate):
		p.add("template", "unknown template %q", name)
	case errors.Is(err, ErrUnknownVersion):
		p.add("version", "unknown version %q of template %q (known: %s)", version, name, strings.Join(cat.Versions(name), ", "))
	}
	return t, err == nil
}

func checkStage(p *problems, t Template, s Stage) Stage {
	allowed := t.Lifecycle.Stages
	switch {
	case s == "" && len(allowed) == 1:
		return allowed[0]
	case s == "":
		p.add("stage", "required (template %s allows %s)", t.Name, stageList(allowed))
	case !slices.Contains(Stages(), s):
		p.add("stage", "%q is not a stage (%s)", s, stageList(Stages()))
	case !t.Lifecycle.AllowsStage(s):
		p.add("stage", "template %s does not allow stage %s (allowed: %s)", t.Name, s, stageList(allowed))
	}
	return s
}

func checkTTL(p *problems, t Template, ttl time.Duration) time.Duration {
	lc := t.Lifecycle
	switch {
	case !lc.Ephemeral && ttl != 0:
		p.add("ttl", "template %s is persistent: it takes no ttl", t.Name)
	case !lc.Ephemeral:
	case ttl < 0:
		p.add("ttl", "%s is not positive", ttl)
	case ttl > lc.MaxTTL:
		p.add("ttl", "%s is over the template's max_ttl %s", ttl, lc.MaxTTL)
	case ttl == 0:
		return lc.DefaultTTL
	}
	return ttl
}

func stageList(ss []Stage) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, ", ")
}
