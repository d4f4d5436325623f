package ports

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// ServerEndpoints let operators list the drivers' servers and declare one
// gone for good (the gateway lets only platform admins call them).
func ServerEndpoints(s *app.Servers, log *slog.Logger) []rpc.Endpoint {
	return []rpc.Endpoint{
		{Name: "servers-list", Subject: rpc.ServersList, Handler: func(ctx context.Context, _ rpc.Request) rpc.Reply {
			items, err := s.List(ctx)
			if err != nil {
				log.ErrorContext(ctx, "list servers", "error", err)
				return rpc.Fail(http.StatusInternalServerError, "Internal error", "the servers could not be read")
			}
			return rpc.OK(http.StatusOK, map[string]any{"items": items})
		}},
		{Name: "servers-declare-gone", Subject: rpc.ServersDeclareGone, Handler: func(ctx context.Context, req rpc.Request) rpc.Reply {
			return declareGone(ctx, s, req, log)
		}},
		{Name: "servers-restore", Subject: rpc.ServersRestore, Handler: func(ctx context.Context, req rpc.Request) rpc.Reply {
			err := s.Restore(ctx, req.Path["driver"])
			switch {
			case errors.Is(err, app.ErrUnknownDriver):
				return rpc.NotFound("server of driver", req.Path["driver"])
			case err != nil:
				log.ErrorContext(ctx, "restore server", "driver", req.Path["driver"], "error", err)
				return rpc.Fail(http.StatusInternalServerError, "Internal error", "the declaration could not be taken back")
			}
			log.InfoContext(ctx, "server declaration taken back", "driver", req.Path["driver"], "by", req.Principal.ID)
			return rpc.Reply{Status: http.StatusNoContent}
		}},
	}
}

func declareGone(ctx context.Context, s *app.Servers, req rpc.Request, log *slog.Logger) rpc.Reply {
	var in struct {
		Reason string `json:"reason"`
	}
	if len(req.Body) > 0 {
		if err := json.Unmarshal(req.Body, &in); err != nil {
			return rpc.Invalid(rpc.FieldError{Field: "reason", Message: "the body must be {\"reason\": \"...\"}"})
		}
	}
	g, err := s.DeclareGone(ctx, req.Path["driver"], req.Principal.ID, in.Reason)
	var fe *domain.FieldError
	switch {
	case errors.As(err, &fe):
		return rpc.Invalid(rpc.FieldError{Field: fe.Field, Message: fe.Message})
	case errors.Is(err, app.ErrUnknownDriver):
		return rpc.NotFound("server of driver", req.Path["driver"])
	case errors.Is(err, domain.ErrRefused):
		return rpc.Fail(http.StatusUnauthorized, "Unauthorized", err.Error())
	case err != nil:
		log.ErrorContext(ctx, "declare server gone", "driver", req.Path["driver"], "error", err)
		return rpc.Fail(http.StatusInternalServerError, "Internal error", "the declaration could not be recorded")
	}
	log.WarnContext(ctx, "server declared gone: its resources are written off", "driver", g.Driver, "by", g.By, "reason", g.Reason)
	return rpc.OK(http.StatusOK, g)
}
