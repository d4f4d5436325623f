package promotion

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// probeTimeout bounds one HTTP health check.
const probeTimeout = 5 * time.Second

// probe runs the template's health checks against env: each GETs its
// resource's output URL (plus path) and must answer the expected status.
// It returns what failed, "" when every check passed. verify asks again
// until its timeout, so a check that fails is retried.
func (s *Promoter) probe(ctx context.Context, env domain.Environment) string {
	t, err := s.envs.Catalog().Get(env.Template, env.Version)
	if err != nil {
		return fmt.Sprintf("environment %s: %v", env.Name, err)
	}
	for _, c := range t.HealthChecks {
		if msg := probeOne(ctx, env, c); msg != "" {
			return fmt.Sprintf("health check %s: %s", c.Name, msg)
		}
	}
	return ""
}

func probeOne(ctx context.Context, env domain.Environment, c domain.HealthCheck) string {
	r, ok := env.Resource(c.Resource)
	if !ok || r.Outputs[c.Output] == "" {
		return fmt.Sprintf("resource %s has no output %s", c.Resource, c.Output)
	}
	u, err := url.Parse(r.Outputs[c.Output] + c.Path)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("output %s of %s is not an http(s) URL", c.Output, c.Resource)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Sprintf("GET %s: %v", u.Redacted(), err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != c.Status {
		return fmt.Sprintf("GET %s answered %d, want %d", u.Redacted(), resp.StatusCode, c.Status)
	}
	return ""
}
