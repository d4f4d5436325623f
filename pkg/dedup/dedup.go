// Package dedup remembers which delivery ids were already accepted, for a
// bounded time, so that a replayed webhook or event is recognised.
//
//	Claim(key) ─ first time ─ true  → store the delivery → done (the claim stays until the TTL ends)
//	           │                                      └─ storing failed → Release(key): the sender may retry
//	           └ seen before ─ false → answer "duplicate", do nothing
//
// Two implementations pass one contract suite: Redis (SET NX PX) for
// horizontally scaled gateways, and a JetStream KV bucket (create-if-absent,
// bucket TTL) as the embedded default.
package dedup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Store claims keys for the store's TTL.
type Store interface {
	// Claim records key as seen. It reports true for the first claim of a
	// key within the TTL, false when the key is already claimed.
	Claim(ctx context.Context, key string) (bool, error)
	// Release forgets key, so that a delivery that could not be stored
	// may be claimed again by its sender's retry.
	Release(ctx context.Context, key string) error
}

// ErrEmptyKey is returned for a claim of "".
var ErrEmptyKey = errors.New("dedup: empty key")

// kvKey keeps a key readable when it uses only the characters a KV key
// may hold ([-/_=.a-zA-Z0-9], no leading or trailing dot), and hashes it
// otherwise.
func kvKey(key string) string {
	if strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
		sum := sha256.Sum256([]byte(key))
		return "h." + hex.EncodeToString(sum[:])
	}
	for _, c := range []byte(key) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/' || c == '=') {
			sum := sha256.Sum256([]byte(key))
			return "h." + hex.EncodeToString(sum[:])
		}
	}
	return key
}
