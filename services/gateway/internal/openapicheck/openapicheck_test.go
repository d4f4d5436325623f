package openapicheck

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func load(t *testing.T) *Checker {
	t.Helper()
	c, err := Load(nil)
	require.NoError(t, err, "schemas/openapi.yaml must be a valid OpenAPI 3.1 document")
	return c
}

func TestTheSpecIsAValidOpenAPI31Document(t *testing.T) {
	raw, err := os.ReadFile("../../../../" + SpecPath)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(strings.SplitN(string(raw), "openapi: ", 2)[1], "3.1.0"))
	_, err = New(raw, nil)
	require.NoError(t, err)
	_, err = New([]byte("openapi: 3.1.0\ninfo: {}\npaths:\n  /x: 5\n"), nil)
	assert.Error(t, err, "a broken document is refused")
}

// serve runs h behind the checker on a real socket and makes one call.
func serve(t *testing.T, c *Checker, h http.HandlerFunc, method, path, body string) *http.Response {
	t.Helper()
	srv := httptest.NewServer(c.Middleware(h))
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer x")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp
}

func answer(status int, ctype, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func TestAConformingExchangeIsNoViolation(t *testing.T) {
	c := load(t)
	resp := serve(t, c, answer(200, "application/json", `{"id":"amy","kind":"user","roles":[]}`), "GET", "/v1/whoami", "")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Empty(t, resp.Header.Values(Header))
	resp = serve(t, c, answer(404, "application/problem+json", `{"type":"about:blank","title":"Not Found","status":404}`),
		"GET", "/v1/workloads/w1", "")
	assert.Empty(t, resp.Header.Values(Header))
	assert.Empty(t, c.Violations())
}

func TestAResponseOffTheSpecIsAViolation(t *testing.T) {
	c := load(t)
	resp := serve(t, c, answer(200, "application/json", `{"id":5}`), "GET", "/v1/whoami", "")
	assert.Equal(t, 200, resp.StatusCode, "the answer still goes out")
	assert.NotEmpty(t, resp.Header.Values(Header))
	require.Len(t, c.Violations(), 1)
	assert.Contains(t, c.Violations()[0], "GET /v1/whoami -> 200: response does not match the spec")

	resp = serve(t, c, answer(418, "application/json", `{}`), "GET", "/v1/whoami", "")
	assert.NotEmpty(t, resp.Header.Values(Header), "an undeclared status is a violation")
}

func TestARequestOffTheSpecMustBeRefused(t *testing.T) {
	c := load(t)
	list := `{"items":[]}`
	resp := serve(t, c, answer(200, "application/json", list), "GET", "/v1/environments?limit=0", "")
	assert.NotEmpty(t, resp.Header.Values(Header), "accepting limit=0 contradicts the spec")

	c = load(t)
	resp = serve(t, c, answer(400, "application/problem+json",
		`{"type":"about:blank","title":"Bad Request","status":400,"errors":[{"field":"query.limit","message":"x"}]}`),
		"GET", "/v1/environments?limit=0", "")
	assert.Empty(t, resp.Header.Values(Header), "refusing it is what the spec asks")
	assert.Empty(t, c.Violations())
}

func TestAnEventStreamPassesStraightThrough(t *testing.T) {
	c := load(t)
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "event: end\ndata: {}\n\n")
		require.NoError(t, http.NewResponseController(w).Flush())
	}
	resp := serve(t, c, h, "GET", "/v1/environments/env-abcdefgh2345/events", "")
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Empty(t, c.Violations())
}
