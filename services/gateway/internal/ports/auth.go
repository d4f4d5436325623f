package ports

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/httpfx"
)

// Authenticator resolves a bearer credential to a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (authn.Principal, error)
}

type principalKey struct{}

// PrincipalFrom returns the authenticated caller of a request.
func PrincipalFrom(ctx context.Context) (authn.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(authn.Principal)
	return p, ok
}

// RequireAuth lets a request through only with a valid bearer token.
func RequireAuth(a Authenticator, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			unauthorized(w, "missing or malformed Authorization header; send Authorization: Bearer <token>")
			return
		}
		p, err := a.Authenticate(r.Context(), token)
		if errors.Is(err, authn.ErrUnauthenticated) {
			detail := "the token is unknown, expired or revoked"
			if reason := authn.ReasonOf(err); reason != "" {
				detail = reason
			}
			unauthorized(w, detail)
			return
		}
		if err != nil {
			log.ErrorContext(r.Context(), "authenticate request", "path", r.URL.Path, "error", err)
			httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Authentication unavailable",
				"the access service did not answer; try again", nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(w http.ResponseWriter, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="pave"`)
	httpfx.WriteProblem(w, http.StatusUnauthorized, "Unauthorized", detail,
		map[string]any{"errors": []map[string]string{{"field": "header.Authorization", "message": detail}}})
}
