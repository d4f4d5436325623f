package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pave-platform/pave/pkg/keyfile"
)

// Signer signs records with the access service's Ed25519 key. A record's
// signature covers its hash, and so its content, its key id and the hash
// of the record before it: a record written by anyone without the key
// fails verification even when it names the right previous hash.
type Signer struct {
	id   string
	priv ed25519.PrivateKey
}

// NewSigner signs with the key of seed (ed25519.SeedSize bytes).
func NewSigner(seed []byte) (*Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key: want a %d-byte Ed25519 seed, got %d bytes", ed25519.SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Signer{id: KeyID(priv.Public().(ed25519.PublicKey)), priv: priv}, nil
}

// KeyID names a public key in records: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// ID is the signing key's id.
func (s *Signer) ID() string { return s.id }

// Public is the key that verifies the signer's records.
func (s *Signer) Public() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

func (s *Signer) sign(hash string) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, []byte(hash)))
}

// Keyring are the public keys whose signatures verify, by key id.
type Keyring map[string]ed25519.PublicKey

// Add trusts pub.
func (k Keyring) Add(pub ed25519.PublicKey) { k[KeyID(pub)] = pub }

// ParsePublicKeys reads comma-separated base64 Ed25519 public keys.
func ParsePublicKeys(list string) (Keyring, error) {
	k := Keyring{}
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%q is not a base64 Ed25519 public key (%d bytes)", v, ed25519.PublicKeySize)
		}
		k.Add(ed25519.PublicKey(raw))
	}
	return k, nil
}

// check verifies r's signature with the keyring ("" when it verifies).
func (k Keyring) check(r Record) string { return k.checkHash(r.Key, r.Hash, r.Sig) }

// checkHash verifies a signature sig of hash by key ("" when it verifies).
func (k Keyring) checkHash(key, hash, sig string) string {
	switch pub, ok := k[key]; {
	case sig == "" || key == "":
		return "not signed by the access service"
	case !ok:
		return "signed by an unknown key " + key
	default:
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || !ed25519.Verify(pub, []byte(hash), raw) {
			return "signature does not match the record"
		}
	}
	return ""
}

// ParseSeed reads a base64 Ed25519 seed.
func ParseSeed(v string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(raw) != ed25519.SeedSize {
		return nil, fmt.Errorf("%d bytes, want %d", len(raw), ed25519.SeedSize)
	}
	return raw, nil
}

// LoadOrCreateSeedFile reads the base64 seed in path, or writes a new
// random one there (mode 0600) when the file does not exist; created says
// which. Concurrent starts agree on one key: the file appears atomically,
// once.
func LoadOrCreateSeedFile(path string) ([]byte, bool, error) {
	return keyfile.LoadOrCreate(path, ed25519.SeedSize, ParseSeed)
}

// SigningConfig is where the access service's audit signing key comes
// from, and which other keys' records verify.
type SigningConfig struct {
	// Key is the base64 Ed25519 seed (32 bytes).
	Key string `env:"PAVE_AUDIT_SIGNING_KEY"`
	// KeyFile holds the seed; created with a random key when missing.
	// Default, when Key is empty too: PAVE_DATA_DIR/audit-signing.key.
	KeyFile string `env:"PAVE_AUDIT_SIGNING_KEY_FILE"`
	DataDir string `env:"PAVE_DATA_DIR" envDefault:".pave"`
	// TrustedKeys are more public keys whose records verify (earlier keys
	// after a rotation, other access instances' keys): base64, commas.
	TrustedKeys string `env:"PAVE_AUDIT_TRUSTED_KEYS"`
	// UnsignedThrough is the last AUDIT stream sequence written before
	// records were signed (an upgraded ledger); 0: every record is signed.
	UnsignedThrough uint64 `env:"PAVE_AUDIT_UNSIGNED_THROUGH"`
}

// VerifyOptions are the checks verification makes with keys.
func (c SigningConfig) VerifyOptions(keys Keyring) []VerifyOption {
	return []VerifyOption{Signed(keys), UnsignedThrough(c.UnsignedThrough)}
}

// Validate names the variable that is wrong.
func (c SigningConfig) Validate() error {
	var errs []error
	if c.Key != "" && c.KeyFile != "" {
		errs = append(errs, errors.New("PAVE_AUDIT_SIGNING_KEY: set it or PAVE_AUDIT_SIGNING_KEY_FILE, not both"))
	}
	if _, err := ParseSeed(c.Key); c.Key != "" && err != nil {
		errs = append(errs, fmt.Errorf("PAVE_AUDIT_SIGNING_KEY: want a base64 Ed25519 seed: %w", err))
	}
	if _, err := ParsePublicKeys(c.TrustedKeys); err != nil {
		errs = append(errs, fmt.Errorf("PAVE_AUDIT_TRUSTED_KEYS: %w", err))
	}
	return errors.Join(errs...)
}

// Load returns the signer and the keyring verification trusts (its own
// key and the trusted ones); file is the key file used ("" for a key from
// the environment) and created says it was generated now.
func (c SigningConfig) Load() (s *Signer, keys Keyring, file string, created bool, err error) {
	var seed []byte
	if c.Key != "" {
		seed, err = ParseSeed(c.Key)
	} else {
		file = c.KeyFile
		if file == "" {
			file = filepath.Join(c.DataDir, "audit-signing.key")
		}
		seed, created, err = LoadOrCreateSeedFile(file)
	}
	if err != nil {
		return nil, nil, file, false, err
	}
	if s, err = NewSigner(seed); err != nil {
		return nil, nil, file, false, err
	}
	if keys, err = ParsePublicKeys(c.TrustedKeys); err != nil {
		return nil, nil, file, false, err
	}
	keys.Add(s.Public())
	return s, keys, file, created, nil
}
