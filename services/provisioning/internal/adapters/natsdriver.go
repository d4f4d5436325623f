package adapters

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/natsfx"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// NATS gives each resource a JetStream stream, named
// domain.ObjectName(id), on subjects env.<id>.>. With logins (the
// embedded server's tenants' account) each resource also gets a login of
// its own, named like the stream, that reaches only that stream and
// those subjects; grants get logins of their own the same way.
type NATS struct {
	js     jetstream.JetStream
	url    string
	logins NATSLogins
}

// NATSLogins are the logins of the server the streams are on
// (natsfx.TenantLogins).
type NATSLogins interface {
	Set(name, password string, p natsfx.Permissions) error
	Remove(name string) error
	Names(prefix string) []string
	Permissions(name string) (natsfx.Permissions, bool)
}

// NATSWithLogins is the driver on a server whose logins Pave keeps: it
// also issues grants' logins (app.GrantDriver).
type NATSWithLogins struct{ *NATS }

var (
	_ app.Driver      = (*NATS)(nil)
	_ app.GrantDriver = NATSWithLogins{}
)

// ClientURL is the URL a resource's users reach the platform's own NATS
// at. An in-process connection to an embedded server names no real
// address (the client library reports its default, nats://127.0.0.1:4222),
// so for one the listener's address counts: listen, or nil when the server
// serves this process only and there is nothing to report. Otherwise it
// is connected, the server the connection reached.
func ClientURL(connected string, embedded bool, listen net.Addr) string {
	if !embedded {
		return connected
	}
	tcp, ok := listen.(*net.TCPAddr)
	if !ok || tcp == nil {
		return ""
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1" // listening everywhere: this host reaches it
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// NewNATS uses js; url is reported in outputs (empty: not reported).
// logins nil gives no resource a login of its own: its users log in as
// the server's configuration says.
func NewNATS(js jetstream.JetStream, url string, logins NATSLogins) *NATS {
	return &NATS{js: js, url: url, logins: logins}
}

// SubjectPrefix is where a resource's messages live.
func SubjectPrefix(id string) string { return "env." + id + "." }

// Planned names the stream.
func (n *NATS) Planned(id string) []string {
	return []string{domain.ExternalID("stream", domain.ObjectName(id))}
}

// Provision creates the stream, or updates it to the parameters.
func (n *NATS) Provision(ctx context.Context, r domain.Resource) (domain.Result, error) {
	cfg, err := streamConfig(r)
	if err != nil {
		return domain.Result{}, err
	}
	if _, err := n.js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return domain.Result{}, fmt.Errorf("create stream %s: %w", cfg.Name, natsClassify(err))
	}
	res := domain.Result{Outputs: n.outputs(r.ID)}
	if n.logins == nil {
		return res, nil
	}
	// The resource's own login, with a new password each time (as the
	// other drivers reset theirs on provision).
	creds, err := n.setLogin(r.ID, domain.ObjectName(r.ID), true)
	if err != nil {
		return domain.Result{}, err
	}
	res.Credentials = &creds
	return res, nil
}

// setLogin gives login name a new password and the rights of resource
// id (publishing too when writes).
func (n *NATS) setLogin(id, name string, writes bool) (domain.Credentials, error) {
	password, err := newPassword()
	if err != nil {
		return domain.Credentials{}, err
	}
	perms := natsfx.TenantResourcePermissions(domain.ObjectName(id), SubjectPrefix(id)+">", natsfx.InboxPrefix(name), !writes)
	if err := n.logins.Set(name, password, perms); err != nil {
		return domain.Credentials{}, fmt.Errorf("set nats login %s: %w", name, err)
	}
	return domain.Credentials{Username: name, Password: password, URL: n.loginURL(name, password)}, nil
}

// loginURL is url with the login in it ("" when the server listens only
// in process).
func (n *NATS) loginURL(user, password string) string {
	if n.url == "" {
		return ""
	}
	u, err := url.Parse(n.url)
	if err != nil {
		return ""
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

// IssueGrant creates login name on resource resourceID (read-only unless
// writes), or resets it with a new password. The server has no expiry of
// its own: the grant's revoke removes it.
func (n NATSWithLogins) IssueGrant(_ context.Context, resourceID, name string, writes bool, _ time.Time) (domain.Credentials, error) {
	return n.setLogin(resourceID, name, writes)
}

// RevokeGrant removes login name, which also closes its connections.
func (n NATSWithLogins) RevokeGrant(_ context.Context, _ string, name string) error {
	if n.logins == nil {
		return nil
	}
	if err := n.logins.Remove(name); err != nil {
		return fmt.Errorf("remove nats login %s: %w", name, err)
	}
	return nil
}

// Logins lists the logins, other than the resource's own, that reach
// resource resourceID's subjects.
func (n NATSWithLogins) Logins(_ context.Context, resourceID string) ([]string, error) {
	if n.logins == nil {
		return nil, nil
	}
	own, subjects := domain.ObjectName(resourceID), SubjectPrefix(resourceID)+">"
	var out []string
	for _, name := range n.logins.Names("") {
		if name == own {
			continue
		}
		if p, ok := n.logins.Permissions(name); ok && slices.Contains(p.Subscribe, subjects) {
			out = append(out, name)
		}
	}
	return out, nil
}

// GrantNames lists the logins named with domain.GrantPrefix.
func (n NATSWithLogins) GrantNames(context.Context) ([]string, error) {
	if n.logins == nil {
		return nil, nil
	}
	return n.logins.Names(domain.GrantPrefix), nil
}

// Strip takes login name's rights on the resource away. A tenants'
// login reaches one resource only and exists for it alone, so taking its
// rights is removing it.
func (n NATSWithLogins) Strip(ctx context.Context, resourceID, name string) error {
	return n.RevokeGrant(ctx, resourceID, name)
}

// removeLogins removes the resource's own login and every other login
// that reaches it: a deleted resource leaves no way in behind.
func (n *NATS) removeLogins(ctx context.Context, id string) error {
	if n.logins == nil {
		return nil
	}
	others, _ := NATSWithLogins{n}.Logins(ctx, id)
	for _, name := range append([]string{domain.ObjectName(id)}, others...) {
		if err := n.logins.Remove(name); err != nil {
			return fmt.Errorf("remove nats login %s: %w", name, err)
		}
	}
	return nil
}

// Update applies new limits to the existing stream.
func (n *NATS) Update(ctx context.Context, r domain.Resource) (domain.Result, error) {
	cfg, err := streamConfig(r)
	if err != nil {
		return domain.Result{}, err
	}
	if _, err := n.js.UpdateStream(ctx, cfg); err != nil {
		return domain.Result{}, fmt.Errorf("update stream %s: %w", cfg.Name, natsClassify(err))
	}
	return domain.Result{Outputs: n.outputs(r.ID)}, nil
}

// Sanitize purges the stream's messages.
func (n *NATS) Sanitize(ctx context.Context, id string) error {
	name := domain.ObjectName(id)
	s, err := n.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find stream %s: %w", name, natsClassify(err))
	}
	if err := s.Purge(ctx); err != nil {
		return fmt.Errorf("purge stream %s: %w", name, natsClassify(err))
	}
	return nil
}

// Deprovision removes the resource's logins, then deletes the stream.
func (n *NATS) Deprovision(ctx context.Context, id string) (bool, error) {
	if err := n.removeLogins(ctx, id); err != nil {
		return false, err
	}
	name := domain.ObjectName(id)
	err := n.js.DeleteStream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete stream %s: %w", name, natsClassify(err))
	}
	return true, nil
}

// Inventory lists streams named with Pave's prefix.
func (n *NATS) Inventory(ctx context.Context) ([]string, error) {
	lister := n.js.StreamNames(ctx)
	var ids []string
	for name := range lister.Name() {
		if strings.HasPrefix(name, domain.Prefix) {
			ids = append(ids, domain.ExternalID("stream", name))
		}
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", natsClassify(err))
	}
	return ids, nil
}

// Remove deletes an orphaned stream.
func (n *NATS) Remove(ctx context.Context, externalID string) error {
	kind, name, _ := domain.SplitExternalID(externalID)
	if kind != "stream" || !strings.HasPrefix(name, domain.Prefix) {
		return domain.Permanent(fmt.Errorf("remove %q: not a Pave stream", externalID))
	}
	if n.logins != nil {
		if err := n.logins.Remove(name); err != nil {
			return fmt.Errorf("remove nats login %s: %w", name, err)
		}
	}
	err := n.js.DeleteStream(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete stream %s: %w", name, natsClassify(err))
	}
	return nil
}

func (n *NATS) outputs(id string) map[string]string {
	out := map[string]string{"stream": domain.ObjectName(id), "subject_prefix": SubjectPrefix(id)}
	if n.logins != nil {
		// Replies reach a login only under its own inbox prefix
		// (nats.CustomInboxPrefix); the owner's is this one.
		out["inbox_prefix"] = natsfx.InboxPrefix(domain.ObjectName(id))
	}
	if n.url != "" {
		out["url"] = n.url
	}
	return out
}

// natsClassBytes is the largest stream each resource class may have: one
// tenant never fills the shared server's storage. A class without a bound
// of its own has small's.
var natsClassBytes = map[string]int64{"small": 256 << 20, "medium": 1 << 30, "large": 4 << 30}

// streamConfig reads the parameters: max_bytes (default 64 MiB, at most
// the class's bound; there is no "unlimited"), max_msgs (default
// unlimited) and max_age (a Go duration, default unlimited). Like Pave's
// own streams, a full stream refuses new messages.
func streamConfig(r domain.Resource) (jetstream.StreamConfig, error) {
	ps := newParams("nats", r.Parameters)
	class, bound := r.Class, natsClassBytes[r.Class]
	if bound == 0 {
		class, bound = "small", natsClassBytes["small"]
	}
	maxBytes, err := ps.Int("max_bytes", min(64<<20, bound))
	if err != nil {
		return jetstream.StreamConfig{}, err
	}
	if maxBytes < 1 || maxBytes > bound {
		return jetstream.StreamConfig{}, domain.Permanent(fmt.Errorf("nats parameter max_bytes: %d is not 1 to %d, the bound of class %s", maxBytes, bound, class))
	}
	maxMsgs, err := ps.Int("max_msgs", -1)
	if err != nil {
		return jetstream.StreamConfig{}, err
	}
	age, err := ps.String("max_age", "0s")
	if err != nil {
		return jetstream.StreamConfig{}, err
	}
	maxAge, err := time.ParseDuration(age)
	if err != nil || maxAge < 0 {
		return jetstream.StreamConfig{}, domain.Permanent(fmt.Errorf("nats parameter max_age: %q is not a duration such as 24h", age))
	}
	if err := ps.Done(); err != nil {
		return jetstream.StreamConfig{}, err
	}
	return jetstream.StreamConfig{
		Name:        domain.ObjectName(r.ID),
		Description: fmt.Sprintf("pave resource %s of environment %s", r.ID, r.EnvironmentID),
		Subjects:    []string{SubjectPrefix(r.ID) + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    maxBytes,
		MaxMsgs:     maxMsgs,
		MaxAge:      maxAge,
	}, nil
}

// natsClassify: the server's refusals (bad config, overlapping subjects,
// limits) are permanent; timeouts and lost connections are not.
func natsClassify(err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.Code >= 400 && apiErr.Code < 500 {
		return domain.Permanent(err)
	}
	return err
}
