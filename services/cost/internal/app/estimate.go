package app

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// TemplateDoc is a template as lifecycle's API answers it: the parameter
// schema and the resources before parameters are applied.
type TemplateDoc struct {
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	Parameters map[string]any `json:"parameters"`
	Resources  []struct {
		Name   string `json:"name"`
		Driver string `json:"driver"`
		Class  string `json:"class"`
	} `json:"resources"`
}

// Templates asks lifecycle, which owns the catalog, for a template.
type Templates interface {
	// Template answers ErrNotFound for an unknown name or version.
	Template(ctx context.Context, p authn.Principal, name, version string) (TemplateDoc, error)
}

// EstimateRequest is POST /v1/costs/estimate.
type EstimateRequest struct {
	Template   string         `json:"template"`
	Version    string         `json:"version"`
	Parameters map[string]any `json:"parameters"`
}

// EstimateResult is the estimate of a template version with parameters.
type EstimateResult struct {
	Template string
	Version  string
	Estimate domain.Estimate
}

var classRef = regexp.MustCompile(`^\$\{params\.([A-Za-z_][A-Za-z0-9_]*)\}$`)

// Estimate prices a template version with parameters: defaults applied,
// parameters checked against the template's schema, each resource's class
// resolved. An unknown template is ErrNotFound; bad input an
// *domain.InputError naming the field.
func (s *Service) Estimate(ctx context.Context, p authn.Principal, req EstimateRequest) (EstimateResult, error) {
	if req.Template == "" {
		return EstimateResult{}, &domain.InputError{Fields: []domain.FieldError{{Field: "template", Message: "is required"}}}
	}
	t, err := s.tmpl.Template(ctx, p, req.Template, req.Version)
	if err != nil {
		return EstimateResult{}, err
	}
	params, err := withDefaults(t, req.Parameters)
	if err != nil {
		return EstimateResult{}, err
	}
	var rs []domain.PlannedResource
	for _, r := range t.Resources {
		class := r.Class
		if m := classRef.FindStringSubmatch(class); m != nil {
			v, ok := params[m[1]].(string)
			if !ok {
				return EstimateResult{}, &domain.InputError{Fields: []domain.FieldError{{Field: "parameters." + m[1],
					Message: fmt.Sprintf("is the class of resource %q and must be a string", r.Name)}}}
			}
			class = v
		}
		rs = append(rs, domain.PlannedResource{Name: r.Name, Driver: r.Driver, Class: class})
	}
	est, err := domain.EstimateOf(s.card, rs)
	return EstimateResult{Template: t.Name, Version: t.Version, Estimate: est}, err
}

// withDefaults applies the schema's top-level defaults and validates the
// result against it, naming the first bad parameter.
func withDefaults(t TemplateDoc, given map[string]any) (map[string]any, error) {
	out := maps.Clone(given)
	if out == nil {
		out = map[string]any{}
	}
	props, _ := t.Parameters["properties"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(props)) {
		sub, _ := props[name].(map[string]any)
		if def, ok := sub["default"]; ok {
			if _, set := out[name]; !set {
				out[name] = def
			}
		}
	}
	if t.Parameters == nil {
		return out, nil
	}
	c := jsonschema.NewCompiler()
	url := "https://pave.dev/templates/" + t.Name + "/" + t.Version + "/parameters.json"
	if err := c.AddResource(url, t.Parameters); err != nil {
		return nil, fmt.Errorf("template %s parameters: %w", t.Name, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("template %s parameters: %w", t.Name, err)
	}
	if err := sch.Validate(normalize(out)); err != nil {
		return nil, &domain.InputError{Fields: []domain.FieldError{paramError(err)}}
	}
	return out, nil
}

// normalize turns JSON numbers into what jsonschema expects.
func normalize(m map[string]any) any {
	out := map[string]any{}
	for k, v := range m {
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			out[k] = int64(f)
			continue
		}
		out[k] = v
	}
	return out
}

func paramError(err error) domain.FieldError {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return domain.FieldError{Field: "parameters", Message: err.Error()}
	}
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	field := "parameters"
	if len(leaf.InstanceLocation) > 0 {
		field += "." + strings.Join(leaf.InstanceLocation, ".")
	}
	msg := leaf.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return domain.FieldError{Field: field, Message: msg}
}
