package webhooks

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/rpc"
)

// openPreview creates the pull request's environment unless it exists:
// a redelivery after a crash finds it (or gets 409) and does nothing.
func (p *Processor) openPreview(ctx context.Context, log *slog.Logger, repo *Repository, c change) error {
	name := PreviewName(repo, c.number)
	if _, found, err := p.findPreview(ctx, repo, name); err != nil || found {
		if found {
			log.InfoContext(ctx, "preview environment exists", "environment", name)
		}
		return err
	}
	body := map[string]any{"team": repo.Team, "name": name, "template": repo.Template,
		"parameters": parameters(repo, c), "commit": c.commit}
	if repo.Stage != "" {
		body["stage"] = repo.Stage
	}
	if repo.PreviewTTL != "" {
		body["ttl"] = repo.PreviewTTL
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return bus.Permanent(err)
	}
	rep, err := p.call(ctx, rpc.EnvironmentsCreate, rpc.Request{Principal: principal(repo), Body: raw})
	switch {
	case err != nil:
		return err
	case rep.Status == http.StatusConflict:
		log.InfoContext(ctx, "preview environment exists", "environment", name)
		return nil
	case rep.Status != http.StatusAccepted:
		return errCall("create preview "+name, rep)
	}
	log.InfoContext(ctx, "preview environment requested", "environment", name, "commit", c.commit)
	return nil
}

// updatePreview moves the environment to the new commit (a new
// revision); with no environment yet (the pull request predates the
// mapping) it creates one.
func (p *Processor) updatePreview(ctx context.Context, log *slog.Logger, repo *Repository, c change) error {
	name := PreviewName(repo, c.number)
	env, found, err := p.findPreview(ctx, repo, name)
	switch {
	case err != nil:
		return err
	case !found:
		return p.openPreview(ctx, log, repo, c)
	case env.Commit == c.commit:
		log.InfoContext(ctx, "preview environment already at commit", "environment", name, "commit", c.commit)
		return nil
	}
	raw, err := json.Marshal(map[string]any{"parameters": parameters(repo, c), "commit": c.commit})
	if err != nil {
		return bus.Permanent(err)
	}
	rep, err := p.call(ctx, rpc.EnvironmentsUpdate, rpc.Request{Principal: principal(repo),
		Path: map[string]string{"id": env.ID}, Body: raw})
	if err != nil {
		return err
	}
	if rep.Status != http.StatusAccepted {
		// 409 while an operation runs: retried with backoff.
		return errCall("update preview "+name, rep)
	}
	log.InfoContext(ctx, "preview environment updated", "environment", name, "commit", c.commit)
	return nil
}

// closePreview tears the environment down; none left is done.
func (p *Processor) closePreview(ctx context.Context, log *slog.Logger, repo *Repository, c change) error {
	name := PreviewName(repo, c.number)
	env, found, err := p.findPreview(ctx, repo, name)
	if err != nil || !found {
		if err == nil {
			log.InfoContext(ctx, "no preview environment to tear down", "environment", name)
		}
		return err
	}
	rep, err := p.call(ctx, rpc.EnvironmentsDelete, rpc.Request{Principal: principal(repo), Path: map[string]string{"id": env.ID}})
	if err != nil {
		return err
	}
	if rep.Status != http.StatusAccepted && rep.Status != http.StatusNotFound {
		return errCall("tear down preview "+name, rep)
	}
	log.InfoContext(ctx, "preview environment teardown requested", "environment", name)
	return nil
}
