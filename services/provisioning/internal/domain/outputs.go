package domain

import (
	"maps"
	"strings"
)

// secretWords mark an output key as secret. Outputs travel in events, so
// a provisioner that returns "password" among its outputs must not leak it.
var secretWords = []string{"password", "passwd", "secret", "token", "credential", "private", "apikey", "api_key"}

// PublicOutputs returns outputs without anything that looks secret: keys
// naming a secret, values that hold the password, and URLs with a
// password in them. Never nil.
func PublicOutputs(outputs map[string]string, c *Credentials) map[string]string {
	out := make(map[string]string, len(outputs))
	for k, v := range maps.All(outputs) {
		if secretKey(k) || secretValue(v, c) {
			continue
		}
		out[k] = v
	}
	return out
}

func secretKey(k string) bool {
	lk := strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(lk, w) {
			return true
		}
	}
	return false
}

func secretValue(v string, c *Credentials) bool {
	if c != nil && c.Password != "" && strings.Contains(v, c.Password) {
		return true
	}
	// scheme://user:password@host
	if scheme, rest, ok := strings.Cut(v, "://"); ok && scheme != "" {
		userinfo, _, hasAt := strings.Cut(rest, "@")
		return hasAt && strings.Contains(userinfo, ":") && !strings.Contains(userinfo, "/")
	}
	return false
}
