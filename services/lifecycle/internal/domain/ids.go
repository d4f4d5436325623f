package domain

import (
	"encoding/base32"
	"fmt"
	"io"
	"regexp"
)

// Environment ids are "env-" and 12 characters of lowercase base32
// (60 random bits): short, DNS-safe, and fixed in length, so that the
// resource id <env-id>-<resource> (≤ 63 with a resource name ≤ 46) is a
// DNS label and cannot be read two ways. A collision is caught by the
// store's create-if-absent, not prevented here.
const (
	envIDPrefix = "env-"
	envIDChars  = 12
)

var (
	idEncoding  = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	envIDFormat = regexp.MustCompile(`^env-[a-z2-7]{12}$`)
)

// NewEnvironmentID draws an id from entropy (crypto/rand.Reader in
// production; the caller owns the randomness so this package does no I/O).
func NewEnvironmentID(entropy io.Reader) (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(entropy, b[:]); err != nil {
		return "", fmt.Errorf("generate environment id: %w", err)
	}
	return envIDPrefix + idEncoding.EncodeToString(b[:])[:envIDChars], nil
}

// ValidEnvironmentID reports whether id has the shape NewEnvironmentID makes.
func ValidEnvironmentID(id string) bool { return envIDFormat.MatchString(id) }

// ResourceID is the id of an environment's resource, derived so that a
// retried provisioning step names the same resource.
func ResourceID(envID, resource string) string { return envID + "-" + resource }
