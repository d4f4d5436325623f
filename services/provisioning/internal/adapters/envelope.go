// Package adapters implements the provisioning service's ledger, the
// credentials envelope and the drivers against real servers.
package adapters

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pave-platform/pave/pkg/keyfile"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

// KeySize is the size of the master key: AES-256.
const KeySize = 32

// Envelope seals secrets with AES-256-GCM envelope encryption: every
// secret gets its own random data key, and only the data key is sealed
// with the master key. The master key never touches the data itself.
type Envelope struct {
	master cipher.AEAD
	kid    string
}

var _ app.Sealer = (*Envelope)(nil)

// sealed is the stored form. Kid names the master key, so that a value
// sealed under another key is reported as such, not as corruption.
type sealed struct {
	V          int    `json:"v"`
	Kid        string `json:"kid"`
	DataKey    []byte `json:"dk"` // nonce ‖ AES-GCM(master, data key)
	Nonce      []byte `json:"n"`
	Ciphertext []byte `json:"ct"` // AES-GCM(data key, secret, aad)
}

// NewEnvelope uses a 32-byte master key.
func NewEnvelope(master []byte) (*Envelope, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("master key: want %d bytes, got %d", KeySize, len(master))
	}
	aead, err := newGCM(master)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("pave-provisioning-kid:"), master...))
	return &Envelope{master: aead, kid: hex.EncodeToString(sum[:8])}, nil
}

// KeyID names the master key without revealing it.
func (e *Envelope) KeyID() string { return e.kid }

// Seal encrypts plaintext under a fresh data key, bound to aad.
func (e *Envelope) Seal(plaintext, aad []byte) ([]byte, error) {
	dataKey := make([]byte, KeySize)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, fmt.Errorf("seal: data key: %w", err)
	}
	dk, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	s := sealed{V: 1, Kid: e.kid}
	if s.DataKey, err = sealWith(e.master, dataKey, []byte(e.kid)); err != nil {
		return nil, err
	}
	s.Nonce = make([]byte, dk.NonceSize())
	if _, err := rand.Read(s.Nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	s.Ciphertext = dk.Seal(nil, s.Nonce, plaintext, aad)
	return json.Marshal(s)
}

// Open decrypts what Seal made with the same master key and aad.
func (e *Envelope) Open(blob, aad []byte) ([]byte, error) {
	var s sealed
	if err := json.Unmarshal(blob, &s); err != nil || s.V != 1 {
		return nil, errors.New("open: not a sealed value")
	}
	if s.Kid != e.kid {
		return nil, fmt.Errorf("open: sealed under master key %s, this process has %s", s.Kid, e.kid)
	}
	ns := e.master.NonceSize()
	if len(s.DataKey) < ns {
		return nil, errors.New("open: data key is truncated")
	}
	dataKey, err := e.master.Open(nil, s.DataKey[:ns], s.DataKey[ns:], []byte(e.kid))
	if err != nil {
		return nil, fmt.Errorf("open data key: %w", err)
	}
	dk, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	if len(s.Nonce) != dk.NonceSize() {
		return nil, errors.New("open: bad nonce")
	}
	plain, err := dk.Open(nil, s.Nonce, s.Ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("open secret: %w", err)
	}
	return plain, nil
}

func sealWith(aead cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, aad), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	return cipher.NewGCM(block)
}

// ParseKey decodes a base64 (standard or URL, padded or not) master key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("want %d bytes of base64, got %d bytes", KeySize, len(key))
			}
			return key, nil
		}
	}
	return nil, errors.New("not base64")
}

// LoadOrCreateKeyFile reads the base64 master key in path, or writes a
// new random one there (mode 0600) when the file does not exist. created
// says which. Concurrent callers agree on one key: the file appears
// atomically and only once.
func LoadOrCreateKeyFile(path string) ([]byte, bool, error) {
	return keyfile.LoadOrCreate(path, KeySize, ParseKey)
}
