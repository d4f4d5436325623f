package schema

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/message"
)

// ErrUnknownType is wrapped by Validate when no schema is registered for
// the event type.
var ErrUnknownType = errors.New("unknown event type")

// ErrAlreadyRegistered is wrapped by Register when the type has a schema.
var ErrAlreadyRegistered = errors.New("schema already registered")

// ValidationError says why event data does not satisfy its type's schema.
// A retry cannot cure it: the bus dead-letters such a message.
type ValidationError struct {
	Type     string
	Problems []Problem
}

// Problem is one reason the data is invalid.
type Problem struct {
	// Field is the JSON pointer of the offending value, like /service;
	// "" is the data as a whole.
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Type)
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if p.Field != "" {
			b.WriteString(p.Field)
			b.WriteString(": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

func notJSON(eventType string, err error) *ValidationError {
	return &ValidationError{Type: eventType, Problems: []Problem{{Message: "data is not valid JSON: " + err.Error()}}}
}

// flatten turns jsonschema's tree of errors into its leaves, one Problem
// per field, in a stable order.
func flatten(eventType string, verr *jsonschema.ValidationError, p *message.Printer) *ValidationError {
	var problems []Problem
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			problems = append(problems, leafProblems(e, p)...)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(verr)
	slices.SortFunc(problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Message, b.Message))
	})
	return &ValidationError{Type: eventType, Problems: slices.Compact(problems)}
}

// leafProblems points property-level problems at the property rather than
// at the object that holds it.
func leafProblems(e *jsonschema.ValidationError, p *message.Printer) []Problem {
	at := pointer(e.InstanceLocation)
	var out []Problem
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, name := range k.Missing {
			out = append(out, Problem{Field: at + "/" + escape(name), Message: "required property is missing"})
		}
	case *kind.DependentRequired:
		for _, name := range k.Missing {
			out = append(out, Problem{Field: at + "/" + escape(name),
				Message: fmt.Sprintf("required property is missing (%q is present)", k.Prop)})
		}
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			out = append(out, Problem{Field: at + "/" + escape(name), Message: "property is not allowed"})
		}
	default:
		out = append(out, Problem{Field: at, Message: messageOf(e.ErrorKind, p)})
	}
	return out
}

// messageOf quotes values as JSON, as the data has them, where
// jsonschema's own messages would single-quote them.
func messageOf(k jsonschema.ErrorKind, p *message.Printer) string {
	switch k := k.(type) {
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, v := range k.Want {
			want[i] = jsonText(v)
		}
		return "value must be one of " + strings.Join(want, ", ")
	case *kind.Const:
		return "value must be " + jsonText(k.Want)
	case *kind.Format:
		return fmt.Sprintf("%s is not a valid %s: %v", jsonText(k.Got), k.Want, k.Err)
	}
	return k.LocalizedString(p)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func pointer(tokens []string) string {
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteByte('/')
		b.WriteString(escape(tok))
	}
	return b.String()
}

// escape encodes a JSON pointer token (RFC 6901).
func escape(tok string) string {
	if !strings.ContainsAny(tok, "~/") {
		return tok
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)
}
