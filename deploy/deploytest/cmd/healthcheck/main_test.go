package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHealthcheck(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	assert.Equal(t, 0, run([]string{srv.URL + "/readyz"}))
	ready = false
	assert.Equal(t, 1, run([]string{srv.URL + "/readyz"}))
	srv.Close()
	assert.Equal(t, 1, run([]string{srv.URL + "/readyz"}), "connection refused")

	t.Setenv("HEALTHCHECK_TIMEOUT", "soon")
	assert.Equal(t, 2, run([]string{srv.URL}))
}
