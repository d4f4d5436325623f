package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/nats-io/nats.go"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/cost/internal/app"
)

// LifecycleTemplates asks lifecycle for templates over its API subject,
// on behalf of the caller: lifecycle owns the catalog.
type LifecycleTemplates struct{ NC *nats.Conn }

var _ app.Templates = LifecycleTemplates{}

// Template implements app.Templates.
func (t LifecycleTemplates) Template(ctx context.Context, p authn.Principal, name, version string) (app.TemplateDoc, error) {
	req := rpc.Request{Principal: p, Path: map[string]string{"name": name}, Query: map[string]string{}}
	if version != "" {
		req.Query["version"] = version
	}
	rep, err := rpc.Call(ctx, t.NC, rpc.TemplatesGet, req)
	if err != nil {
		return app.TemplateDoc{}, fmt.Errorf("ask lifecycle for template %s: %w", name, err)
	}
	switch {
	case rep.Status == http.StatusNotFound:
		return app.TemplateDoc{}, fmt.Errorf("template %s %s: %w", name, version, app.ErrNotFound)
	case rep.Status != http.StatusOK:
		return app.TemplateDoc{}, fmt.Errorf("ask lifecycle for template %s: status %d", name, rep.Status)
	}
	var doc app.TemplateDoc
	if err := json.Unmarshal(rep.Body, &doc); err != nil {
		return app.TemplateDoc{}, fmt.Errorf("template %s: %w", name, err)
	}
	return doc, nil
}
