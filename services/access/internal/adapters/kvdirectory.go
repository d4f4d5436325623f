package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/services/access/internal/app"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// IdentityBucket holds teams, members, service accounts and users' platform
// roles under team.<t>, member.<t>.<user>, sa.<t>.<name> and user.<id>.
const IdentityBucket = "ACCESS_IDENTITIES"

// KVDirectory stores identities in KV and answers reads from memory, kept
// in step by a watch on the bucket (so replicas see each other's writes).
type KVDirectory struct {
	kv jetstream.KeyValue
	w  jetstream.KeyWatcher

	mu      sync.RWMutex
	teams   map[string]domain.Team
	members map[string]map[string]domain.Member // team → user → member
	sas     map[string]domain.ServiceAccount    // team/name
	users   map[string]domain.User
	done    chan struct{}
}

var _ app.Directory = (*KVDirectory)(nil)

// NewKVDirectory declares the bucket, loads it and starts watching it;
// Stop ends the watch.
func NewKVDirectory(ctx context.Context, js jetstream.JetStream, replicas int) (*KVDirectory, error) {
	b, err := kv.Declare(ctx, js, kv.Spec{Bucket: IdentityBucket,
		Description: "teams, members, service accounts, platform roles", History: 5, Replicas: replicas})
	if err != nil {
		return nil, err
	}
	d := &KVDirectory{kv: b, teams: map[string]domain.Team{}, members: map[string]map[string]domain.Member{},
		sas: map[string]domain.ServiceAccount{}, users: map[string]domain.User{}, done: make(chan struct{})}
	d.w, err = b.WatchAll(ctx, jetstream.IncludeHistory())
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", IdentityBucket, err)
	}
	// The watch first replays what is stored, then a nil entry.
	for e := range d.w.Updates() {
		if e == nil {
			break
		}
		d.apply(e.Key(), e.Value(), e.Operation() != jetstream.KeyValuePut)
	}
	go d.follow()
	return d, nil
}

func (d *KVDirectory) follow() {
	defer close(d.done)
	for e := range d.w.Updates() {
		if e != nil {
			d.apply(e.Key(), e.Value(), e.Operation() != jetstream.KeyValuePut)
		}
	}
}

// Stop ends the watch and waits for it.
func (d *KVDirectory) Stop() error {
	err := d.w.Stop()
	<-d.done
	if errors.Is(err, nats.ErrBadSubscription) {
		return nil // the connection already ended the watch
	}
	return err
}

func (d *KVDirectory) apply(key string, val []byte, deleted bool) {
	kind, rest, _ := strings.Cut(key, ".")
	d.mu.Lock()
	defer d.mu.Unlock()
	switch kind {
	case "team":
		var t domain.Team
		if deleted || json.Unmarshal(val, &t) != nil {
			delete(d.teams, rest)
			return
		}
		d.teams[rest] = t
	case "member":
		team, user, _ := strings.Cut(rest, ".")
		var m domain.Member
		if deleted || json.Unmarshal(val, &m) != nil {
			delete(d.members[team], user)
			return
		}
		if d.members[team] == nil {
			d.members[team] = map[string]domain.Member{}
		}
		d.members[team][user] = m
	case "sa":
		team, name, _ := strings.Cut(rest, ".")
		var s domain.ServiceAccount
		if deleted || json.Unmarshal(val, &s) != nil {
			delete(d.sas, team+"/"+name)
			return
		}
		d.sas[team+"/"+name] = s
	case "user":
		var u domain.User
		if deleted || json.Unmarshal(val, &u) != nil {
			delete(d.users, rest)
			return
		}
		d.users[rest] = u
	}
}

func (d *KVDirectory) put(ctx context.Context, key string, v any, create bool) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if create {
		_, err = d.kv.Create(ctx, key, raw)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return app.ErrExists
		}
	} else {
		_, err = d.kv.Put(ctx, key, raw)
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	d.apply(key, raw, false) // read your own writes before the watch echoes
	return nil
}

func (d *KVDirectory) del(ctx context.Context, key string) error {
	if err := d.kv.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	d.apply(key, nil, true)
	return nil
}

// CreateTeam stores a new team (ErrExists when taken).
func (d *KVDirectory) CreateTeam(ctx context.Context, t domain.Team) error {
	return d.put(ctx, "team."+t.Name, t, true)
}

// DeleteTeam removes a team and its members and service accounts.
func (d *KVDirectory) DeleteTeam(ctx context.Context, name string) error {
	for _, m := range d.Members(name) {
		if err := d.del(ctx, "member."+name+"."+m.User); err != nil {
			return err
		}
	}
	for _, s := range d.ServiceAccounts(name) {
		if err := d.del(ctx, "sa."+name+"."+s.Name); err != nil {
			return err
		}
	}
	return d.del(ctx, "team."+name)
}

// PutMember adds a member or changes its role.
func (d *KVDirectory) PutMember(ctx context.Context, m domain.Member) error {
	return d.put(ctx, "member."+m.Team+"."+m.User, m, false)
}

// RemoveMember removes a member.
func (d *KVDirectory) RemoveMember(ctx context.Context, team, user string) error {
	return d.del(ctx, "member."+team+"."+user)
}

// CreateServiceAccount stores a new service account (ErrExists when taken).
func (d *KVDirectory) CreateServiceAccount(ctx context.Context, s domain.ServiceAccount) error {
	return d.put(ctx, "sa."+s.Team+"."+s.Name, s, true)
}

// DeleteServiceAccount removes a service account.
func (d *KVDirectory) DeleteServiceAccount(ctx context.Context, team, name string) error {
	return d.del(ctx, "sa."+team+"."+name)
}

// PutUser sets a user's platform roles.
func (d *KVDirectory) PutUser(ctx context.Context, u domain.User) error {
	return d.put(ctx, "user."+u.ID, u, false)
}

// Team finds a team.
func (d *KVDirectory) Team(name string) (domain.Team, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	t, ok := d.teams[name]
	return t, ok
}

// Teams lists the teams by name.
func (d *KVDirectory) Teams() []domain.Team {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]domain.Team, 0, len(d.teams))
	for _, t := range d.teams {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Members lists a team's members by user.
func (d *KVDirectory) Members(team string) []domain.Member {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]domain.Member, 0, len(d.members[team]))
	for _, m := range d.members[team] {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out
}

// Memberships is a user's role per team.
func (d *KVDirectory) Memberships(user string) map[string]string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := map[string]string{}
	for team, ms := range d.members {
		if m, ok := ms[user]; ok {
			out[team] = m.Role
		}
	}
	return out
}

// ServiceAccount finds a service account by team and name.
func (d *KVDirectory) ServiceAccount(team, name string) (domain.ServiceAccount, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	s, ok := d.sas[team+"/"+name]
	return s, ok
}

// ServiceAccounts lists a team's service accounts ("" for all).
func (d *KVDirectory) ServiceAccounts(team string) []domain.ServiceAccount {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []domain.ServiceAccount
	for _, s := range d.sas {
		if team == "" || s.Team == team {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// User finds a user's platform roles.
func (d *KVDirectory) User(id string) (domain.User, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	u, ok := d.users[id]
	return u, ok
}
