package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// client is the API as the CLI uses it.
type client struct {
	server, token string
	// output is "table", "json", or "" for table on a terminal and JSON
	// otherwise.
	output string
	http   *http.Client
	// stream has no overall timeout: it follows a server-sent event
	// stream for as long as the context allows.
	stream *http.Client
}

// do sends a request and decodes a JSON answer into out (a
// *json.RawMessage keeps it as sent); a problem answer becomes an
// *apiError.
func (c *client) do(method, path string, body, out any) error {
	_, err := c.exchange(method, path, body, out, nil)
	return err
}

// exchange is do with request headers, answering the response headers.
func (c *client) exchange(method, path string, body, out any, header http.Header) (http.Header, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.send(ctx, c.http, method, path, body, "application/json", header)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return resp.Header, problemOf(method, path, resp.StatusCode, raw)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return resp.Header, nil
	}
	if r, ok := out.(*json.RawMessage); ok {
		*r = append((*r)[:0], raw...)
		return resp.Header, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("decoding the answer to %s %s: %w", method, path, err)
	}
	return resp.Header, nil
}

// send makes one authenticated request.
func (c *client) send(ctx context.Context, hc *http.Client, method, path string, body any, accept string, header http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request body: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", method, path, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("reaching %s: %w", c.server, err)
	}
	return resp, nil
}

// list fetches every page of a list answer, or the first max items when
// max > 0, following next_cursor; the answer is {"items": [...]} with the
// items as the API sent them.
func (c *client) list(path string, q url.Values, pageSize, max int) (json.RawMessage, error) {
	items := []json.RawMessage{}
	for {
		n := pageSize
		if max > 0 && max-len(items) < n {
			n = max - len(items)
		}
		q.Set("limit", strconv.Itoa(n))
		var page struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next_cursor"`
		}
		if err := c.do(http.MethodGet, path+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
		if page.Next == "" || (max > 0 && len(items) >= max) {
			break
		}
		if page.Next == q.Get("cursor") {
			return nil, fmt.Errorf("listing %s: the server answered the same cursor twice", path)
		}
		q.Set("cursor", page.Next)
	}
	return json.Marshal(map[string]any{"items": items})
}

// apiError is a problem+json answer.
type apiError struct {
	Method, Path string
	Status       int
	Title        string
	Detail       string
	Fields       []fieldError
	Policies     []string
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func problemOf(method, path string, status int, raw []byte) *apiError {
	var p struct {
		Title    string       `json:"title"`
		Detail   string       `json:"detail"`
		Errors   []fieldError `json:"errors"`
		Policies []string     `json:"policies"`
	}
	_ = json.Unmarshal(raw, &p)
	if p.Title == "" {
		p.Title = http.StatusText(status)
	}
	if p.Detail == "" && p.Errors == nil && !json.Valid(raw) {
		p.Detail = strings.TrimSpace(string(raw))
	}
	return &apiError{Method: method, Path: path, Status: status, Title: p.Title, Detail: p.Detail,
		Fields: p.Errors, Policies: p.Policies}
}

// Error is one line: status, title, the detail unless the field errors
// already say it, each field error, and the policies that decided.
func (e *apiError) Error() string {
	var parts []string
	if e.Detail != "" && !e.fieldsCover(e.Detail) {
		parts = append(parts, e.Detail)
	}
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	msg := fmt.Sprintf("%d %s", e.Status, e.Title)
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, "; ")
	}
	if len(e.Policies) > 0 {
		msg += " (policies: " + strings.Join(e.Policies, ", ") + ")"
	}
	return msg
}

func (e *apiError) fieldsCover(detail string) bool {
	if len(e.Fields) == 0 {
		return false
	}
	for _, f := range e.Fields {
		if !strings.Contains(detail, f.Message) {
			return false
		}
	}
	return true
}
