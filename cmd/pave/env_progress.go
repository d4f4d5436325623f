package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// sseMessage is one server-sent event.
type sseMessage struct {
	Event string          `json:"event"`
	ID    string          `json:"id,omitempty"`
	Data  json.RawMessage `json:"data"`
}

// errNoStream: the server has no progress stream (404 or 501 on the
// events route of an environment that exists).
var errNoStream = errors.New("progress stream not available")

// pollInterval is how often the fallback asks for the environment.
var pollInterval = time.Second

// settled is a state in which the environment stays until someone acts.
func settled(state string) bool {
	switch state {
	case "ready", "failed", "deleted", "degraded", "compensation_failed":
		return true
	}
	return false
}

// watch follows the environment's progress until it settles, from the
// event stream when the server has it, else by polling. It returns the
// settled state.
func (c *client) watch(ctx context.Context, id string, p *progress) (string, error) {
	state, err := c.followStream(ctx, id, p)
	if !errors.Is(err, errNoStream) {
		return state, err
	}
	p.note(fmt.Sprintf("%v; polling every %s instead, backing off to %s", err, pollInterval, envPollMax))
	return c.poll(ctx, id, p)
}

// followStream reads GET /v1/environments/{id}/events until its end
// message, reconnecting with Last-Event-ID when the connection drops.
func (c *client) followStream(ctx context.Context, id string, p *progress) (string, error) {
	path := "/v1/environments/" + id + "/events"
	lastID, failures := "", 0
	for {
		before := lastID
		state, err := c.streamOnce(ctx, path, &lastID, p)
		if lastID != before {
			failures = 0 // it made progress: a fresh drop, not a failing server
		}
		var ae *apiError
		switch {
		case err == nil:
			return state, nil
		case errors.Is(err, errNoStream):
			return "", err
		case errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusNotImplemented):
			if ae.Status == http.StatusNotFound {
				// Is it the route or the environment that is missing?
				if gerr := c.do(http.MethodGet, "/v1/environments/"+id, nil, nil); gerr != nil {
					return "", gerr
				}
			}
			return "", fmt.Errorf("%w (%d %s from %s)", errNoStream, ae.Status, ae.Title, path)
		case ae != nil, ctx.Err() != nil:
			return "", err
		}
		// Reconnect at once the first time (a dropped connection), then
		// back off.
		failures++
		if failures > 5 {
			return "", fmt.Errorf("following %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Duration(failures-1) * 500 * time.Millisecond):
		}
	}
}

// streamOnce reads one connection; a nil error means the end message came.
func (c *client) streamOnce(ctx context.Context, path string, lastID *string, p *progress) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.sendStream(ctx, path, *lastID)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return "", problemOf(http.MethodGet, path, resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return "", fmt.Errorf("%w (%s answered %q, not text/event-stream)", errNoStream, path, ct)
	}
	var end string
	err = readSSE(resp.Body, func(m sseMessage) bool {
		if m.ID != "" {
			*lastID = m.ID
		}
		if m.Event == "end" {
			var e struct {
				State string `json:"state"`
			}
			_ = json.Unmarshal(m.Data, &e)
			end = e.State
		}
		p.message(m)
		return m.Event != "end"
	})
	if end != "" {
		return end, nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return "", fmt.Errorf("reading %s: %w", path, err)
}

func (c *client) sendStream(ctx context.Context, path, lastID string) (*http.Response, error) {
	header := http.Header{}
	if lastID != "" {
		header.Set("Last-Event-ID", lastID)
	}
	return c.send(ctx, c.stream, http.MethodGet, path, nil, "text/event-stream", header)
}

// readSSE calls fn with each message until fn returns false or the body
// ends (text/event-stream as the HTML standard defines it).
func readSSE(r io.Reader, fn func(sseMessage) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	var m sseMessage
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(data) > 0 {
				m.Data = json.RawMessage(strings.Join(data, "\n"))
				if m.Event == "" {
					m.Event = "message"
				}
				if !fn(m) {
					return nil
				}
			}
			m, data = sseMessage{}, nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			m.Event = value
		case "data":
			data = append(data, value)
		case "id":
			m.ID = value
		}
	}
	return sc.Err()
}

// poll asks for the environment, first after pollInterval and then
// backing off to envPollMax, until it settles
// with no operation running.
func (c *client) poll(ctx context.Context, id string, p *progress) (string, error) {
	pace := backoff{First: pollInterval, Max: max(pollInterval, envPollMax)}
	for {
		var raw json.RawMessage
		if err := c.do(http.MethodGet, "/v1/environments/"+id, nil, &raw); err != nil {
			return "", err
		}
		p.message(sseMessage{Event: "snapshot", Data: raw})
		var env struct {
			State     string `json:"state"`
			Operation any    `json:"operation"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			return "", fmt.Errorf("decoding environment %s: %w", id, err)
		}
		if settled(env.State) && env.Operation == nil {
			return env.State, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for environment %s: %w", id, ctx.Err())
		case <-time.After(pace.Next()):
		}
	}
}
