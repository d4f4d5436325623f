package portal

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// field is one input of a form generated from a template's parameter
// schema (JSON Schema): its name is the API's field path, so the API's
// field errors land next to it.
type field struct {
	Name        string // parameters.<property>
	Label       string
	Description string
	Kind        string // select, number, checkbox, text
	Options     []string
	Min, Max    string
	Step        string
	Pattern     string
	MinLength   string
	MaxLength   string
	Required    bool
	Value       string
	Error       string
}

// schemaFields turns the properties of an object schema into form
// fields, in the schema's order when it has one (property names sorted
// otherwise: a JSON object has no order).
func schemaFields(schema map[string]any) []field {
	props, _ := schema["properties"].(map[string]any)
	required := map[string]bool{}
	if rs, ok := schema["required"].([]any); ok {
		for _, r := range rs {
			if s, ok := r.(string); ok {
				required[s] = true
			}
		}
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]field, 0, len(names))
	for _, n := range names {
		prop, _ := props[n].(map[string]any)
		out = append(out, propertyField(n, prop, required[n]))
	}
	return out
}

func propertyField(name string, prop map[string]any, required bool) field {
	f := field{Name: "parameters." + name, Label: name, Required: required}
	f.Description, _ = prop["description"].(string)
	if d, ok := prop["default"]; ok {
		f.Value = text(d)
	}
	typ, _ := prop["type"].(string)
	switch enum, _ := prop["enum"].([]any); {
	case len(enum) > 0:
		f.Kind = "select"
		for _, e := range enum {
			f.Options = append(f.Options, text(e))
		}
	case typ == "integer" || typ == "number":
		f.Kind = "number"
		f.Min, f.Max = number(prop["minimum"]), number(prop["maximum"])
		f.Step = "any"
		if typ == "integer" {
			f.Step = "1"
		}
	case typ == "boolean":
		f.Kind = "checkbox"
	default:
		f.Kind = "text"
		f.Pattern, _ = prop["pattern"].(string)
		f.MinLength, f.MaxLength = number(prop["minLength"]), number(prop["maxLength"])
	}
	return f
}

// text is a JSON value as a form shows it.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		raw, _ := json.Marshal(x)
		return string(raw)
	}
}

func number(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return ""
}

// parameters reads the form's parameter fields back into JSON values by
// the schema's types. An empty field is left out (the template's default
// applies); a value that is not of its type is sent as text, so the
// API's own validation names it.
func parameters(fields []field, form url.Values) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		name := strings.TrimPrefix(f.Name, "parameters.")
		v := strings.TrimSpace(form.Get(f.Name))
		switch {
		case f.Kind == "checkbox":
			out[name] = v == "true"
		case v == "":
		case f.Kind == "number":
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				out[name] = n
			} else {
				out[name] = v
			}
		default:
			out[name] = v
		}
	}
	return out
}

// withValues puts the submitted values and the API's errors in fields.
func withValues(fields []field, form url.Values, errs map[string]string) []field {
	out := slices.Clone(fields)
	for i := range out {
		if form != nil {
			if out[i].Kind == "checkbox" {
				out[i].Value = fmt.Sprint(form.Get(out[i].Name) == "true")
			} else {
				out[i].Value = form.Get(out[i].Name)
			}
		}
		out[i].Error = errs[out[i].Name]
	}
	return out
}
