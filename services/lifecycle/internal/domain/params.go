package domain

import (
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	// refPattern finds ${params.<name>} references in resource strings.
	// Other ${...} text (a shell variable of an exec resource) is left alone.
	refPattern = regexp.MustCompile(`\$\{params\.([^}]*)\}`)
	// wholeRef is a string that is one reference and nothing else: it is
	// replaced by the parameter's value with its type (a number, a list).
	wholeRef     = regexp.MustCompile(`^\$\{params\.([A-Za-z_][A-Za-z0-9_]*)\}$`)
	identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// paramSchema is a template's compiled parameter schema and what
// Resolve needs to know of each top-level property.
type paramSchema struct {
	schema *jsonschema.Schema
	props  map[string]paramProp
}

type paramProp struct {
	required   bool
	hasDefault bool
	def        any
}

// compileParams compiles the parameters schema of template ref and checks
// that every top-level default satisfies its own property's schema.
func compileParams(ref string, doc map[string]any, p *problems) *paramSchema {
	if doc == nil {
		doc = map[string]any{"type": "object"}
	}
	if doc["type"] != "object" {
		p.add("parameters.type", `must be "object"`)
		return nil
	}
	props, _ := doc["properties"].(map[string]any)
	names := slices.Sorted(maps.Keys(props))
	if !checkParamNames(names, p) {
		return nil
	}
	pointers := make([]string, len(names))
	for i, name := range names {
		pointers[i] = "#/properties/" + name
	}
	schemas, err := compileSchema("https://pave.dev/templates/"+ref+"/parameters.json", doc, pointers...)
	if err != nil {
		*p = append(*p, compileProblems(err)...)
		return nil
	}
	ps := &paramSchema{schema: schemas[0], props: make(map[string]paramProp, len(names))}
	for i, name := range names {
		sub, _ := props[name].(map[string]any)
		def, hasDefault := sub["default"]
		ps.props[name] = paramProp{hasDefault: hasDefault, def: def}
		if hasDefault {
			checkDefault(schemas[i+1], name, def, p)
		}
	}
	for _, name := range requiredNames(doc) {
		prop, declared := ps.props[name]
		if !declared {
			p.add("parameters.required", "%q is not declared in properties", name)
			continue
		}
		prop.required = true
		ps.props[name] = prop
	}
	return ps
}

// checkParamNames keeps parameter names to what ${params.<name>} can say
// and what a JSON pointer takes unescaped.
func checkParamNames(names []string, p *problems) bool {
	ok := true
	for _, name := range names {
		if !identPattern.MatchString(name) {
			p.add("parameters.properties."+name, "%q cannot be referenced as ${params.%s}: use letters, digits and _", name, name)
			ok = false
		}
	}
	return ok
}

func checkDefault(sch *jsonschema.Schema, name string, def any, p *problems) {
	if err := sch.Validate(def); err != nil {
		field := "parameters.properties." + name + ".default"
		*p = append(*p, prefixMessages(schemaProblems(err, field), "default fails its own schema: ")...)
	}
}

// compileProblems names the schema keyword at fault when the parameters
// schema is not a valid draft 2020-12 schema.
func compileProblems(err error) []FieldError {
	var invalid *jsonschema.SchemaValidationError
	if errors.As(err, &invalid) {
		return schemaProblems(invalid.Err, "parameters")
	}
	return []FieldError{{Field: "parameters", Message: "invalid JSON Schema: " + err.Error()}}
}

func requiredNames(doc map[string]any) []string {
	list, _ := doc["required"].([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func prefixMessages(fs []FieldError, prefix string) []FieldError {
	for i := range fs {
		fs[i].Message = prefix + fs[i].Message
	}
	return fs
}

// apply fills defaults into a copy of the given parameters and validates
// the result. Parameters the schema does not declare are refused, whatever
// its additionalProperties says: references can only name declared ones.
func (ps *paramSchema) apply(given map[string]any) (ResolvedParams, error) {
	values, err := normalize(given)
	if err != nil {
		return nil, &ValidationError{Fields: []FieldError{{Field: "parameters", Message: err.Error()}}}
	}
	var p problems
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if _, ok := ps.props[name]; !ok {
			p.add("parameters."+name, "unknown parameter")
		}
	}
	for name, prop := range ps.props {
		if _, set := values[name]; !set && prop.hasDefault {
			values[name] = cloneJSON(prop.def)
		}
	}
	if err := ps.schema.Validate(map[string]any(values)); err != nil {
		p = append(p, schemaProblems(err, "parameters")...)
	}
	if len(p) > 0 {
		return nil, &ValidationError{Fields: p.sorted()}
	}
	return values, nil
}

// substitute replaces ${params.<name>} references in v. A string that is
// exactly one reference becomes the value itself; a reference inside a
// longer string becomes its text (strings as they are, anything else as
// JSON).
func substitute(v any, values ResolvedParams) any {
	switch x := v.(type) {
	case string:
		if m := wholeRef.FindStringSubmatch(x); m != nil {
			return cloneJSON(values[m[1]])
		}
		return refPattern.ReplaceAllStringFunc(x, func(ref string) string {
			return textOf(values[strings.TrimSuffix(strings.TrimPrefix(ref, "${params."), "}")])
		})
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = substitute(e, values)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = substitute(e, values)
		}
		return out
	default:
		return x
	}
}

func textOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonText(v)
}
