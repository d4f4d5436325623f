// Package keyfile keeps a random secret in a file: read when it exists,
// generated and written once (0600) when it does not, so that concurrent
// starts agree on one secret and no reader ever sees a partial file.
package keyfile

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LoadOrCreate reads the secret in path with parse, or generates size
// random bytes and writes them base64-encoded; created says which.
func LoadOrCreate(path string, size int, parse func(string) ([]byte, error)) (secret []byte, created bool, err error) {
	raw, err := os.ReadFile(path)
	if err == nil {
		secret, err = parse(string(raw))
		if err != nil {
			return nil, false, fmt.Errorf("key file %s: %w", path, err)
		}
		return secret, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read key file: %w", err)
	}
	secret = make([]byte, size)
	if _, err := rand.Read(secret); err != nil {
		return nil, false, fmt.Errorf("generate key: %w", err)
	}
	if err := WriteOnce(path, []byte(base64.StdEncoding.EncodeToString(secret)+"\n")); errors.Is(err, os.ErrExist) {
		return LoadOrCreate(path, size, parse) // another process won the race
	} else if err != nil {
		return nil, false, fmt.Errorf("write key file: %w", err)
	}
	return secret, true, nil
}

// WriteOnce writes a temporary file (0600) and links it into place, which
// fails with os.ErrExist when path exists: readers never see a partial key.
func WriteOnce(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}
