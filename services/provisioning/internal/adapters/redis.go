package adapters

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Redis gives each resource an ACL user, named domain.ObjectName(id),
// that may use data commands on keys env:<id>:* only.
type Redis struct {
	client *redis.Client
	host   string
	port   string
	tls    bool
}

var _ app.Driver = (*Redis)(nil)

// NewRedis prepares the driver; it connects on first use. The URL must
// use database 0: ACL key patterns cannot confine a user to a database,
// so users may not SELECT and live in database 0.
func NewRedis(adminURL string) (*Redis, error) {
	opts, err := redis.ParseURL(adminURL)
	if err != nil {
		return nil, fmt.Errorf("redis admin url: %w", err)
	}
	if opts.DB != 0 {
		return nil, errors.New("redis admin url: must use database 0 (users are confined by key pattern, not database)")
	}
	// The bus retries a failed command with backoff; the client need not.
	opts.MaxRetries, opts.DialerRetries, opts.PoolSize = 1, 1, 4
	host, port, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("redis admin url: %w", err)
	}
	return &Redis{client: redis.NewClient(opts), host: host, port: port, tls: opts.TLSConfig != nil}, nil
}

// Close closes the admin connections.
func (r *Redis) Close() error { return r.client.Close() }

// KeyPrefix is where a resource's keys live.
func KeyPrefix(id string) string { return "env:" + id + ":" }

// Planned names the ACL user.
func (r *Redis) Planned(id string) []string {
	return []string{domain.ExternalID("user", domain.ObjectName(id))}
}

// aclRules confine a user to its keys and channels and to data commands:
// reads, writes, transactions and pub/sub, minus anything dangerous
// (FLUSHALL, KEYS, CONFIG, ...), minus SELECT, and minus what would list
// other resources' key or channel names (SCAN, RANDOMKEY, DBSIZE, PUBSUB).
func aclRules(id string) []string {
	return []string{
		"resetkeys", "~" + KeyPrefix(id) + "*",
		"resetchannels", "&" + KeyPrefix(id) + "*",
		"-@all", "+@read", "+@write", "+@transaction", "+@pubsub", "+@connection",
		"-@dangerous", "-@admin", "-select", "-scan", "-randomkey", "-dbsize", "-pubsub",
	}
}

// Provision creates the user, or resets an existing one, with a new password.
func (r *Redis) Provision(ctx context.Context, res domain.Resource) (domain.Result, error) {
	if err := newParams("redis", res.Parameters).Done(); err != nil {
		return domain.Result{}, err
	}
	user := domain.ObjectName(res.ID)
	password, err := newPassword()
	if err != nil {
		return domain.Result{}, err
	}
	rules := append([]string{"reset", "on", ">" + password}, aclRules(res.ID)...)
	if err := r.client.ACLSetUser(ctx, user, rules...).Err(); err != nil {
		return domain.Result{}, fmt.Errorf("set acl user %s: %w", user, redisClassify(redact(err, password)))
	}
	if err := r.saveACL(ctx); err != nil {
		return domain.Result{}, err
	}
	return domain.Result{Outputs: r.outputs(res.ID), Credentials: &domain.Credentials{
		Username: user, Password: password, URL: r.loginURL(user, password),
	}}, nil
}

// Update re-applies the rules; the password stays.
func (r *Redis) Update(ctx context.Context, res domain.Resource) (domain.Result, error) {
	if err := newParams("redis", res.Parameters).Done(); err != nil {
		return domain.Result{}, err
	}
	user := domain.ObjectName(res.ID)
	ok, err := r.userExists(ctx, user)
	if err != nil {
		return domain.Result{}, err
	}
	if !ok {
		return domain.Result{}, domain.Permanent(fmt.Errorf("update acl user %s: it does not exist", user))
	}
	if err := r.client.ACLSetUser(ctx, user, aclRules(res.ID)...).Err(); err != nil {
		return domain.Result{}, fmt.Errorf("update acl user %s: %w", user, redisClassify(err))
	}
	return domain.Result{Outputs: r.outputs(res.ID)}, r.saveACL(ctx)
}

// Sanitize deletes the resource's keys, found with SCAN (never KEYS).
func (r *Redis) Sanitize(ctx context.Context, id string) error {
	iter := r.client.Scan(ctx, 0, KeyPrefix(id)+"*", 500).Iterator()
	batch := make([]string, 0, 500)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := r.client.Unlink(ctx, batch...).Err()
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return fmt.Errorf("delete keys of %s: %w", id, redisClassify(err))
			}
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan keys of %s: %w", id, redisClassify(err))
	}
	if err := flush(); err != nil {
		return fmt.Errorf("delete keys of %s: %w", id, redisClassify(err))
	}
	return nil
}

// Deprovision deletes the user, which also disconnects it, then its keys.
func (r *Redis) Deprovision(ctx context.Context, id string) (bool, error) {
	user := domain.ObjectName(id)
	n, err := r.client.ACLDelUser(ctx, user).Result()
	if err != nil {
		return false, fmt.Errorf("delete acl user %s: %w", user, redisClassify(err))
	}
	if err := r.saveACL(ctx); err != nil {
		return false, err
	}
	if err := r.Sanitize(ctx, id); err != nil {
		return false, err
	}
	return n > 0, nil
}

// Inventory lists ACL users named with Pave's prefix.
func (r *Redis) Inventory(ctx context.Context) ([]string, error) {
	users, err := r.client.ACLUsers(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("list acl users: %w", redisClassify(err))
	}
	var ids []string
	for _, u := range users {
		if strings.HasPrefix(u, domain.Prefix) {
			ids = append(ids, domain.ExternalID("user", u))
		}
	}
	return ids, nil
}

// Remove deletes an orphaned user and the keys its name points to.
func (r *Redis) Remove(ctx context.Context, externalID string) error {
	kind, name, _ := domain.SplitExternalID(externalID)
	id, ok := domain.ResourceIDFromObjectName(name)
	if kind != "user" || !ok {
		return domain.Permanent(fmt.Errorf("remove %q: not a Pave ACL user", externalID))
	}
	_, err := r.Deprovision(ctx, id)
	return err
}

func (r *Redis) userExists(ctx context.Context, user string) (bool, error) {
	users, err := r.client.ACLUsers(ctx).Result()
	if err != nil {
		return false, fmt.Errorf("list acl users: %w", redisClassify(err))
	}
	for _, u := range users {
		if u == user {
			return true, nil
		}
	}
	return false, nil
}

// saveACL persists users when the server keeps them in an ACL file (as
// `pave dev`'s Redis does); without one they live in memory only.
func (r *Redis) saveACL(ctx context.Context) error {
	err := r.client.Do(ctx, "ACL", "SAVE").Err()
	if err != nil && !strings.Contains(err.Error(), "ACL file") {
		return fmt.Errorf("save acl file: %w", redisClassify(err))
	}
	return nil
}

func (r *Redis) outputs(id string) map[string]string {
	return map[string]string{
		"host": r.host, "port": r.port, "username": domain.ObjectName(id), "key_prefix": KeyPrefix(id),
	}
}

func (r *Redis) loginURL(user, password string) string {
	scheme := "redis"
	if r.tls {
		scheme = "rediss"
	}
	return fmt.Sprintf("%s://%s:%s@%s/0", scheme, user, password, net.JoinHostPort(r.host, r.port))
}

// redisClassify: a server error reply (ERR, NOPERM, WRONGTYPE, ...) will
// be the same next time; anything else (connection, timeout) may not.
func redisClassify(err error) error {
	var re redis.Error
	if errors.As(err, &re) && !strings.HasPrefix(re.Error(), "LOADING") && !strings.HasPrefix(re.Error(), "BUSY") &&
		!strings.HasPrefix(re.Error(), "TRYAGAIN") && !strings.HasPrefix(re.Error(), "CLUSTERDOWN") {
		return domain.Permanent(err)
	}
	return err
}
