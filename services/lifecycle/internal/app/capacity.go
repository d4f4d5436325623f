package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/pave-platform/pave/pkg/bus"
)

// Capacity says which streams are too full to take new work (the
// process's fill monitor, bus.FillMonitor).
type Capacity interface {
	FullNow(ctx context.Context, except ...string) []bus.Fill
}

// FullError refuses an operation before anything of it is done: a
// stream it would write to is full. The caller may try again later
// (HTTP 503 with Retry-After; a bus handler's error, redelivered later).
type FullError struct {
	Streams []string
	Detail  string
}

func (e *FullError) Error() string {
	return e.Detail + ": Pave takes no new work until space is freed or the limit raised; nothing was changed"
}

// WithCapacity makes creates, updates and deletes refuse while a stream
// is full, before they store anything (no capacity: never refused).
func (s *Service) WithCapacity(c Capacity) *Service {
	s.capacity = c
	return s
}

// refuseWhenFull is a *FullError while any stream but the DLQ is full:
// an operation's work flows through most services' streams.
func (s *Service) refuseWhenFull(ctx context.Context) error {
	if s.capacity == nil {
		return nil
	}
	full := s.capacity.FullNow(ctx, bus.StreamDLQ)
	if len(full) == 0 {
		return nil
	}
	e := &FullError{}
	details := make([]string, len(full))
	for i, f := range full {
		e.Streams = append(e.Streams, f.Stream)
		details[i] = f.String()
	}
	e.Detail = strings.Join(details, "; ")
	return fmt.Errorf("refused: %w", e)
}
