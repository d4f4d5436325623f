package bus

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

const (
	headerPrefix      = "ce-"
	headerContentType = "content-type"
	headerMsgID       = "Nats-Msg-Id"
	contentTypeJSON   = "application/json"
)

// Encode turns an event into a NATS message in binary content mode.
func Encode(subject string, e event.Event) *nats.Msg {
	h := nats.Header{}
	h.Set(headerPrefix+"specversion", pctEncode(e.SpecVersion()))
	h.Set(headerPrefix+"id", pctEncode(e.ID()))
	h.Set(headerPrefix+"source", pctEncode(e.Source()))
	h.Set(headerPrefix+"type", pctEncode(e.Type()))
	if s := e.Subject(); s != "" {
		h.Set(headerPrefix+"subject", pctEncode(s))
	}
	if !e.Time().IsZero() {
		h.Set(headerPrefix+"time", e.Time().UTC().Format(time.RFC3339Nano))
	}
	if s := e.DataSchema(); s != "" {
		h.Set(headerPrefix+"dataschema", pctEncode(s))
	}
	if ct := e.DataContentType(); ct != "" {
		h.Set(headerContentType, pctEncode(ct))
	}
	for name, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			continue // Validate already refused unformattable extensions
		}
		h.Set(headerPrefix+name, pctEncode(s))
	}
	h.Set(headerMsgID, e.ID())
	return &nats.Msg{Subject: subject, Header: h, Data: e.Data()}
}

// Decode reads a binary-mode message back into an event. Every problem is
// a permanent error: the same bytes will never decode on a retry.
func Decode(h nats.Header, data []byte) (event.Event, error) {
	attrs := map[string]string{}
	for k, vs := range h {
		lk := strings.ToLower(k)
		if len(vs) == 0 || (!strings.HasPrefix(lk, headerPrefix) && lk != headerContentType) {
			continue
		}
		v, err := url.PathUnescape(vs[0])
		if err != nil {
			return event.Event{}, Permanent(fmt.Errorf("header %s: bad percent-encoding: %w", k, err))
		}
		attrs[lk] = v
	}
	if sv := attrs["ce-specversion"]; sv != event.CloudEventsVersionV1 {
		return event.Event{}, Permanent(fmt.Errorf("ce-specversion: want %q, got %q", event.CloudEventsVersionV1, sv))
	}
	e := event.New(event.CloudEventsVersionV1)
	for _, name := range []string{"id", "source", "type"} {
		if attrs[headerPrefix+name] == "" {
			return event.Event{}, Permanent(fmt.Errorf("ce-%s: required header is missing", name))
		}
	}
	e.SetID(attrs["ce-id"])
	e.SetSource(attrs["ce-source"])
	e.SetType(attrs["ce-type"])
	if err := setOptional(&e, attrs); err != nil {
		return event.Event{}, Permanent(err)
	}
	if len(data) > 0 && !json.Valid(data) {
		return event.Event{}, Permanent(fmt.Errorf("data: not valid JSON"))
	}
	e.DataEncoded = data
	if err := e.Validate(); err != nil {
		return event.Event{}, Permanent(fmt.Errorf("cloudevent: %w", err))
	}
	return e, nil
}

func setOptional(e *event.Event, attrs map[string]string) error {
	for k, v := range attrs {
		switch k {
		case "ce-specversion", "ce-id", "ce-source", "ce-type":
		case "ce-subject":
			e.SetSubject(v)
		case "ce-dataschema":
			e.SetDataSchema(v)
		case "ce-time":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return fmt.Errorf("ce-time: %q is not RFC 3339", v)
			}
			e.SetTime(t)
		case headerContentType:
			if !strings.HasPrefix(v, contentTypeJSON) {
				return fmt.Errorf("content-type: want %s, got %q", contentTypeJSON, v)
			}
			e.SetDataContentType(v)
		default:
			name := strings.TrimPrefix(k, headerPrefix)
			if err := e.Context.SetExtension(name, v); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	return nil
}

// pctEncode applies the CloudEvents header rule: space, double quote,
// percent and everything outside printable ASCII are percent-encoded.
func pctEncode(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func needsEscape(c byte) bool {
	return c <= 0x20 || c >= 0x7f || c == '"' || c == '%'
}
