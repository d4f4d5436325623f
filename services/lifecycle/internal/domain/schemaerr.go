package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// labelPattern is the JSON Schema pattern of a DNS label, shared with
// template.schema.json so that its errors read as words.
const labelPattern = "^[a-z]([a-z0-9-]*[a-z0-9])?$"

// schemaProblems turns a jsonschema error into field errors under prefix,
// one per leaf, as pkg/schema does for event data: property-level problems
// point at the property, not at the object that holds it.
func schemaProblems(err error, prefix string) []FieldError {
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return []FieldError{{Field: prefix, Message: err.Error()}}
	}
	p := message.NewPrinter(language.English)
	var out problems
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, leafProblems(e, prefix, p)...)
			return
		}
		for _, c := range relevantCauses(e) {
			walk(c)
		}
	}
	walk(verr)
	return out.sorted()
}

// relevantCauses drops, from the branches of an anyOf or oneOf, those
// that only failed on type when another branch got further: for
// `type: strnig`, "not one of the types" says more than "not an array".
func relevantCauses(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
	default:
		return e.Causes
	}
	var deeper []*jsonschema.ValidationError
	for _, c := range e.Causes {
		if _, typeOnly := c.ErrorKind.(*kind.Type); !typeOnly {
			deeper = append(deeper, c)
		}
	}
	if len(deeper) == 0 {
		return e.Causes
	}
	return deeper
}

func leafProblems(e *jsonschema.ValidationError, prefix string, p *message.Printer) []FieldError {
	at := fieldPath(prefix, e.InstanceLocation)
	var out problems
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, name := range k.Missing {
			out.add(join(at, name), "required field is missing")
		}
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			out.add(join(at, name), "unknown field")
		}
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, v := range k.Want {
			want[i] = jsonText(v)
		}
		out.add(at, "%s is not one of %s", jsonText(k.Got), strings.Join(want, ", "))
	case *kind.Const:
		out.add(at, "must be %s", jsonText(k.Want))
	case *kind.Pattern:
		out.add(at, "%s", patternMessage(k))
	default:
		out.add(at, "%s", k.LocalizedString(p))
	}
	return out
}

func patternMessage(k *kind.Pattern) string {
	if k.Want == labelPattern {
		return fmt.Sprintf("%q is not a DNS label (lowercase letters, digits and '-', starting with a letter)", k.Got)
	}
	return fmt.Sprintf("%q does not match %s", k.Got, k.Want)
}

// fieldPath renders a JSON pointer's tokens as a field path under prefix:
// ["resources", "1", "depends_on"] → resources[1].depends_on.
func fieldPath(prefix string, tokens []string) string {
	path := prefix
	for _, tok := range tokens {
		if n, err := strconv.Atoi(tok); err == nil && n >= 0 {
			path = index(path, n)
			continue
		}
		path = join(path, tok)
	}
	return path
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// compileSchema compiles a self-contained draft 2020-12 schema document
// and, for each extra JSON pointer, the subschema at it.
func compileSchema(url string, doc any, pointers ...string) ([]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	out := make([]*jsonschema.Schema, 0, 1+len(pointers))
	for _, loc := range append([]string{""}, pointers...) {
		sch, err := c.Compile(url + loc)
		if err != nil {
			return nil, err
		}
		out = append(out, sch)
	}
	return out, nil
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("load %s: template schemas must be self-contained", url)
}
