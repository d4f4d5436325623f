package httpfx

import (
	"encoding/json"
	"net/http"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// FieldViolation is one entry of a problem's "errors" extension member:
// which input field is wrong and why.
type FieldViolation struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// WriteProblem writes an RFC 9457 problem details response. title defaults
// to the status text; an empty detail is left out. extra adds extension
// members, e.g. {"errors": []FieldViolation{...}}; it may also set "type"
// (a pave problem URL; "about:blank" otherwise) and "instance". The
// members title, status and detail always come from the arguments.
func WriteProblem(w http.ResponseWriter, status int, title, detail string, extra map[string]any) {
	if title == "" {
		title = http.StatusText(status)
	}
	std := map[string]any{"type": "about:blank", "title": title, "status": status}
	if t, ok := extra["type"].(string); ok && t != "" {
		std["type"] = t
	}
	if detail != "" {
		std["detail"] = detail
	}
	body := make(map[string]any, len(extra)+len(std))
	for k, v := range extra {
		if k != "detail" {
			body[k] = v
		}
	}
	for k, v := range std {
		body[k] = v
	}

	b, err := json.Marshal(body)
	if err != nil {
		// An extension member that does not encode must not turn the
		// problem into a broken response: drop the extensions.
		b, _ = json.Marshal(std)
	}
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
