package adapters

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// HTTP drives an external provisioner over a small REST protocol:
//
//	POST   {base}/resources               Idempotency-Key: <id>, body httpResource → 200/201 httpResult, 202 not done yet
//	PUT    {base}/resources/{id}          body httpResource → 200 httpResult
//	POST   {base}/resources/{id}/sanitize → 200/204
//	DELETE {base}/resources/{id}          → 200/204 deleted, 404 absent
//	GET    {base}/resources               → 200 {"resources":[{"id","name"}]}
//
// A 202 is "not done yet": the command is retried by the bus with the same
// Idempotency-Key until the provisioner answers 200/201 or the deliveries
// run out. Completion by a CloudEvent callback is not implemented.
type HTTP struct {
	base   string
	token  string
	client *http.Client
}

var _ app.Driver = (*HTTP)(nil)

// NewHTTP talks to the provisioner at base, with an optional bearer token.
func NewHTTP(base, token string, timeout time.Duration) (*HTTP, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http provisioner url %q: want http(s)://host[:port][/path]", base)
	}
	return &HTTP{base: strings.TrimRight(base, "/"), token: token, client: &http.Client{Timeout: timeout}}, nil
}

type httpResource struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	EnvironmentID string         `json:"environment_id"`
	Team          string         `json:"team,omitempty"`
	Class         string         `json:"class,omitempty"`
	Parameters    map[string]any `json:"parameters,omitempty"`
}

type httpResult struct {
	ExternalIDs []string            `json:"external_ids,omitempty"`
	Outputs     map[string]string   `json:"outputs,omitempty"`
	Credentials *domain.Credentials `json:"credentials,omitempty"`
}

// Planned names the provisioner's resource.
func (h *HTTP) Planned(id string) []string {
	return []string{domain.ExternalID("resource", domain.ObjectName(id))}
}

// Provision creates the resource, synchronously.
func (h *HTTP) Provision(ctx context.Context, r domain.Resource) (domain.Result, error) {
	return h.apply(ctx, http.MethodPost, "/resources", r)
}

// Update changes the resource, synchronously.
func (h *HTTP) Update(ctx context.Context, r domain.Resource) (domain.Result, error) {
	return h.apply(ctx, http.MethodPut, "/resources/"+url.PathEscape(r.ID), r)
}

func (h *HTTP) apply(ctx context.Context, method, path string, r domain.Resource) (domain.Result, error) {
	body := httpResource{ID: r.ID, Name: domain.ObjectName(r.ID), EnvironmentID: r.EnvironmentID,
		Team: r.Team, Class: r.Class, Parameters: r.Parameters}
	key := "" // only a create carries the key: a PUT is idempotent by itself
	if method == http.MethodPost {
		key = r.ID
	}
	status, raw, err := h.do(ctx, method, path, key, body)
	if err != nil {
		return domain.Result{}, err
	}
	switch {
	case status == http.StatusAccepted:
		return domain.Result{}, fmt.Errorf("%s %s: %w: it answered 202 Accepted; asynchronous completion by "+
			"callback is not implemented, so the command is retried with the same Idempotency-Key", method, path, ErrNotFinished)
	case status != http.StatusOK && status != http.StatusCreated:
		return domain.Result{}, statusError(method, path, status, raw)
	}
	var res httpResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return domain.Result{}, domain.Permanent(fmt.Errorf("%s %s: answer is not a result: %w", method, path, err))
	}
	return domain.Result{ExternalIDs: res.ExternalIDs, Outputs: res.Outputs, Credentials: res.Credentials}, nil
}

// Sanitize asks the provisioner to delete the resource's data.
func (h *HTTP) Sanitize(ctx context.Context, id string) error {
	path := "/resources/" + url.PathEscape(id) + "/sanitize"
	status, raw, err := h.do(ctx, http.MethodPost, path, "", nil)
	switch {
	case err != nil:
		return err
	case status == http.StatusNotFound || status/100 == 2:
		return nil
	}
	return statusError(http.MethodPost, path, status, raw)
}

// Deprovision deletes the resource.
func (h *HTTP) Deprovision(ctx context.Context, id string) (bool, error) {
	path := "/resources/" + url.PathEscape(id)
	status, raw, err := h.do(ctx, http.MethodDelete, path, "", nil)
	switch {
	case err != nil:
		return false, err
	case status == http.StatusNotFound:
		return false, nil
	case status/100 == 2:
		return true, nil
	}
	return false, statusError(http.MethodDelete, path, status, raw)
}

// Inventory lists the provisioner's resources named with Pave's prefix.
func (h *HTTP) Inventory(ctx context.Context) ([]string, error) {
	status, raw, err := h.do(ctx, http.MethodGet, "/resources", "", nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, statusError(http.MethodGet, "/resources", status, raw)
	}
	var list struct {
		Resources []struct {
			Name string `json:"name"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("GET /resources: answer is not a list: %w", err)
	}
	var ids []string
	for _, r := range list.Resources {
		if strings.HasPrefix(r.Name, domain.Prefix) {
			ids = append(ids, domain.ExternalID("resource", r.Name))
		}
	}
	return ids, nil
}

// Remove deletes an orphaned resource by the id its name encodes.
func (h *HTTP) Remove(ctx context.Context, externalID string) error {
	id, err := domain.ResourceIDOf(externalID, "resource")
	if err != nil {
		return err
	}
	_, err = h.Deprovision(ctx, id)
	return err
}

func (h *HTTP) do(ctx context.Context, method, path, key string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, domain.Permanent(fmt.Errorf("%s %s: encode body: %w", method, path, err))
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, rd)
	if err != nil {
		return 0, nil, domain.Permanent(fmt.Errorf("%s %s: %w", method, path, err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err) // connection or timeout: transient
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, raw, nil
}

// statusError: 408, 429 and 5xx may pass; any other status will not.
func statusError(method, path string, status int, body []byte) error {
	msg := strings.TrimSpace(string(body))
	var problem struct {
		Detail string `json:"detail"`
		Error  string `json:"error"`
	}
	if json.Unmarshal(body, &problem) == nil && (problem.Detail != "" || problem.Error != "") {
		msg = problem.Detail + problem.Error
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	err := fmt.Errorf("%s %s: provisioner answered %d %s: %s", method, path, status, http.StatusText(status), msg)
	if status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500 {
		return err
	}
	return domain.Permanent(err)
}

// ErrNotFinished is wrapped when the provisioner answered 202 Accepted.
var ErrNotFinished = errors.New("provisioner has not finished")
