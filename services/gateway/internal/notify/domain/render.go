package domain

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// AttrsOf reads what the filters need from an event: its envelope and
// the data's team, environment, stage and application, whatever the
// type (each type names them the same way).
func AttrsOf(e event.Event) Attrs {
	var d struct {
		Team          string `json:"team"`
		EnvironmentID string `json:"environment_id"`
		Name          string `json:"name"`
		Stage         string `json:"stage"`
		ToStage       string `json:"to_stage"`
		Application   string `json:"application"`
		To            string `json:"to"`
		Scope         struct {
			Team string `json:"team"`
		} `json:"scope"`
	}
	_ = json.Unmarshal(e.Data(), &d) // an event without these fields matches on its envelope only
	a := Attrs{ID: e.ID(), Type: e.Type(), Subject: e.Subject(), Team: d.Team, Environment: d.EnvironmentID,
		Stage: d.Stage, Application: d.Application, To: d.To}
	if strings.HasSuffix(e.Type(), ".environment.transitioned.v1") {
		a.Name = d.Name
	}
	if a.Stage == "" {
		a.Stage = d.ToStage
	}
	if a.Team == "" {
		a.Team = d.Scope.Team
	}
	return a
}

// Rendered is one HTTP request body with its headers.
type Rendered struct {
	Header http.Header
	Body   []byte
}

// Render turns the event into the body a subscription's format wants.
func Render(format string, e event.Event) (Rendered, error) {
	h := http.Header{}
	switch format {
	case FormatBinary:
		for k, v := range binaryHeaders(e) {
			h.Set(k, v)
		}
		ct := e.DataContentType()
		if ct == "" {
			ct = "application/json"
		}
		h.Set("Content-Type", ct)
		return Rendered{Header: h, Body: e.Data()}, nil
	case FormatStructured:
		body, err := json.Marshal(e)
		if err != nil {
			return Rendered{}, fmt.Errorf("render %s: %w", e.ID(), err)
		}
		h.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
		return Rendered{Header: h, Body: body}, nil
	case FormatSlack:
		body, _ := json.Marshal(map[string]any{"text": Describe(e)})
		h.Set("Content-Type", "application/json")
		return Rendered{Header: h, Body: body}, nil
	case FormatTeams:
		card := map[string]any{"type": "AdaptiveCard", "version": "1.4",
			"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
			"body": []map[string]any{
				{"type": "TextBlock", "text": Title(e), "weight": "Bolder", "wrap": true},
				{"type": "TextBlock", "text": Describe(e), "wrap": true},
			}}
		body, _ := json.Marshal(map[string]any{"type": "message", "attachments": []map[string]any{
			{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}}})
		h.Set("Content-Type", "application/json")
		return Rendered{Header: h, Body: body}, nil
	}
	return Rendered{}, fmt.Errorf("render %s: unknown format %q", e.ID(), format)
}

// binaryHeaders are the ce-* headers of the CloudEvents HTTP binding.
func binaryHeaders(e event.Event) map[string]string {
	h := map[string]string{"ce-specversion": e.SpecVersion(), "ce-id": e.ID(), "ce-source": e.Source(), "ce-type": e.Type()}
	if s := e.Subject(); s != "" {
		h["ce-subject"] = s
	}
	if t := e.Time(); !t.IsZero() {
		h["ce-time"] = t.UTC().Format(time.RFC3339Nano)
	}
	if s := e.DataSchema(); s != "" {
		h["ce-dataschema"] = s
	}
	for k, v := range e.Extensions() {
		h["ce-"+k] = fmt.Sprint(v)
	}
	return h
}

// Title is a message's headline.
func Title(e event.Event) string {
	a := AttrsOf(e)
	switch {
	case strings.HasSuffix(e.Type(), ".environment.transitioned.v1"):
		return "Environment " + a.Name + " is " + a.To
	case strings.Contains(e.Type(), ".promotion."):
		return "Promotion of " + a.Application
	}
	return e.Type()
}

// Describe is one readable line of what happened, for chat messages.
func Describe(e event.Event) string {
	var d map[string]any
	_ = json.Unmarshal(e.Data(), &d)
	s := func(k string) string { v, _ := d[k].(string); return v }
	typ := e.Type()
	switch {
	case strings.HasSuffix(typ, ".environment.transitioned.v1"):
		return describeTransition(s)
	case strings.HasSuffix(typ, ".budget.crossed.v1"):
		return fmt.Sprintf("Budget crossed: team %s reached %v%% of its %s budget (spent %s of %s %s, forecast %s).",
			s("team"), d["threshold_percent"], s("period"), s("spent"), s("amount"), s("currency"), s("forecast"))
	case strings.HasSuffix(typ, ".spend.spiked.v1"):
		return fmt.Sprintf("Spend spike: team %s spent %s %s in the last hour against a baseline of %s an hour.",
			s("team"), s("last_hour"), s("currency"), s("baseline"))
	case strings.HasSuffix(typ, ".breakglass.activated.v1"):
		return fmt.Sprintf("Break-glass: %s took %s on team %s for incident %s until %s. Reason: %s",
			s("principal"), s("role"), s("team"), s("incident_id"), s("expires_at"), s("reason"))
	case strings.HasSuffix(typ, ".credential.drifted.v1"):
		return fmt.Sprintf("Drift found: %s login %s on %s (environment %s, %s driver); remediated: %v.",
			s("kind"), s("name"), s("resource_id"), s("environment_id"), s("driver"), d["remediated"])
	case strings.HasSuffix(typ, ".promotion.waiting.v1"):
		return fmt.Sprintf("Approval requested: promotion %s of %s to %s (commit %s, by %s) waits for the approvers of team %s.",
			s("promotion_id"), s("application"), s("to_stage"), short(s("commit")), s("by"), s("team"))
	case strings.Contains(typ, ".promotion."):
		msg := fmt.Sprintf("Promotion %s of %s from %s to %s (commit %s): %s.", s("promotion_id"), s("application"),
			s("from_stage"), s("to_stage"), short(s("commit")), s("state"))
		if r := s("reason"); r != "" {
			msg += " " + r
		}
		return msg
	case strings.HasSuffix(typ, ".saga.alerted.v1"):
		return fmt.Sprintf("Operation %s needs attention: %s at step %s. %s", s("saga_id"), s("alert"), s("step"), s("reason"))
	case strings.HasSuffix(typ, ".subscription.disabled.v1"):
		return fmt.Sprintf("Subscription %s to %s was disabled: %s", s("subscription"), s("host"), s("reason"))
	}
	return fmt.Sprintf("%s about %s (event %s).", typ, e.Subject(), e.ID())
}

func describeTransition(s func(string) string) string {
	env := fmt.Sprintf("Environment %s of team %s", s("name"), s("team"))
	switch s("to") {
	case "ready":
		return env + " is ready."
	case "failed", "compensation_failed", "degraded":
		return fmt.Sprintf("%s %s: %s", env, strings.ReplaceAll(s("to"), "_", " "), s("reason"))
	case "expiring":
		return fmt.Sprintf("%s expires at %s; extend it to keep it.", env, s("expires_at"))
	}
	msg := fmt.Sprintf("%s went from %s to %s.", env, s("from"), s("to"))
	if r := s("reason"); r != "" {
		msg += " " + r
	}
	return msg
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
