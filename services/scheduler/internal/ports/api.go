// Package ports turns API calls, commands and runner reports into the
// scheduler leader's use cases.
package ports

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/scheduler/internal/app"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// Endpoints are the scheduler API calls the gateway forwards, served by
// leader l.
func Endpoints(l *app.Leader) []rpc.Endpoint {
	return []rpc.Endpoint{
		{Name: "workloads-submit", Subject: rpc.WorkloadsSubmit, Handler: submit(l)},
		{Name: "workloads-list", Subject: rpc.WorkloadsList, Handler: list(l)},
		{Name: "workloads-get", Subject: rpc.WorkloadsGet, Handler: get(l)},
		{Name: "workloads-cancel", Subject: rpc.WorkloadsCancel, Handler: cancel(l)},
		{Name: "pools-list", Subject: rpc.PoolsList, Handler: listPools(l)},
		{Name: "pools-get", Subject: rpc.PoolsGet, Handler: getPool(l)},
		{Name: "pools-put", Subject: rpc.PoolsPut, Handler: putPool(l)},
		{Name: "quotas-get", Subject: rpc.QuotasGet, Handler: getQuota(l)},
		{Name: "quotas-put", Subject: rpc.QuotasPut, Handler: putQuota(l)},
	}
}

// submitBody is POST /v1/workloads.
type submitBody struct {
	ID          string            `json:"id"`
	Team        string            `json:"team"`
	Pool        string            `json:"pool"`
	Kind        string            `json:"kind"`
	Demand      map[string]int64  `json:"demand"`
	Priority    int               `json:"priority"`
	DependsOn   []string          `json:"depends_on"`
	Preemptible bool              `json:"preemptible"`
	MinRuntime  string            `json:"min_runtime"`
	MaxRuntime  string            `json:"max_runtime"`
	Job         *events.JobSpec   `json:"job"`
	Labels      map[string]string `json:"labels"`
}

func submit(l *app.Leader) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		var b submitBody
		if rep, ok := decode(req.Body, &b); !ok {
			return rep
		}
		spec, fe := b.spec()
		if fe != nil {
			return rpc.Invalid(*fe)
		}
		if !req.Principal.InTeam(spec.Team) {
			return rpc.Invalid(rpc.FieldError{Field: "team", Message: "unknown team, or not yours"})
		}
		res, err := l.Submit(ctx, events.SubmitCommand{Workload: spec, SubmittedBy: req.Principal.ID})
		if err != nil {
			return failure(err)
		}
		if res.Existing {
			return rpc.Fail(http.StatusConflict, "Conflict", "a workload with this id exists",
				rpc.FieldError{Field: "id", Message: "already used"})
		}
		return rpc.OK(http.StatusAccepted, res.View)
	}
}

func (b submitBody) spec() (events.WorkloadSpec, *rpc.FieldError) {
	s := events.WorkloadSpec{ID: b.ID, Team: b.Team, Pool: b.Pool, Kind: b.Kind, Demand: b.Demand,
		Priority: b.Priority, DependsOn: b.DependsOn, Preemptible: b.Preemptible, Job: b.Job, Labels: b.Labels}
	if s.Kind == "" {
		s.Kind = events.WorkloadKindJob
	}
	if s.Kind != events.WorkloadKindJob && s.Kind != events.WorkloadKindEnvironment {
		return s, &rpc.FieldError{Field: "kind", Message: fmt.Sprintf("%q is neither job nor environment", s.Kind)}
	}
	for _, f := range []struct {
		name  string
		value string
	}{{"team", s.Team}, {"pool", s.Pool}} {
		if f.value == "" {
			return s, &rpc.FieldError{Field: f.name, Message: "is required"}
		}
	}
	if len(s.Demand) == 0 {
		return s, &rpc.FieldError{Field: "demand", Message: "is required: a quantity per resource of the pool, e.g. {\"cpu\": 500}"}
	}
	if s.ID == "" {
		s.ID = newID()
	}
	var err error
	if s.MinRuntimeMS, err = millis(b.MinRuntime); err != nil {
		return s, &rpc.FieldError{Field: "min_runtime", Message: err.Error()}
	}
	if s.MaxRuntimeMS, err = millis(b.MaxRuntime); err != nil {
		return s, &rpc.FieldError{Field: "max_runtime", Message: err.Error()}
	}
	return s, nil
}

func millis(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a non-negative duration like 90s or 10m", s)
	}
	return d.Milliseconds(), nil
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "wl-" + hex.EncodeToString(b[:])
}

// visible says which teams' workloads a principal may see.
func visible(p authn.Principal) func(string) bool { return p.InTeam }

var knownStates = map[string]bool{app.StateQueued: true, app.StateAdmitted: true, app.StateRunning: true,
	app.StateFinished: true, app.StateFailed: true, app.StateCancelled: true, app.StateReleased: true}

func list(l *app.Leader) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		f := app.ListFilter{Teams: visible(req.Principal), Team: req.Query["team"], Pool: req.Query["pool"],
			State: req.Query["state"]}
		if f.State != "" && !knownStates[f.State] {
			return rpc.Invalid(rpc.FieldError{Field: "query.state", Message: fmt.Sprintf("unknown state %q", f.State)})
		}
		pq, bad := rpc.ParsePage(req.Query)
		if bad != nil {
			return *bad
		}
		items, err := l.List(ctx, f)
		if err != nil {
			return failure(err)
		}
		return rpc.PageReply(rpc.Page(items, workloadKey, pq))
	}
}

// workloadKey orders workloads as List does, newest first then by id,
// in a string, for keyset paging.
func workloadKey(v app.View) string {
	return fmt.Sprintf("%019d/%s", math.MaxInt64-v.SubmittedAt.UnixNano(), v.ID)
}

func get(l *app.Leader) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		v, err := l.Get(ctx, req.Path["id"], visible(req.Principal))
		if err != nil {
			return failure(err)
		}
		return rpc.OK(http.StatusOK, v)
	}
}

func cancel(l *app.Leader) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		v, err := l.Cancel(ctx, req.Path["id"], req.Principal.ID, req.Query["reason"], visible(req.Principal))
		if err != nil {
			return failure(err)
		}
		return rpc.OK(http.StatusOK, v)
	}
}

func listPools(l *app.Leader) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		pq, bad := rpc.ParsePage(req.Query)
		if bad != nil {
			return *bad
		}
		pools, err := l.Pools(ctx, visible(req.Principal))
		if err != nil {
			return failure(err)
		}
		slices.SortFunc(pools, func(a, b app.PoolView) int { return strings.Compare(a.Name, b.Name) })
		return rpc.PageReply(rpc.Page(pools, func(p app.PoolView) string { return p.Name }, pq))
	}
}

func getPool(l *app.Leader) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		pools, err := l.Pools(ctx, visible(req.Principal))
		if err != nil {
			return failure(err)
		}
		for _, p := range pools {
			if p.Name == req.Path["name"] {
				rep := rpc.OK(http.StatusOK, p)
				rep.Headers = map[string]string{"ETag": poolTag(p)}
				return rep
			}
		}
		return rpc.NotFound("pool", req.Path["name"])
	}
}

// poolTag is a pool's ETag: its capacity, what PUT sets (usage moves on
// its own and does not change it).
func poolTag(p app.PoolView) string {
	return rpc.ETagOfValue(map[string]any{"name": p.Name, "capacity": p.Capacity})
}

func putPool(l *app.Leader) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		if !req.Principal.IsPlatformAdmin() {
			return forbidden("only a platform admin may change pools")
		}
		var b struct {
			Capacity map[string]int64 `json:"capacity"`
		}
		if rep, ok := decode(req.Body, &b); !ok {
			return rep
		}
		if req.IfMatch != "" {
			cur := getPool(l)(ctx, req)
			if cur.Status != http.StatusOK && cur.Status != http.StatusNotFound {
				return cur
			}
			if rep, ok := rpc.CheckTag(req, cur.Headers["ETag"]); !ok {
				return rep
			}
		}
		if err := l.SetPool(ctx, req.Path["name"], b.Capacity); err != nil {
			return failure(err)
		}
		return getPool(l)(ctx, req)
	}
}

// quotaBody is PUT /v1/quotas/{team}.
type quotaBody struct {
	Weight         float64                     `json:"weight"`
	Nominal        map[string]map[string]int64 `json:"nominal"`
	BorrowingLimit map[string]map[string]int64 `json:"borrowing_limit"`
	LendingLimit   map[string]map[string]int64 `json:"lending_limit"`
}

func getQuota(l *app.Leader) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		if !req.Principal.InTeam(req.Path["team"]) {
			return rpc.NotFound("team", req.Path["team"])
		}
		v, err := l.Team(ctx, req.Path["team"])
		if err != nil {
			if errors.Is(err, app.ErrNotFound) {
				return rpc.NotFound("team", req.Path["team"])
			}
			return failure(err)
		}
		return rpc.WithETag(rpc.OK(http.StatusOK, v))
	}
}

func putQuota(l *app.Leader) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		if !req.Principal.IsPlatformAdmin() {
			return forbidden("only a platform admin may change quotas")
		}
		var b quotaBody
		if rep, ok := decode(req.Body, &b); !ok {
			return rep
		}
		if req.IfMatch != "" {
			cur := getQuota(l)(ctx, req)
			if cur.Status != http.StatusOK && cur.Status != http.StatusNotFound {
				return cur
			}
			if rep, ok := rpc.CheckTag(req, cur.Headers["ETag"]); !ok {
				return rep
			}
		}
		conv := func(m map[string]map[string]int64) map[string]domain.Vector {
			out := map[string]domain.Vector{}
			for k, v := range m {
				out[k] = domain.Vector(v)
			}
			return out
		}
		t := domain.Team{Name: req.Path["team"], Weight: b.Weight, Nominal: conv(b.Nominal),
			BorrowingLimit: conv(b.BorrowingLimit), LendingLimit: conv(b.LendingLimit)}
		if err := l.SetTeam(ctx, t); err != nil {
			return failure(err)
		}
		return getQuota(l)(ctx, req)
	}
}

// decode reads a JSON body strictly: an unknown field is named.
func decode(body json.RawMessage, v any) (rpc.Reply, bool) {
	if len(body) == 0 {
		return rpc.Invalid(rpc.FieldError{Field: "body", Message: "a JSON object is required"}), false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field := "body"
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			field = te.Field
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return rpc.Invalid(rpc.FieldError{Field: field, Message: "unknown field"}), false
		}
		return rpc.Invalid(rpc.FieldError{Field: field, Message: err.Error()}), false
	}
	return rpc.Reply{}, true
}

func forbidden(detail string) rpc.Reply {
	return rpc.Fail(http.StatusForbidden, "Forbidden", detail)
}

// failure maps a use-case error to an answer naming the field.
func failure(err error) rpc.Reply {
	var ie *app.InputError
	switch {
	case errors.As(err, &ie):
		return rpc.Invalid(rpc.FieldError{Field: ie.Field, Message: ie.Message})
	case errors.Is(err, app.ErrNotFound):
		return rpc.Fail(http.StatusNotFound, "Not Found", "no such workload")
	case errors.Is(err, app.ErrConflict):
		return rpc.Fail(http.StatusConflict, "Conflict", err.Error())
	case errors.Is(err, app.ErrLogFull):
		return rpc.Fail(http.StatusServiceUnavailable, "Service Unavailable",
			"the scheduler's log is full; nothing was changed; try again once an operator has made room")
	case errors.Is(err, app.ErrNotLeader), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return rpc.Fail(http.StatusServiceUnavailable, "Service Unavailable", "the scheduler is changing leader; try again")
	}
	return rpc.Fail(http.StatusInternalServerError, "Internal error", "the scheduler failed on this request")
}
