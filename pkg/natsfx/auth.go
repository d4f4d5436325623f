package natsfx

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// The users of the embedded server (`pave dev`). The platform's own
// services connect as PlatformUser in the platform's account; the
// environments' NATS resources live in TenantAccount, which shares
// nothing with it, so a tenant credential cannot reach pave.> or the
// platform's streams.
const (
	PlatformUser  = "pave"
	TenantUser    = "tenant"
	TenantAccount = "TENANTS"
)

// EmbeddedUser is one login of the embedded server. Account "" is the
// platform's (the server's global account, where the streams have always
// been stored, so existing data dirs keep their state).
type EmbeddedUser struct {
	Name     string
	Password string
	Account  string
	// Permissions, when set, limit what the user may publish and
	// subscribe to (RestrictedUsers); nil is everything in its account.
	Permissions *Permissions
}

// CredentialsDir is where `pave dev` keeps the embedded server's
// passwords: one file per user, 0600, in a 0700 directory.
func (c Config) CredentialsDir() string { return filepath.Join(c.DataDir, "nats") }

// PasswordFile is the file holding user's password in dir.
func PasswordFile(dir, user string) string { return filepath.Join(dir, user+".password") }

// EnsureEmbeddedUsers reads the passwords of the embedded server's users
// from dir, generating the ones that are missing.
func EnsureEmbeddedUsers(dir string) ([]EmbeddedUser, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("nats credentials dir %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("nats credentials dir %s: %w", dir, err)
	}
	all := []EmbeddedUser{{Name: PlatformUser}, {Name: TenantUser, Account: TenantAccount}}
	restricted := RestrictedUsers()
	for _, name := range restrictedNames(restricted) {
		p := restricted[name]
		all = append(all, EmbeddedUser{Name: name, Permissions: &p})
	}
	var users []EmbeddedUser
	for _, u := range all {
		p, err := ensurePassword(PasswordFile(dir, u.Name))
		if err != nil {
			return nil, err
		}
		u.Password = p
		users = append(users, u)
	}
	return users, nil
}

func ensurePassword(file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err == nil {
		if p := strings.TrimSpace(string(raw)); p != "" {
			return p, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read nats password %s: %w", file, err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(b[:])
	if err := os.WriteFile(file, []byte(p+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write nats password %s: %w", file, err)
	}
	return p, nil
}

// readPassword reads a password file (PAVE_NATS_PASSWORD_FILE).
func readPassword(file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read PAVE_NATS_PASSWORD_FILE: %w", err)
	}
	p := strings.TrimSpace(string(raw))
	if p == "" {
		return "", fmt.Errorf("PAVE_NATS_PASSWORD_FILE %s is empty", file)
	}
	return p, nil
}

// applyUsers makes the server require one of users: no anonymous client
// is accepted any more.
func applyUsers(opts *server.Options, users []EmbeddedUser) {
	accounts := map[string]*server.Account{}
	for _, u := range users {
		su := &server.User{Username: u.Name, Password: u.Password}
		if u.Permissions != nil {
			su.Permissions = u.Permissions.serverPermissions()
		}
		if u.Account != "" {
			if accounts[u.Account] == nil {
				accounts[u.Account] = server.NewAccount(u.Account)
				opts.Accounts = append(opts.Accounts, accounts[u.Account])
			}
			su.Account = accounts[u.Account]
		}
		opts.Users = append(opts.Users, su)
	}
}

// enableJetStream turns JetStream on for the platform's account and for
// every account of users: with accounts declared the server enables it
// for none by itself. Streams already stored are recovered.
func enableJetStream(srv *server.Server, users []EmbeddedUser) error {
	unlimited := map[string]server.JetStreamAccountLimits{"": {MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1}}
	accs := []*server.Account{srv.GlobalAccount()}
	seen := map[string]bool{}
	for _, u := range users {
		if u.Account == "" || seen[u.Account] {
			continue
		}
		seen[u.Account] = true
		a, err := srv.LookupAccount(u.Account)
		if err != nil {
			return fmt.Errorf("embedded nats: account %s: %w", u.Account, err)
		}
		accs = append(accs, a)
	}
	for _, a := range accs {
		if a.JetStreamEnabled() {
			continue
		}
		if err := a.EnableJetStream(unlimited, nil); err != nil {
			return fmt.Errorf("embedded nats: jetstream for account %s: %w", a.Name, err)
		}
	}
	return nil
}
