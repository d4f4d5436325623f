package adapters

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// The drivers that count what a resource holds, for teardown receipts.
var (
	_ app.Evidencer = (*Postgres)(nil)
	_ app.Evidencer = (*Redis)(nil)
	_ app.Evidencer = (*NATS)(nil)
)

// Evidence counts the resource's role and database (0 or 1 each) and the
// objects its role owns in its database (tables, views, sequences,
// indexes: pg_class), which sanitize drops.
func (p *Postgres) Evidence(ctx context.Context, id string) (map[string]int64, error) {
	name := domain.ObjectName(id)
	conn, err := p.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	have, err := pgExists(ctx, conn, name)
	if err != nil {
		return nil, err
	}
	if have.HalfDropped { // nobody can connect to count inside; the drop is finished by deprovision
		return map[string]int64{"role": b2i(have.Role), "database": 1, "database_half_dropped": 1}, nil
	}
	out := map[string]int64{"role": b2i(have.Role), "database": b2i(have.DB), "objects_owned": 0}
	if !have.Role || !have.DB {
		return out, nil
	}
	inside, err := p.connect(ctx, name)
	if err != nil {
		return nil, err
	}
	defer closeConn(inside)
	var n int64
	if err := inside.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1`, name).Scan(&n); err != nil {
		return nil, fmt.Errorf("count objects of %s: %w", name, err)
	}
	out["objects_owned"] = n
	return out, nil
}

// Evidence counts the resource's ACL user (0 or 1) and its keys.
func (r *Redis) Evidence(ctx context.Context, id string) (map[string]int64, error) {
	users, err := r.client.ACLUsers(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("list acl users: %w", redisClassify(err))
	}
	var keys int64
	iter := r.client.Scan(ctx, 0, KeyPrefix(id)+"*", 500).Iterator()
	for iter.Next(ctx) {
		keys++
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("scan keys of %s: %w", id, redisClassify(err))
	}
	return map[string]int64{"acl_user": b2i(slices.Contains(users, domain.ObjectName(id))), "keys": keys}, nil
}

// Evidence counts the resource's stream (0 or 1) and its messages.
func (n *NATS) Evidence(ctx context.Context, id string) (map[string]int64, error) {
	s, err := n.js.Stream(ctx, domain.ObjectName(id))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return map[string]int64{"stream": 0, "messages": 0}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find stream of %s: %w", id, natsClassify(err))
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream info of %s: %w", id, natsClassify(err))
	}
	return map[string]int64{"stream": 1, "messages": int64(info.State.Msgs)}, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
