package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"
)

// probeBacklogs prints, every second until stop, the consumers with the
// most messages waiting (pending plus unacknowledged): where sagas queue.
func (b *envBench) probeBacklogs(stop chan struct{}) {
	ctx := context.Background()
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Second):
		}
		type row struct {
			name string
			n    uint64
		}
		var rows []row
		for name := range b.js.StreamNames(ctx).Name() {
			s, err := b.js.Stream(ctx, name)
			if err != nil {
				continue
			}
			for ci := range s.ListConsumers(ctx).Info() {
				rows = append(rows, row{name + "/" + ci.Name, ci.NumPending + uint64(ci.NumAckPending)})
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].n > rows[j].n })
		line := "BACKLOG"
		for _, r := range rows[:min(6, len(rows))] {
			line += fmt.Sprintf(" %s=%d", r.name, r.n)
		}
		fmt.Fprintln(os.Stderr, line)
	}
}
