package ingress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Content types of the CloudEvents HTTP binding.
const (
	ContentTypeStructured = "application/cloudevents+json"
	ContentTypeBatch      = "application/cloudevents-batch+json"
)

// BadEvent says which event of a request is malformed and why.
type BadEvent struct {
	Index  int // -1 for a request that is not one event nor a batch
	Issues []Issue
}

func (b *BadEvent) Error() string {
	if b.Index < 0 {
		return Reason(b.Issues)
	}
	return fmt.Sprintf("event [%d]: %s", b.Index, Reason(b.Issues))
}

// Parse reads the events of a POST /v1/events request whose body was
// read into body: a batch (application/cloudevents-batch+json), one event
// in structured mode (application/cloudevents+json), or one in binary
// mode (ce-* headers, the body is the data). Every event is checked; the
// first malformed one fails the whole request.
func Parse(reg Registry, header http.Header, body []byte) ([]event.Event, *BadEvent) {
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if mt == ContentTypeBatch {
		return parseBatch(reg, body)
	}
	if mt != ContentTypeStructured && header.Get("ce-specversion") == "" {
		return nil, &BadEvent{Index: -1, Issues: []Issue{{Field: "header.ce-specversion",
			Message: "required in binary mode; or send Content-Type " + ContentTypeStructured + " or " + ContentTypeBatch}}}
	}
	req, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return nil, &BadEvent{Index: -1, Issues: []Issue{{Field: "body", Message: err.Error()}}}
	}
	req.Header = header.Clone()
	e, err := cehttp.NewEventFromHTTPRequest(req)
	if err != nil {
		field := "body"
		if mt != ContentTypeStructured {
			field = "header"
		}
		return nil, &BadEvent{Index: -1, Issues: []Issue{sdkIssue(err, field)}}
	}
	if is := Check(reg, *e); len(is) > 0 {
		return nil, &BadEvent{Index: -1, Issues: is}
	}
	return []event.Event{*e}, nil
}

func parseBatch(reg Registry, body []byte) ([]event.Event, *BadEvent) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, &BadEvent{Index: -1, Issues: []Issue{{Field: "body", Message: "a batch is a JSON array of structured CloudEvents"}}}
	}
	if len(raws) == 0 || len(raws) > MaxBatch {
		return nil, &BadEvent{Index: -1, Issues: []Issue{{Field: "body", Message: fmt.Sprintf("a batch holds 1 to %d events", MaxBatch)}}}
	}
	out := make([]event.Event, 0, len(raws))
	for i, raw := range raws {
		var e event.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, &BadEvent{Index: i, Issues: []Issue{{Field: "event", Message: "not a structured CloudEvent: " + err.Error()}}}
		}
		if is := Check(reg, e); len(is) > 0 {
			return nil, &BadEvent{Index: i, Issues: is}
		}
		out = append(out, e)
	}
	seen := map[string]int{}
	for i, e := range out {
		key := e.Source() + "\x00" + e.ID()
		if j, dup := seen[key]; dup {
			return nil, &BadEvent{Index: i, Issues: []Issue{{Field: "id", Message: fmt.Sprintf("same source and id as event [%d]", j)}}}
		}
		seen[key] = i
	}
	return out, nil
}

// MaxBatch bounds the events of one batch.
const MaxBatch = 100

// AllowedTypes is which event types each service account may send:
// keys are a service account ("team/name"), "team/*" or "*"; values
// are types, or prefixes ending in ".*". Platform admins send any type.
type AllowedTypes map[string][]string

// ParseAllowedTypes reads PAVE_INGEST_ALLOWED_TYPES entries, whose values
// separate types with "|".
func ParseAllowedTypes(m map[string]string) AllowedTypes {
	out := AllowedTypes{}
	for k, v := range m {
		for _, t := range strings.Split(v, "|") {
			if t = strings.TrimSpace(t); t != "" {
				out[strings.TrimSpace(k)] = append(out[strings.TrimSpace(k)], t)
			}
		}
	}
	return out
}

// Allows reports whether the service account may send eventType.
func (a AllowedTypes) Allows(account, eventType string) bool {
	team, _, _ := strings.Cut(account, "/")
	for _, key := range []string{account, team + "/*", "*"} {
		for _, pattern := range a[key] {
			if pattern == eventType {
				return true
			}
			if prefix, ok := strings.CutSuffix(pattern, "*"); ok && strings.HasPrefix(eventType, prefix) {
				return true
			}
		}
	}
	return false
}

// attributes are the CloudEvent attributes an sdk error may start with.
var attributes = map[string]bool{"specversion": true, "id": true, "source": true, "type": true,
	"time": true, "subject": true, "dataschema": true, "datacontenttype": true}

// sdkIssue names the attribute an sdk parse error is about, if it says.
func sdkIssue(err error, field string) Issue {
	var verr event.ValidationError
	if errors.As(err, &verr) {
		for attr, e := range verr {
			return Issue{Field: attr, Message: e.Error()}
		}
	}
	msg := err.Error()
	if first, _, ok := strings.Cut(msg, " "); ok && attributes[first] {
		return Issue{Field: first, Message: msg}
	}
	return Issue{Field: field, Message: "not a CloudEvent: " + msg}
}
