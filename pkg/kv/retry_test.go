package kv_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pave-platform/pave/pkg/kv"
)

// Retry re-reads and re-applies after a lost race, stops on change's error
// with the value read, and gives up after a bounded number of lost races.
func TestRetryIsTheCompareAndSetLoop(t *testing.T) {
	ctx := context.Background()
	conflict := errors.New("conflict")
	stored, rev := 1, uint64(1)
	rival := 2 // writes that win the race before ours
	get := func() (int, uint64, error) { return stored, rev, nil }
	put := func(v int, at uint64) error {
		if rival > 0 {
			rival--
			stored, rev = stored+10, rev+1
			return conflict
		}
		if at != rev {
			return conflict
		}
		stored, rev = v, rev+1
		return nil
	}
	got, err := kv.Retry(ctx, conflict, get, put, func(v int) (int, error) { return v + 1, nil })
	assert.NoError(t, err)
	assert.Equal(t, 22, got, "applied to the value the rivals left")
	assert.Equal(t, 22, stored)

	no := errors.New("no")
	got, err = kv.Retry(ctx, conflict, get, put, func(v int) (int, error) { return v + 100, no })
	assert.ErrorIs(t, err, no)
	assert.Equal(t, 22, got, "the value read, not the refused change")

	_, err = kv.Retry(ctx, conflict, get, func(int, uint64) error { return conflict }, func(v int) (int, error) { return v, nil })
	assert.ErrorIs(t, err, conflict, "gives up")
}
