package webhooks

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pave-platform/pave/pkg/events"
)

// SecretRef names where a secret is, never the secret itself: an
// environment variable, or a file (its path expanded with environment
// variables). Generate creates the file with a random secret when it is
// absent, for `pave dev`'s demo.
type SecretRef struct {
	Env      string `yaml:"env"`
	File     string `yaml:"file"`
	Generate bool   `yaml:"generate"`
}

// Repository maps one repository of one provider to what Pave does for it.
type Repository struct {
	Provider    string         `yaml:"provider"`
	Name        string         `yaml:"repository"`
	Team        string         `yaml:"team"`
	Application string         `yaml:"application"`
	Template    string         `yaml:"template"`
	Stage       string         `yaml:"stage"`
	Parameters  map[string]any `yaml:"parameters"`
	PreviewTTL  string         `yaml:"preview_ttl"`
	// Secrets verify deliveries: GitHub and generic CI HMAC keys, GitLab
	// X-Gitlab-Token values. Two during a rotation.
	Secrets []SecretRef `yaml:"secrets"`
	// SigningSecrets, GitLab only, turn on Standard Webhooks signatures
	// (whsec_<base64> or raw); then a signature is required.
	SigningSecrets []SecretRef `yaml:"signing_secrets"`

	secrets, signing [][]byte
}

// Repositories is the loaded mapping, keyed by provider and lower-case name.
type Repositories struct {
	byKey map[string]*Repository
}

type reposFile struct {
	Repositories []Repository `yaml:"repositories"`
}

var (
	labelRE = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
	repoRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`)
)

// LoadRepositories reads and validates the mapping file; "" is an empty
// mapping (every delivery answers 404). Every problem names the file and
// the field.
func LoadRepositories(path string) (*Repositories, error) {
	out := &Repositories{byKey: map[string]*Repository{}}
	if path == "" {
		return out, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read repositories file: %w", err)
	}
	var f reposFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	for i := range f.Repositories {
		r := &f.Repositories[i]
		at := fmt.Sprintf("%s: repositories[%d]", path, i)
		if err := r.check(at); err != nil {
			errs = append(errs, err)
			continue
		}
		key := r.Provider + "/" + strings.ToLower(r.Name)
		if _, dup := out.byKey[key]; dup {
			errs = append(errs, fmt.Errorf("%s.repository: %s %s is mapped twice", at, r.Provider, r.Name))
			continue
		}
		out.byKey[key] = r
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Lookup finds the mapping of a repository.
func (rs *Repositories) Lookup(provider, name string) (*Repository, bool) {
	r, ok := rs.byKey[provider+"/"+strings.ToLower(name)]
	return r, ok
}

func (r *Repository) check(at string) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", at, field, fmt.Sprintf(format, args...)))
	}
	switch r.Provider {
	case events.ProviderGitHub, events.ProviderGitLab, events.ProviderCI:
	case "":
		bad("provider", "required (github, gitlab or ci)")
	default:
		bad("provider", "%q is not github, gitlab or ci", r.Provider)
	}
	if !repoRE.MatchString(r.Name) {
		bad("repository", "%q is not owner/name", r.Name)
	}
	if !labelRE.MatchString(r.Team) {
		bad("team", "required, a DNS label (got %q)", r.Team)
	}
	if r.Application != "" && !labelRE.MatchString(r.Application) {
		bad("application", "%q is not a DNS label", r.Application)
	}
	if r.Template == "" {
		bad("template", "required")
	}
	if r.PreviewTTL != "" {
		if d, err := time.ParseDuration(r.PreviewTTL); err != nil || d <= 0 {
			bad("preview_ttl", "%q is not a positive duration like 4h", r.PreviewTTL)
		}
	}
	if r.Provider != events.ProviderGitLab && len(r.SigningSecrets) > 0 {
		bad("signing_secrets", "only GitLab deliveries carry Standard Webhooks signatures")
	}
	var err error
	if r.secrets, err = resolveSecrets(r.Secrets); err != nil {
		bad("secrets", "%v", err)
	} else if len(r.secrets) == 0 || len(r.secrets) > 2 {
		bad("secrets", "give one secret, or two during a rotation")
	}
	if r.signing, err = resolveSecrets(r.SigningSecrets); err != nil {
		bad("signing_secrets", "%v", err)
	} else if len(r.signing) > 2 {
		bad("signing_secrets", "give one secret, or two during a rotation")
	}
	return errors.Join(errs...)
}

func resolveSecrets(refs []SecretRef) ([][]byte, error) {
	out := make([][]byte, 0, len(refs))
	for i, ref := range refs {
		s, err := ref.resolve()
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func (ref SecretRef) resolve() ([]byte, error) {
	switch {
	case ref.Env != "" && ref.File != "":
		return nil, errors.New("give env or file, not both")
	case ref.Env != "":
		v := os.Getenv(ref.Env)
		if v == "" {
			return nil, fmt.Errorf("environment variable %s is not set", ref.Env)
		}
		return []byte(v), nil
	case ref.File != "":
		return readSecretFile(os.ExpandEnv(ref.File), ref.Generate)
	}
	return nil, errors.New("give env or file")
}

func readSecretFile(path string, generate bool) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && generate {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("generate secret: %w", err)
		}
		raw = []byte(hex.EncodeToString(b[:]))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("generate secret file %s: %w", path, err)
		}
		if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
			return nil, fmt.Errorf("generate secret file %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read secret file %s: %w", path, err)
	}
	s := bytes.TrimSpace(raw)
	if len(s) == 0 {
		return nil, fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

// signingKey turns a Standard Webhooks secret into its HMAC key: the
// base64 after whsec_, or the bytes as given.
func signingKey(secret []byte) []byte {
	rest, ok := bytes.CutPrefix(secret, []byte("whsec_"))
	if !ok {
		return secret
	}
	key, err := base64.StdEncoding.DecodeString(string(rest))
	if err != nil {
		return secret
	}
	return key
}
