package adapters

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

var _ app.GrantDriver = (*Redis)(nil)

// grantRules confine a grant login to the resource's keys and channels:
// read commands only, or reads, writes, transactions and pub/sub; never
// anything dangerous or anything that lists other resources' keys.
func grantRules(resourceID string, writes bool) []string {
	rules := []string{
		"resetkeys", "~" + KeyPrefix(resourceID) + "*",
		"resetchannels", "&" + KeyPrefix(resourceID) + "*",
		"-@all", "+@read", "+@connection",
	}
	if writes {
		rules = append(rules, "+@write", "+@transaction", "+@pubsub")
	}
	return append(rules, "-@dangerous", "-@admin", "-select", "-scan", "-randomkey", "-dbsize", "-pubsub")
}

// IssueGrant creates (or resets) ACL user name with a new password. Redis
// has no expiry of its own: the revocation deletes the user, and the drift
// sweep finds any that outlive their grant.
func (r *Redis) IssueGrant(ctx context.Context, resourceID, name string, writes bool, _ time.Time) (domain.Credentials, error) {
	password, err := newPassword()
	if err != nil {
		return domain.Credentials{}, err
	}
	rules := append([]string{"reset", "on", ">" + password}, grantRules(resourceID, writes)...)
	if err := r.client.ACLSetUser(ctx, name, rules...).Err(); err != nil {
		return domain.Credentials{}, fmt.Errorf("set acl user %s: %w", name, redisClassify(redact(err, password)))
	}
	if err := r.saveACL(ctx); err != nil {
		return domain.Credentials{}, err
	}
	return domain.Credentials{Username: name, Password: password, URL: r.loginURL(name, password)}, nil
}

// RevokeGrant deletes ACL user name, which also disconnects its clients.
// The resource's keys stay: they are the environment's, not the grant's.
func (r *Redis) RevokeGrant(ctx context.Context, _ string, name string) error {
	if err := r.client.ACLDelUser(ctx, name).Err(); err != nil {
		return fmt.Errorf("delete acl user %s: %w", name, redisClassify(err))
	}
	return r.saveACL(ctx)
}

// aclUser is one line of ACL LIST: the user and its key patterns.
type aclUser struct {
	name string
	keys []string
	// keyRules are the rules keys were read from, in the same order.
	keyRules []string
}

func (r *Redis) aclList(ctx context.Context) ([]aclUser, error) {
	lines, err := r.client.Do(ctx, "ACL", "LIST").StringSlice()
	if err != nil {
		return nil, fmt.Errorf("list acl users: %w", redisClassify(err))
	}
	var out []aclUser
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "user" {
			continue
		}
		u := aclUser{name: f[1]}
		for _, tok := range f[2:] {
			if k, ok := keyPattern(tok); ok {
				u.keys, u.keyRules = append(u.keys, k), append(u.keyRules, tok)
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// keyPattern reads a key rule: ~p, %R~p, %W~p, %RW~p, or allkeys.
func keyPattern(tok string) (string, bool) {
	if tok == "allkeys" {
		return "*", true
	}
	if i := strings.Index(tok, "~"); i >= 0 && (i == 0 || tok[0] == '%') {
		return tok[i+1:], true
	}
	return "", false
}

// reaches reports whether key pattern p covers some of the resource's keys
// without covering every key (a user with every key is an operator).
func reaches(p, resourceID string) bool {
	if p == "*" {
		return false
	}
	prefix := KeyPrefix(resourceID)
	if strings.HasPrefix(p, prefix) {
		return true
	}
	ok, _ := path.Match(p, prefix+"x")
	return ok
}

// Logins lists the ACL users, other than the resource's own and default,
// whose key patterns reach the resource's keys.
func (r *Redis) Logins(ctx context.Context, resourceID string) ([]string, error) {
	users, err := r.aclList(ctx)
	if err != nil {
		return nil, err
	}
	own := domain.ObjectName(resourceID)
	var out []string
	for _, u := range users {
		if u.name == own || u.name == "default" {
			continue
		}
		if slices.ContainsFunc(u.keys, func(p string) bool { return reaches(p, resourceID) }) {
			out = append(out, u.name)
		}
	}
	return out, nil
}

// GrantNames lists the ACL users named with domain.GrantPrefix.
func (r *Redis) GrantNames(ctx context.Context) ([]string, error) {
	users, err := r.client.ACLUsers(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("list acl users: %w", redisClassify(err))
	}
	var out []string
	for _, u := range users {
		if strings.HasPrefix(u, domain.GrantPrefix) {
			out = append(out, u)
		}
	}
	return out, nil
}

// Strip keeps ACL user name but takes away the key patterns that reach
// the resource's keys; its other patterns stay.
func (r *Redis) Strip(ctx context.Context, resourceID, name string) error {
	users, err := r.aclList(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(users, func(u aclUser) bool { return u.name == name })
	if i < 0 {
		return nil
	}
	rules := []string{"resetkeys"}
	for j, p := range users[i].keys {
		if !reaches(p, resourceID) {
			rules = append(rules, users[i].keyRules[j])
		}
	}
	if err := r.client.ACLSetUser(ctx, name, rules...).Err(); err != nil {
		return fmt.Errorf("strip keys of acl user %s: %w", name, redisClassify(err))
	}
	// Connected clients keep what they had: disconnect them.
	if err := r.client.Do(ctx, "CLIENT", "KILL", "USER", name).Err(); err != nil && !strings.Contains(err.Error(), "No such user") {
		return fmt.Errorf("disconnect acl user %s: %w", name, redisClassify(err))
	}
	return r.saveACL(ctx)
}
