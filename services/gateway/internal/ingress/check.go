package ingress

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
)

// SubjectPrefix is where ingress events are stored: pave.ingress.<type>.
const SubjectPrefix = "pave.ingress."

// Subject is the INGRESS subject of an event type.
func Subject(eventType string) string { return SubjectPrefix + eventType }

// Registry knows the event types and their schemas.
type Registry interface {
	Has(eventType string) bool
	Validate(eventType string, data []byte) error
}

// Issue names an attribute (id, source, type, ...) or a data field
// (data/<JSON pointer>) and what is wrong with it.
type Issue = events.FieldIssue

// Check reports every reason e is not an acceptable ingress event: its
// CloudEvent attributes, a type Pave knows, JSON data that satisfies the
// type's schema. None means valid.
func Check(reg Registry, e event.Event) []Issue {
	var out []Issue
	var verr event.ValidationError
	if err := e.Validate(); errors.As(err, &verr) {
		for attr, err := range verr {
			out = append(out, Issue{Field: attr, Message: err.Error()})
		}
	} else if err != nil {
		out = append(out, Issue{Field: "event", Message: err.Error()})
	}
	if e.Type() != "" && !reg.Has(e.Type()) {
		out = append(out, Issue{Field: "type", Message: fmt.Sprintf("unknown event type %q (GET /v1/events/types lists them)", e.Type())})
	}
	if ct := e.DataContentType(); ct != "" && !strings.HasPrefix(ct, "application/json") {
		out = append(out, Issue{Field: "datacontenttype", Message: fmt.Sprintf("must be application/json, got %q", ct)})
	}
	if len(out) > 0 {
		return sorted(out)
	}
	data := e.Data()
	if len(data) == 0 || !json.Valid(data) {
		return []Issue{{Field: "data", Message: "required, a JSON value"}}
	}
	return dataIssues(reg.Validate(e.Type(), data))
}

func dataIssues(err error) []Issue {
	var verr *schema.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &verr):
		out := make([]Issue, 0, len(verr.Problems))
		for _, p := range verr.Problems {
			out = append(out, Issue{Field: "data" + p.Field, Message: p.Message})
		}
		return out
	}
	return []Issue{{Field: "data", Message: err.Error()}}
}

func sorted(is []Issue) []Issue {
	sort.Slice(is, func(i, j int) bool { return is[i].Field < is[j].Field })
	return is
}

// Reason is the issues as one line: "field: message; ...".
func Reason(is []Issue) string {
	parts := make([]string, len(is))
	for i, x := range is {
		parts[i] = x.Field + ": " + x.Message
	}
	return strings.Join(parts, "; ")
}
