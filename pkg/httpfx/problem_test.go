package httpfx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pave-platform/pave/pkg/httpfx"
)

func TestWriteProblem(t *testing.T) {
	tests := []struct {
		name   string
		status int
		title  string
		detail string
		extra  map[string]any
		want   string
	}{
		{
			name:   "about blank with status text",
			status: http.StatusNotFound,
			want:   `{"type":"about:blank","title":"Not Found","status":404}`,
		},
		{
			name:   "validation errors",
			status: http.StatusUnprocessableEntity,
			title:  "Invalid environment request",
			detail: "2 fields are invalid",
			extra: map[string]any{
				"type": "https://pave.dev/problems/validation",
				"errors": []httpfx.FieldViolation{
					{Field: "template", Message: "is required"},
					{Field: "ttl", Message: "must be at most 72h"},
				},
			},
			want: `{"type":"https://pave.dev/problems/validation","title":"Invalid environment request","status":422,
				"detail":"2 fields are invalid","errors":[{"field":"template","message":"is required"},{"field":"ttl","message":"must be at most 72h"}]}`,
		},
		{
			name:   "arguments win over extension members",
			status: http.StatusConflict,
			title:  "Conflict",
			extra:  map[string]any{"status": 200, "title": "x", "instance": "/v1/environments/env-1"},
			want:   `{"type":"about:blank","title":"Conflict","status":409,"instance":"/v1/environments/env-1"}`,
		},
		{
			name:   "unencodable extension dropped",
			status: http.StatusBadRequest,
			extra:  map[string]any{"bad": make(chan int)},
			want:   `{"type":"about:blank","title":"Bad Request","status":400}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()

			httpfx.WriteProblem(rec, tt.status, tt.title, tt.detail, tt.extra)

			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			assert.JSONEq(t, tt.want, rec.Body.String())
		})
	}
}
