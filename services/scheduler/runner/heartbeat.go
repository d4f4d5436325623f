package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pave-platform/pave/pkg/events"
)

// heartbeatLoop refreshes the heartbeat key every interval until ctx ends.
func (r *Runner) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, max(r.cfg.Heartbeat, 5*time.Second))
		if err := r.beat(bctx); err != nil && ctx.Err() == nil {
			r.log.Warn("heartbeat", "error", err)
		}
		cancel()
	}
}

// beat writes the runner's heartbeat: who it is and what it runs.
func (r *Runner) beat(ctx context.Context) error {
	r.mu.Lock()
	hb := events.RunnerHeartbeat{Runner: r.cfg.ID, Pool: r.cfg.Pool, Jobs: r.runningLocked(), At: time.Now().UTC()}
	r.mu.Unlock()
	raw, err := json.Marshal(hb)
	if err != nil {
		return fmt.Errorf("heartbeat %s: %w", r.cfg.ID, err)
	}
	if _, err := r.kv.Put(ctx, r.cfg.ID, raw); err != nil {
		return fmt.Errorf("heartbeat %s: %w", r.cfg.ID, err)
	}
	return nil
}
