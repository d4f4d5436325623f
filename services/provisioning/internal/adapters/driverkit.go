package adapters

// Errors are transient unless a driver marks them domain.Permanent: a
// target that refuses connections or times out is retried by the bus,
// while bad parameters and refusals by the target are not.

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// newPassword is 32 random bytes, URL-safe base64: no character needs
// quoting in SQL, Redis ACL rules or URLs.
func newPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// redact removes secret from err's message, for errors a server built
// from a command that carried the secret.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return redactedError{msg: strings.ReplaceAll(err.Error(), secret, "[redacted]"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (r redactedError) Error() string { return r.msg }

// Unwrap keeps errors.Is and errors.As working; only the text changes.
func (r redactedError) Unwrap() error { return r.err }

// params reads driver parameters, refusing any it does not know.
type params struct {
	driver string
	m      map[string]any
	seen   map[string]bool
}

func newParams(driver string, m map[string]any) *params {
	return &params{driver: driver, m: m, seen: map[string]bool{}}
}

// Int reads a whole number, def when absent.
func (p *params) Int(name string, def int64) (int64, error) {
	p.seen[name] = true
	v, ok := p.m[name]
	if !ok {
		return def, nil
	}
	f, ok := v.(float64)
	if i, isInt := v.(int); isInt {
		f, ok = float64(i), true
	}
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, domain.Permanent(fmt.Errorf("%s parameter %s: want a whole number, got %v", p.driver, name, v))
	}
	return int64(f), nil
}

// String reads a string, def when absent.
func (p *params) String(name, def string) (string, error) {
	p.seen[name] = true
	v, ok := p.m[name]
	if !ok {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", domain.Permanent(fmt.Errorf("%s parameter %s: want a string, got %v", p.driver, name, v))
	}
	return s, nil
}

// Done refuses parameters nobody read.
func (p *params) Done() error {
	for _, k := range slices.Sorted(maps.Keys(p.m)) {
		if !p.seen[k] {
			return domain.Permanent(fmt.Errorf("%s: unknown parameter %q", p.driver, k))
		}
	}
	return nil
}
