package app

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// What the leader needs from the world, declared here beside it (only
// the methods it calls); package adapters implements each on JetStream.

// EventLog is the scheduler's log.
type EventLog interface {
	// Replay hands each event after sequence from (0: all) to apply, in
	// order, and returns the last sequence read and how many it read.
	Replay(ctx context.Context, from uint64, apply func(seq uint64, e event.Event) error) (last uint64, n int64, err error)
	// Appender appends after last, fenced: an append that is not right
	// after it fails with ErrFenced.
	Appender(last uint64) Appender
}

// Appender appends the leader's events.
type Appender interface {
	// Append publishes msgs in order; on any error the log may hold a
	// prefix of them and the leader must stop.
	Append(ctx context.Context, msgs []*nats.Msg) error
	// Last is the sequence of the last event appended or replayed.
	Last() uint64
}

// Lease is the leadership lease; Term grows with each holder.
type Lease interface {
	TryAcquire(ctx context.Context) (bool, error)
	Renew(ctx context.Context) error
	Release(ctx context.Context) error
	Term() uint64
}

// OutputReader reads the output a runner stored for a job's admission;
// false when there is none.
type OutputReader interface {
	Read(ctx context.Context, workload string, admission int) (string, bool, error)
}

// Errors of the log.
var (
	// ErrFenced: another instance appended since this one last read the
	// log; this one is no longer the leader and must rebuild.
	ErrFenced = errors.New("scheduler log: another leader appended first")
	// ErrSnapshotAhead: a snapshot claims a sequence the log does not
	// have (the stream was recreated); the whole log is replayed.
	ErrSnapshotAhead = errors.New("scheduler log: the snapshot is ahead of the log")
)
