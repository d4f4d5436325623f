package ports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/cost/internal/app"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// API holds what the endpoints need besides the use cases.
type API struct {
	Svc *app.Service
	// Issuer names the operator in the FOCUS export.
	Issuer string
	Now    func() time.Time
}

// Endpoints are the cost API calls the gateway forwards.
func (a API) Endpoints() []rpc.Endpoint {
	return []rpc.Endpoint{
		{Name: "costs-estimate", Subject: rpc.CostsEstimate, Handler: a.estimate},
		{Name: "costs-query", Subject: rpc.CostsQuery, Handler: a.query},
		{Name: "costs-export", Subject: rpc.CostsExport, Handler: a.export},
		{Name: "budgets-list", Subject: rpc.BudgetsList, Handler: a.listBudgets},
		{Name: "budgets-get", Subject: rpc.BudgetsGet, Handler: a.getBudget},
		{Name: "budgets-put", Subject: rpc.BudgetsPut, Handler: a.putBudget},
		{Name: "ratecards-get", Subject: rpc.RateCardsGet, Handler: a.rateCard},
	}
}

func (a API) estimate(ctx context.Context, req rpc.Request) rpc.Reply {
	var b app.EstimateRequest
	if rep, ok := decode(req.Body, &b); !ok {
		return rep
	}
	res, err := a.Svc.Estimate(ctx, req.Principal, b)
	if errors.Is(err, app.ErrNotFound) {
		return rpc.Fail(http.StatusNotFound, "Not Found", "no template "+b.Template+" "+b.Version,
			rpc.FieldError{Field: "template", Message: "unknown template or version"})
	}
	if err != nil {
		return failure(err)
	}
	card := a.Svc.Card()
	places := card.Places()
	items := []map[string]any{}
	for _, r := range res.Estimate.Resources {
		items = append(items, map[string]any{"name": r.Name, "driver": r.Driver, "class": r.Class,
			"hourly": r.Hourly.String(), "monthly": domain.Money(r.Monthly.Round(places), places)})
	}
	return rpc.OK(http.StatusOK, map[string]any{"template": res.Template, "version": res.Version,
		"currency": card.Currency, "hourly": res.Estimate.Hourly.String(),
		"monthly":         domain.Money(res.Estimate.Monthly.Round(places), places),
		"hours_per_month": domain.HoursPerMonth, "resources": items})
}

// badQuery is the 400 answer for a query parameter that does not parse.
func badQuery(field, msg string) rpc.Reply {
	return rpc.Fail(http.StatusBadRequest, "Bad Request", field+": "+msg, rpc.FieldError{Field: field, Message: msg})
}

// window reads ?window= (default dflt) and ?step=.
func (a API) window(q map[string]string, dflt string) (domain.Window, time.Duration, *rpc.Reply) {
	w := q["window"]
	if w == "" {
		w = dflt
	}
	win, err := domain.ParseWindow(w, a.Now())
	if err != nil {
		rep := badQuery("window", err.Error())
		return win, 0, &rep
	}
	var step time.Duration
	if s := q["step"]; s != "" {
		if step, err = domain.ParseSpan(s); err != nil {
			rep := badQuery("step", err.Error())
			return win, 0, &rep
		}
	}
	return win, step, nil
}

func (a API) query(_ context.Context, req rpc.Request) rpc.Reply {
	win, step, bad := a.window(req.Query, "today")
	if bad != nil {
		return *bad
	}
	grid, err := domain.NewGrid(win, step)
	if err != nil {
		return badQuery("step", err.Error())
	}
	agg, err := domain.ParseAggregate(req.Query["aggregate"])
	if err != nil {
		return badQuery("aggregate", err.Error())
	}
	limit := 100
	if s := req.Query["limit"]; s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 1000 {
			return badQuery("limit", "must be an integer from 1 to 1000")
		}
	}
	res, err := a.Svc.Costs(app.CostQuery{Window: win, Step: grid, Aggregate: agg, Visible: req.Principal.InTeam, Limit: limit})
	if err != nil {
		return failure(err)
	}
	return rpc.OK(http.StatusOK, resultView(res, agg))
}

func resultView(res domain.Result, agg []string) map[string]any {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	items := []map[string]any{}
	for _, g := range res.Groups {
		steps := make([]map[string]any, len(g.Steps))
		for i, c := range g.Steps {
			w := res.Grid.StepWindow(i)
			steps[i] = map[string]any{"start": ts(w.Start), "end": ts(w.End), "cost": domain.Money(c, res.Places)}
		}
		items = append(items, map[string]any{"key": g.Key, "total": domain.Money(g.Total, res.Places), "steps": steps})
	}
	if agg == nil {
		agg = []string{}
	}
	return map[string]any{"currency": res.Currency, "window": map[string]string{"start": ts(res.Grid.Start), "end": ts(res.Grid.End)},
		"step": res.Grid.Step.String(), "aggregate": agg, "total": domain.Money(res.Total, res.Places),
		"items": items, "omitted": res.Omitted}
}

// decode reads a JSON body strictly: an unknown field is named.
func decode(body json.RawMessage, v any) (rpc.Reply, bool) {
	if len(body) == 0 {
		return rpc.Invalid(rpc.FieldError{Field: "body", Message: "a JSON object is required"}), false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return rpc.Invalid(rpc.FieldError{Field: te.Field, Message: "must be " + te.Type.String()}), false
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return rpc.Invalid(rpc.FieldError{Field: field, Message: "unknown field"}), false
		}
		return rpc.Invalid(rpc.FieldError{Field: "body", Message: err.Error()}), false
	}
	return rpc.Reply{}, true
}

// failure maps a use-case error to an answer naming the field.
func failure(err error) rpc.Reply {
	var ie *domain.InputError
	switch {
	case errors.As(err, &ie):
		fields := make([]rpc.FieldError, len(ie.Fields))
		for i, f := range ie.Fields {
			fields[i] = rpc.FieldError{Field: f.Field, Message: f.Message}
		}
		return rpc.Invalid(fields...)
	case errors.Is(err, domain.ErrTooLarge):
		return rpc.Fail(http.StatusUnprocessableEntity, "Invalid request", "the window holds more usage than one answer can count; ask for a shorter one",
			rpc.FieldError{Field: "window", Message: "too much usage to count at once"})
	}
	return rpc.Fail(http.StatusInternalServerError, "Internal error", "the cost service failed on this request")
}

var _ = authn.Principal{}
