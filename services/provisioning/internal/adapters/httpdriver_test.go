package adapters_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// fakeCloudProvisioner stands in for an external cloud API we cannot run:
// a small but real provisioner that keeps resources in memory and speaks
// the HTTP driver's protocol, with switches for outages and slow work.
type fakeCloudProvisioner struct {
	mu        sync.Mutex
	resources map[string]fakeResource // by Pave resource id
	creates   int
	outages   int  // answer 503 this many times
	async     bool // answer 202 to the first POST of each id
	seen      map[string]bool
}

type fakeResource struct {
	ID, Name, Class string
	Data            []string
}

func newFakeCloudProvisioner(t *testing.T) (*fakeCloudProvisioner, string) {
	f := &fakeCloudProvisioner{resources: map[string]fakeResource{}, seen: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /resources", f.create)
	mux.HandleFunc("PUT /resources/{id}", f.update)
	mux.HandleFunc("POST /resources/{id}/sanitize", f.sanitize)
	mux.HandleFunc("DELETE /resources/{id}", f.delete)
	mux.HandleFunc("GET /resources", f.list)
	srv := httptest.NewServer(f.auth(mux))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeCloudProvisioner) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer cloud-token" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.outages > 0 {
			f.outages--
			http.Error(w, `{"error":"maintenance"}`, http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *fakeCloudProvisioner) create(w http.ResponseWriter, r *http.Request) {
	var in struct{ ID, Name, Class string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ID != r.Header.Get("Idempotency-Key") {
		http.Error(w, `{"error":"Idempotency-Key must be the resource id"}`, http.StatusBadRequest)
		return
	}
	if in.Class == "huge" {
		http.Error(w, `{"detail":"class huge is not offered in this region"}`, http.StatusUnprocessableEntity)
		return
	}
	if f.async && !f.seen[in.ID] {
		f.seen[in.ID] = true
		w.WriteHeader(http.StatusAccepted)
		return
	}
	status := http.StatusOK
	if _, ok := f.resources[in.ID]; !ok {
		f.resources[in.ID] = fakeResource{ID: in.ID, Name: in.Name, Class: in.Class}
		f.creates++
		status = http.StatusCreated
	}
	f.answer(w, status, f.resources[in.ID])
}

func (f *fakeCloudProvisioner) update(w http.ResponseWriter, r *http.Request) {
	res, ok := f.resources[r.PathValue("id")]
	if !ok {
		http.Error(w, `{"error":"no such resource"}`, http.StatusNotFound)
		return
	}
	var in struct{ Class string }
	_ = json.NewDecoder(r.Body).Decode(&in)
	res.Class = in.Class
	f.resources[res.ID] = res
	f.answer(w, http.StatusOK, res)
}

func (f *fakeCloudProvisioner) sanitize(w http.ResponseWriter, r *http.Request) {
	res, ok := f.resources[r.PathValue("id")]
	if !ok {
		http.Error(w, "", http.StatusNotFound)
		return
	}
	res.Data = nil
	f.resources[res.ID] = res
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeCloudProvisioner) delete(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.resources[r.PathValue("id")]; !ok {
		http.Error(w, "", http.StatusNotFound)
		return
	}
	delete(f.resources, r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeCloudProvisioner) list(w http.ResponseWriter, _ *http.Request) {
	type item struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	var out struct {
		Resources []item `json:"resources"`
	}
	for _, r := range f.resources {
		out.Resources = append(out.Resources, item{r.ID, r.Name})
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeCloudProvisioner) answer(w http.ResponseWriter, status int, r fakeResource) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"external_ids": []string{"cloud:db-" + r.ID},
		"outputs":      map[string]string{"host": r.ID + ".db.cloud.example", "class": r.Class, "password": "leaked"},
		"credentials":  map[string]string{"username": "admin", "password": "cloud-secret-" + r.ID, "url": "pg://admin@" + r.ID},
	})
}

func (f *fakeCloudProvisioner) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func TestHTTPDriverCompletesSynchronously(t *testing.T) {
	ctx := context.Background()
	cloud, base := newFakeCloudProvisioner(t)
	d, err := adapters.NewHTTP(base, "cloud-token", 5*time.Second)
	require.NoError(t, err)
	r := domain.Resource{ID: "env1-pg", EnvironmentID: "env1", Driver: "http", Class: "small"}

	res, err := d.Provision(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, []string{"cloud:db-env1-pg"}, res.ExternalIDs)
	assert.Equal(t, "env1-pg.db.cloud.example", res.Outputs["host"])
	require.NotNil(t, res.Credentials)
	assert.Equal(t, "cloud-secret-env1-pg", res.Credentials.Password)
	again, err := d.Provision(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, res, again)
	assert.Equal(t, 1, cloud.creates, "the Idempotency-Key makes a repeat create nothing")

	r.Class = "large"
	res, err = d.Update(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, "large", res.Outputs["class"])
	require.NoError(t, d.Sanitize(ctx, r.ID))

	inv, err := d.Inventory(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"resource:pave_env1_pg"}, inv)
	assert.Equal(t, d.Planned(r.ID), inv)

	existed, err := d.Deprovision(ctx, r.ID)
	require.NoError(t, err)
	assert.True(t, existed)
	existed, err = d.Deprovision(ctx, r.ID)
	require.NoError(t, err)
	assert.False(t, existed)
}

func TestHTTPDriverTellsRetryableFromPermanent(t *testing.T) {
	ctx := context.Background()
	cloud, base := newFakeCloudProvisioner(t)
	d, err := adapters.NewHTTP(base, "cloud-token", 5*time.Second)
	require.NoError(t, err)

	_, err = d.Provision(ctx, domain.Resource{ID: "a", Class: "huge"})
	require.Error(t, err)
	assert.True(t, domain.IsPermanent(err), "422: bad parameters")
	assert.Contains(t, err.Error(), "class huge is not offered")

	cloud.set(func() { cloud.outages = 1 })
	_, err = d.Provision(ctx, domain.Resource{ID: "a"})
	require.Error(t, err)
	assert.False(t, domain.IsPermanent(err), "503 may pass: %v", err)

	cloud.set(func() { cloud.async = true })
	_, err = d.Provision(ctx, domain.Resource{ID: "b"})
	require.ErrorIs(t, err, adapters.ErrNotFinished)
	assert.False(t, domain.IsPermanent(err), "202: retried with the same key")
	_, err = d.Provision(ctx, domain.Resource{ID: "b"})
	assert.NoError(t, err, "the retry finds it done")

	unauthorized, err := adapters.NewHTTP(base, "wrong", time.Second)
	require.NoError(t, err)
	_, err = unauthorized.Provision(ctx, domain.Resource{ID: "c"})
	assert.True(t, domain.IsPermanent(err))

	down, err := adapters.NewHTTP("http://127.0.0.1:1", "", time.Second)
	require.NoError(t, err)
	_, err = down.Provision(ctx, domain.Resource{ID: "c"})
	require.Error(t, err)
	assert.False(t, domain.IsPermanent(err), "connection refused may pass")
	assert.True(t, strings.Contains(err.Error(), "POST /resources"))
}
