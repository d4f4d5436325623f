package natsfx

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats-server/v2/server"
)

// TenantLogins are the logins of the environments' NATS resources on the
// embedded server: one per resource (its owner) and one per grant, each
// in TenantAccount and limited to its resource's subjects and stream.
// The provisioning service sets and removes them as it provisions and
// revokes; the server checks every connection against them (see
// authenticator). They are kept in a file of the credentials directory
// (0600), the password as a SHA-256 digest only, so that a restart keeps
// them: like a PostgreSQL role, a login lives on its server.
type TenantLogins struct {
	file   string
	mu     sync.RWMutex
	logins map[string]tenantLogin
	srv    atomic.Pointer[server.Server]
}

type tenantLogin struct {
	// SHA256 of the password; passwords are 256 random bits, so a fast
	// digest is as safe as a slow one and keeps connects cheap.
	SHA256      []byte      `json:"sha256"`
	Permissions Permissions `json:"permissions"`
}

// MaxTenantLogins bounds the file and the index: resources plus grants.
const MaxTenantLogins = 100_000

// TenantLoginsFile is where dir keeps the tenants' logins.
func TenantLoginsFile(dir string) string { return filepath.Join(dir, "tenant-logins.json") }

// OpenTenantLogins reads the logins kept in file (none when absent).
func OpenTenantLogins(file string) (*TenantLogins, error) {
	t := &TenantLogins{file: file, logins: map[string]tenantLogin{}}
	raw, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tenant logins %s: %w", file, err)
	}
	if err := json.Unmarshal(raw, &t.logins); err != nil {
		return nil, fmt.Errorf("read tenant logins %s: %w", file, err)
	}
	return t, nil
}

// Set creates login name with password and permissions p, or replaces
// them; the login's open connections are closed, so that none keeps the
// old rights.
func (t *TenantLogins) Set(name, password string, p Permissions) error {
	if err := validLoginName(name); err != nil {
		return err
	}
	if password == "" {
		return fmt.Errorf("tenant login %s: empty password", name)
	}
	sum := sha256.Sum256([]byte(password))
	t.mu.Lock()
	if _, ok := t.logins[name]; !ok && len(t.logins) >= MaxTenantLogins {
		t.mu.Unlock()
		return fmt.Errorf("tenant login %s: the server holds %d logins, its bound", name, MaxTenantLogins)
	}
	prev, had := t.logins[name]
	t.logins[name] = tenantLogin{SHA256: sum[:], Permissions: p}
	if err := t.saveLocked(); err != nil {
		if had {
			t.logins[name] = prev
		} else {
			delete(t.logins, name)
		}
		t.mu.Unlock()
		return err
	}
	t.mu.Unlock()
	if had {
		t.disconnect(name)
	}
	return nil
}

// Remove deletes login name and closes its connections; absent is fine.
func (t *TenantLogins) Remove(name string) error {
	t.mu.Lock()
	prev, had := t.logins[name]
	if !had {
		t.mu.Unlock()
		t.disconnect(name)
		return nil
	}
	delete(t.logins, name)
	if err := t.saveLocked(); err != nil {
		t.logins[name] = prev
		t.mu.Unlock()
		return err
	}
	t.mu.Unlock()
	t.disconnect(name)
	return nil
}

// Names lists the logins whose name starts with prefix, sorted.
func (t *TenantLogins) Names(prefix string) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	for n := range t.logins {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Permissions are login name's, and whether it exists.
func (t *TenantLogins) Permissions(name string) (Permissions, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	l, ok := t.logins[name]
	return l.Permissions, ok
}

// check says whether password is login name's, and its permissions.
func (t *TenantLogins) check(name, password string) (Permissions, bool) {
	t.mu.RLock()
	l, ok := t.logins[name]
	t.mu.RUnlock()
	if !ok {
		return Permissions{}, false
	}
	sum := sha256.Sum256([]byte(password))
	return l.Permissions, subtle.ConstantTimeCompare(sum[:], l.SHA256) == 1
}

func (t *TenantLogins) saveLocked() error {
	raw, err := json.Marshal(t.logins)
	if err != nil {
		return err
	}
	tmp := t.file + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return fmt.Errorf("write tenant logins: %w", err)
	}
	if err := os.Rename(tmp, t.file); err != nil {
		return fmt.Errorf("write tenant logins: %w", err)
	}
	return nil
}

// disconnect closes every connection logged in as name.
func (t *TenantLogins) disconnect(name string) {
	srv := t.srv.Load()
	if srv == nil {
		return
	}
	cz, err := srv.Connz(&server.ConnzOptions{User: name, Account: TenantAccount, Username: true, Limit: 1 << 16})
	if err != nil {
		return
	}
	for _, c := range cz.Conns {
		_ = srv.DisconnectClientByID(c.Cid)
	}
}

func validLoginName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("tenant login %q: a name of 1 to 128 characters is required", name)
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("tenant login %q: only letters, digits, _ and - are allowed", name)
		}
	}
	if name == TenantUser || name == PlatformUser || isRestricted(name) {
		return fmt.Errorf("tenant login %q: the name is the platform's", name)
	}
	return nil
}

// authenticator checks every client of the embedded server: the fixed
// users (the platform's, the services', the runner's, the tenants'
// account's own) and the tenants' logins. Passwords are compared in
// constant time.
type authenticator struct {
	users   map[string]EmbeddedUser
	tenants *TenantLogins
	// accounts are the server's, resolved once it runs.
	accounts atomic.Pointer[map[string]*server.Account]
}

func newAuthenticator(users []EmbeddedUser, tenants *TenantLogins) *authenticator {
	a := &authenticator{users: map[string]EmbeddedUser{}, tenants: tenants}
	for _, u := range users {
		a.users[u.Name] = u
	}
	return a
}

// bind resolves the accounts on the running server.
func (a *authenticator) bind(srv *server.Server) error {
	accs := map[string]*server.Account{"": srv.GlobalAccount()}
	names := []string{TenantAccount}
	for _, u := range a.users {
		if u.Account != "" {
			names = append(names, u.Account)
		}
	}
	for _, n := range names {
		acc, err := srv.LookupAccount(n)
		if err != nil {
			return fmt.Errorf("embedded nats: account %s: %w", n, err)
		}
		accs[n] = acc
	}
	a.accounts.Store(&accs)
	if a.tenants != nil {
		a.tenants.srv.Store(srv)
	}
	return nil
}

// Check implements server.Authentication.
func (a *authenticator) Check(c server.ClientAuthentication) bool {
	accs := a.accounts.Load()
	if accs == nil {
		return false
	}
	o := c.GetOpts()
	if u, ok := a.users[o.Username]; ok {
		if subtle.ConstantTimeCompare([]byte(o.Password), []byte(u.Password)) != 1 {
			return false
		}
		su := &server.User{Username: u.Name, Account: (*accs)[u.Account]}
		if u.Permissions != nil {
			su.Permissions = u.Permissions.serverPermissions()
		}
		c.RegisterUser(su)
		return true
	}
	if a.tenants == nil {
		return false
	}
	p, ok := a.tenants.check(o.Username, o.Password)
	if !ok {
		return false
	}
	c.RegisterUser(&server.User{Username: o.Username, Account: (*accs)[TenantAccount], Permissions: p.serverPermissions()})
	return true
}

// TenantResourcePermissions are what the login of a resource's stream
// may do: publish on its subjects (unless readOnly), read them and the
// stream through consumers and direct gets, and receive its replies
// under inbox; never change, purge or delete the stream, and nothing of
// any other resource.
func TenantResourcePermissions(stream, subjects, inbox string, readOnly bool) Permissions {
	var p perms
	p.Subscribe = append(p.Subscribe, subjects, inbox+".>")
	if !readOnly {
		p.pub(subjects)
	}
	p.pub("$JS.API.INFO", "$JS.API.STREAM.INFO."+stream, "$JS.API.STREAM.MSG.GET."+stream,
		"$JS.API.DIRECT.GET."+stream, "$JS.API.DIRECT.GET."+stream+".>")
	p.consumeOne(stream)
	return p.Permissions
}

func isRestricted(name string) bool {
	_, ok := RestrictedUsers()[name]
	return ok
}
