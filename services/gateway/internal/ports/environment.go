package ports

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/pave-platform/pave/pkg/rpc"
)

// getEnvironment answers GET /v1/environments/{id}: the environment from
// lifecycle and, for callers allowed to see them, each ready resource's
// login from provisioning. Lifecycle already answered 404 to a caller of
// another team, so no credentials are ever asked for on their behalf.
func getEnvironment(c Caller, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := buildRequest(w, r, []string{"id"})
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		rep, err := c.Call(ctx, rpc.EnvironmentsGet, req)
		if err != nil {
			Forward(errCaller{err}, log, rpc.EnvironmentsGet).ServeHTTP(w, r)
			return
		}
		if rep.Status == http.StatusOK {
			rep.Body = withCredentials(ctx, c, req, rep.Body, log)
		}
		WriteReply(w, log, rep)
	})
}

func withCredentials(ctx context.Context, c Caller, req rpc.Request, body json.RawMessage, log *slog.Logger) json.RawMessage {
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		return body
	}
	resources, _ := env["resources"].([]any)
	for _, item := range resources {
		res, ok := item.(map[string]any)
		if !ok || res["state"] != "ready" {
			continue
		}
		creq := rpc.Request{Principal: req.Principal, Path: map[string]string{
			"environment_id": req.Path["id"], "resource_id": res["id"].(string),
		}}
		rep, err := c.Call(ctx, rpc.ResourceCredentials, creq)
		if err != nil {
			log.WarnContext(ctx, "credentials unavailable", "resource", res["id"], "error", err)
			continue
		}
		if rep.Status == http.StatusOK {
			res["credentials"] = rep.Body
		}
	}
	out, err := json.Marshal(env)
	if err != nil {
		return body
	}
	return out
}

// errCaller answers every call with the same error, so a failed call is
// reported the way Forward reports it.
type errCaller struct{ err error }

func (e errCaller) Call(context.Context, string, rpc.Request) (rpc.Reply, error) {
	return rpc.Reply{}, e.err
}
