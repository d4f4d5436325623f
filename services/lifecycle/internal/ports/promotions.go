package ports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
	"github.com/pave-platform/pave/services/lifecycle/internal/promotion"
)

// PromotionEndpoints are the application and promotion API calls.
func PromotionEndpoints(s *promotion.Promoter) []rpc.Endpoint {
	return []rpc.Endpoint{
		{Name: "applications-list", Subject: rpc.ApplicationsList, Handler: listApplications(s)},
		{Name: "applications-get", Subject: rpc.ApplicationsGet, Handler: getApplication(s)},
		{Name: "applications-put", Subject: rpc.ApplicationsPut, Handler: putApplication(s)},
		{Name: "promotions-create", Subject: rpc.PromotionsCreate, Handler: createPromotion(s)},
		{Name: "promotions-list", Subject: rpc.PromotionsList, Handler: listPromotions(s)},
		{Name: "promotions-get", Subject: rpc.PromotionsGet, Handler: getPromotion(s)},
		{Name: "promotions-approve", Subject: rpc.PromotionsApprove, Handler: approvePromotion(s)},
	}
}

func listApplications(s *promotion.Promoter) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		pq, bad := rpc.ParsePage(req.Query)
		if bad != nil {
			return *bad
		}
		apps, err := s.ListApplications(ctx, req.Principal, req.Query["team"])
		if err != nil {
			return promotionFailure(err)
		}
		return rpc.PageReply(rpc.Page(apps, func(a domain.Application) string { return a.Name }, pq))
	}
}

func getApplication(s *promotion.Promoter) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		a, err := s.GetApplication(ctx, req.Principal, req.Path["name"])
		if err != nil {
			return promotionFailure(err)
		}
		c, err := s.Candidate(ctx, a.Name)
		if err != nil {
			return promotionFailure(err)
		}
		return rpc.OK(http.StatusOK, applicationView{Application: a, Candidate: c})
	}
}

// applicationView is an application with its newest promotion
// candidate (a push to the default branch), when one was reported.
type applicationView struct {
	domain.Application
	Candidate *domain.Candidate `json:"candidate,omitempty"`
}

// applicationBody is PUT /v1/applications/{name}: unknown fields are
// refused, like the YAML file's.
type applicationBody struct {
	Team       string                 `json:"team"`
	Repository string                 `json:"repository"`
	Stages     []domain.PipelineStage `json:"stages"`
}

func putApplication(s *promotion.Promoter) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		var b applicationBody
		if rep, ok := decodeStrict(req.Body, &b); !ok {
			return rep
		}
		a, err := s.PutApplication(ctx, req.Principal, domain.Application{Name: req.Path["name"], Team: b.Team,
			Repository: b.Repository, Stages: b.Stages})
		if err != nil {
			return promotionFailure(err)
		}
		return rpc.OK(http.StatusOK, a)
	}
}

func decodeStrict(body json.RawMessage, v any) (rpc.Reply, bool) {
	if len(body) == 0 {
		return rpc.Fail(http.StatusBadRequest, "Bad Request", "a JSON object is required",
			rpc.FieldError{Field: "body", Message: "a JSON object is required"}), false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return rpc.Fail(http.StatusBadRequest, "Bad Request", err.Error(),
			rpc.FieldError{Field: "body", Message: err.Error()}), false
	}
	return rpc.Reply{}, true
}

// promotionBody is POST /v1/promotions.
type promotionBody struct {
	Application string `json:"application"`
	To          string `json:"to"`
	Revision    int    `json:"revision"`
	Commit      string `json:"commit"`
}

func createPromotion(s *promotion.Promoter) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		var b promotionBody
		if rep, ok := decodeStrict(req.Body, &b); !ok {
			return rep
		}
		switch {
		case b.Application == "":
			return rpc.Fail(http.StatusBadRequest, "Bad Request", "application: is required", rpc.FieldError{Field: "application", Message: "is required"})
		case b.To == "":
			return rpc.Fail(http.StatusBadRequest, "Bad Request", "to: is required", rpc.FieldError{Field: "to", Message: "is required"})
		case b.Revision < 0:
			return rpc.Fail(http.StatusBadRequest, "Bad Request", "revision: must be positive", rpc.FieldError{Field: "revision", Message: "must be positive"})
		case b.Commit != "" && !domain.ValidCommit(b.Commit):
			return badCommit()
		}
		rec, err := s.Request(ctx, req.Principal, promotion.PromotionRequest{Application: b.Application, To: b.To,
			Revision: b.Revision, Commit: b.Commit})
		if err != nil {
			return promotionFailure(err)
		}
		rep := rpc.OK(http.StatusAccepted, promotionView(rec))
		rep.Headers = map[string]string{"Location": "/v1/promotions/" + rec.ID}
		return rep
	}
}

// badCommit is the answer for a commit that is not a full sha.
func badCommit() rpc.Reply {
	msg := "must be a full 40-character lower-case hex sha"
	return rpc.Fail(http.StatusBadRequest, "Bad Request", "commit: "+msg, rpc.FieldError{Field: "commit", Message: msg})
}

// promotionKey orders the history newest first, for keyset paging.
func promotionKey(v promotionJSON) string {
	return strconv.FormatInt(1<<62-v.CreatedAt.UnixNano(), 10) + "/" + v.ID
}

func listPromotions(s *promotion.Promoter) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		pq, bad := rpc.ParsePage(req.Query)
		if bad != nil {
			return *bad
		}
		recs, err := s.ListPromotions(ctx, req.Principal, req.Query["application"])
		if err != nil {
			return promotionFailure(err)
		}
		items := make([]promotionJSON, len(recs))
		for i, r := range recs {
			items[i] = promotionView(r)
		}
		return rpc.PageReply(rpc.Page(items, promotionKey, pq))
	}
}

func getPromotion(s *promotion.Promoter) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		rec, err := s.GetPromotion(ctx, req.Principal, req.Path["id"])
		if err != nil {
			return promotionFailure(err)
		}
		return rpc.OK(http.StatusOK, promotionView(rec))
	}
}

func approvePromotion(s *promotion.Promoter) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		rec, err := s.Approve(ctx, req.Principal, req.Path["id"])
		if err != nil {
			return promotionFailure(err)
		}
		return rpc.OK(http.StatusOK, promotionView(rec))
	}
}

// promotionJSON is a promotion as the API shows it.
type promotionJSON struct {
	ID                string              `json:"id"`
	Application       string              `json:"application"`
	Team              string              `json:"team"`
	FromStage         string              `json:"from_stage,omitempty"`
	ToStage           string              `json:"to_stage"`
	SourceEnvironment string              `json:"source_environment_id,omitempty"`
	SourceRevision    int                 `json:"source_revision,omitempty"`
	EnvironmentID     string              `json:"environment_id"`
	Commit            string              `json:"commit,omitempty"`
	PreviousRevision  int                 `json:"previous_revision"`
	AppliedRevision   int                 `json:"applied_revision,omitempty"`
	By                string              `json:"by"`
	State             string              `json:"state"`
	Reason            string              `json:"reason,omitempty"`
	Required          domain.Gates        `json:"required"`
	Gates             []domain.GateResult `json:"gates"`
	Approvals         []domain.Approval   `json:"approvals"`
	CreatedAt         time.Time           `json:"created_at"`
	UpdatedAt         time.Time           `json:"updated_at"`
	EndedAt           *time.Time          `json:"ended_at,omitempty"`
}

func promotionView(r promotion.PromotionRecord) promotionJSON {
	v := promotionJSON{ID: r.ID, Application: r.Application, Team: r.Team, FromStage: r.FromStage, ToStage: r.ToStage,
		SourceEnvironment: r.SourceEnvironment, SourceRevision: r.SourceRevision, EnvironmentID: r.EnvironmentID,
		Commit: r.Commit, PreviousRevision: r.PreviousRevision, AppliedRevision: r.AppliedRevision, By: r.By,
		State: string(r.State), Reason: r.Reason, Required: r.Gates, Gates: r.Results, Approvals: r.Approvals,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if !r.EndedAt.IsZero() {
		v.EndedAt = &r.EndedAt
	}
	return v
}

// promotionFailure maps a promotion use case's error to an answer.
func promotionFailure(err error) rpc.Reply {
	switch {
	case errors.Is(err, promotion.ErrApplicationNotFound):
		return rpc.Fail(http.StatusNotFound, "Not Found", "no such application")
	case errors.Is(err, promotion.ErrPromotionNotFound):
		return rpc.Fail(http.StatusNotFound, "Not Found", "no such promotion")
	case errors.Is(err, promotion.ErrApplicationTaken):
		return rpc.Fail(http.StatusConflict, "Conflict", "the application name is taken",
			rpc.FieldError{Field: "name", Message: "already used"})
	case errors.Is(err, domain.ErrSelfApproval), errors.Is(err, domain.ErrApproverRole), errors.Is(err, domain.ErrAlreadyApproved):
		return rpc.Fail(http.StatusForbidden, "Forbidden", err.Error())
	case errors.Is(err, domain.ErrNotAwaiting):
		return rpc.Fail(http.StatusConflict, "Conflict", err.Error())
	}
	return failure(err)
}
