package schema

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema is one compiled JSON Schema outside the registry: the schema of
// a type a team registers at run time (pave.custom.<team>.…), whose name
// is not a Pave type and whose subject is not a Pave subject. It
// validates like the registry does, with the same *ValidationError.
type Schema struct {
	name    string
	schema  *jsonschema.Schema
	printer *message.Printer
}

// ErrBadSchema is wrapped by Compile when the document is not a usable
// JSON Schema (not JSON, not draft 2020-12, or refers to other documents).
var ErrBadSchema = errors.New("bad JSON Schema")

// Compile compiles raw (draft 2020-12, self-contained) as the schema of
// name. Its $id, if any, is ignored: the schema is addressed by name.
func Compile(name string, raw []byte) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %v", ErrBadSchema, err)
	}
	if obj, ok := doc.(map[string]any); ok {
		delete(obj, "$id")
	} else if _, ok := doc.(bool); !ok {
		return nil, fmt.Errorf("%w: a schema is a JSON object", ErrBadSchema)
	}
	url := "urn:pave:custom:" + name
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSchema, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSchema, err)
	}
	return &Schema{name: name, schema: sch, printer: message.NewPrinter(language.English)}, nil
}

// Validate checks data against the schema: nil, or a *ValidationError
// naming each offending field.
func (s *Schema) Validate(data []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return notJSON(s.name, err)
	}
	err = s.schema.Validate(doc)
	var verr *jsonschema.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &verr):
		return flatten(s.name, verr, s.printer)
	}
	return fmt.Errorf("validate %s: %w", s.name, err)
}
