// Command accessbench measures the decision point: in-process decisions
// with 100 policies, 10,000 entities and 10,000 active just-in-time grants
// (each decision applies the principal's grants first), and decisions over
// NATS request/reply to the real access service (access.Module on the
// platform, an embedded JetStream server with SyncAlways; each decision is
// recorded in the signed audit ledger), printing RESULT lines. It uses
// public APIs only: pkg/policy for the in-process part, pkg/rpc's
// Authorize subject for the service.
//
//	go run ./bench/accessbench -policies deploy/policies
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"testing/fstest"
	"time"

	"github.com/cedar-policy/cedar-go"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
)

func main() {
	dir := flag.String("policies", "deploy/policies", "shipped policy folder")
	n := flag.Int("n", 200000, "in-process decisions")
	dur := flag.Duration("duration", 5*time.Second, "NATS throughput run")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*dir, *n, *dur); err != nil {
		fmt.Fprintln(os.Stderr, "accessbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

const teams, users = 1000, 10000

func run(dir string, n int, dur time.Duration) error {
	tmp, err := os.MkdirTemp("", "accessbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	policyDir := filepath.Join(tmp, "policies")
	policies, err := writePolicies(dir, policyDir)
	if err != nil {
		return err
	}
	principals, ents := population()
	reqs := requests(principals, 4096)
	grants := grantSet(principals)

	engine := policy.New(policies, policy.WithEntities(ents), policy.WithCache(0))
	lat := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		r, _ := grants.Apply(reqs[i%len(reqs)], start)
		engine.Decide(r)
		lat[i] = time.Since(start)
	}
	p50, p99 := pct(lat, 50), pct(lat, 99)
	fmt.Printf("RESULT access_decide_inprocess policies=%d entities=%d grants=%d p50_us=%.1f p99_us=%.1f target_p99_us=50\n",
		policies.Len(), len(ents), grants.Len(), us(p50), us(p99))
	cached := policy.New(policies, policy.WithEntities(ents))
	for i := range n {
		start := time.Now()
		r, _ := grants.Apply(reqs[i%len(reqs)], start)
		cached.Decide(r)
		lat[i] = time.Since(start)
	}
	fmt.Printf("RESULT access_decide_inprocess_cached p50_us=%.2f p99_us=%.2f\n", us(pct(lat, 50)), us(pct(lat, 99)))
	// The access service decides with the cache on (policy.New defaults),
	// over the same 100 policies.
	return overNATS(tmp, policyDir, reqs, dur)
}

// grantSet: 10,000 active grants, one per user, on a random team of the
// user's (or another), at a random role and scope.
func grantSet(ps []authn.Principal) *policy.Grants {
	r := rand.New(rand.NewPCG(3, 4))
	g := policy.NewGrants(nil)
	now := time.Now()
	roles := []string{"viewer", "developer", "maintainer", "admin"}
	for i, p := range ps {
		team := p.Teams[0]
		if r.IntN(2) == 0 {
			team = fmt.Sprintf("team%d", r.IntN(teams))
		}
		scope := events.GrantScope{Kind: events.GrantScopeStage, Stage: "prod"}
		switch r.IntN(3) {
		case 0:
			scope = events.GrantScope{Kind: events.GrantScopeTeam}
		case 1:
			scope = events.GrantScope{Kind: events.GrantScopeEnvironment, EnvironmentID: fmt.Sprintf("env%d", r.IntN(4096))}
		}
		g.Put(policy.Grant{ID: fmt.Sprintf("grt-%d", i), Kind: policy.GrantKindAccess, Principal: p.ID, Team: team,
			Role: roles[r.IntN(len(roles))], Scope: scope, StartsAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour),
			State: policy.GrantActive})
	}
	return g
}

// writePolicies writes the shipped policies and the team policies into
// out, which the in-process engine and the access service
// (PAVE_POLICIES_DIR) both load.
func writePolicies(dir, out string) (*policy.Policies, error) {
	fsys := fstest.MapFS{}
	for _, name := range []string{"schema.cedarschema", "roles.cedar", "production.cedar"} {
		raw, err := os.ReadFile(dir + "/" + name)
		if err != nil {
			return nil, err
		}
		fsys[name] = &fstest.MapFile{Data: raw}
	}
	base, err := policy.LoadFS(fsys, dir)
	if err != nil {
		return nil, err
	}
	// Team-specific policies up to 100 in all, of the shapes a platform
	// team writes: a team's stage rule, a named reader.
	var extra []byte
	for i := 0; base.Len()+i < 100; i++ {
		extra = fmt.Appendf(extra, "@id(\"team%d-no-friday-prod\")\nforbid (principal, action in Action::\"team-write\", resource is Environment)\nwhen { resource.owner == Team::\"team%d\" && resource.stage == \"prod\" && context.second_approval };\n", i, i)
	}
	fsys["teams.cedar"] = &fstest.MapFile{Data: extra}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, err
	}
	for name, f := range fsys {
		if err := os.WriteFile(filepath.Join(out, name), f.Data, 0o600); err != nil {
			return nil, err
		}
	}
	return policy.Load(policy.Config{PoliciesDir: out})
}

// population: 10,000 users, each with a role in one of 1,000 teams (the
// grants), as stored entities.
func population() ([]authn.Principal, cedar.EntityMap) {
	roles := []string{"viewer", "developer", "maintainer", "admin"}
	ents := cedar.EntityMap{}
	out := make([]authn.Principal, users)
	for i := range users {
		team, role := fmt.Sprintf("team%d", i%teams), roles[i%len(roles)]
		p := authn.Principal{ID: fmt.Sprintf("user%d", i), Kind: authn.KindUser, Teams: []string{team},
			TeamRoles: map[string]string{team: role}}
		out[i] = p
		uid := policy.PrincipalUID(p)
		ents[uid] = cedar.Entity{UID: uid, Parents: cedar.NewEntityUIDSet(cedar.NewEntityUID(policy.TypeRole, cedar.String(team+"/"+role)))}
	}
	return out, ents
}

func requests(ps []authn.Principal, k int) []policy.Request {
	r := rand.New(rand.NewPCG(1, 2))
	actions := []string{"environment:read", "environment:create", "environment:update", "environment:delete"}
	out := make([]policy.Request, k)
	for i := range out {
		p := ps[r.IntN(len(ps))]
		team := p.Teams[0]
		if r.IntN(4) == 0 {
			team = fmt.Sprintf("team%d", r.IntN(teams))
		}
		stage := []string{"dev", "staging", "prod"}[r.IntN(3)]
		out[i] = policy.Request{Principal: p, Action: actions[r.IntN(len(actions))],
			Resource: policy.Resource{Type: policy.TypeEnvironment, ID: fmt.Sprintf("env%d", i), Team: team, Stage: stage, Persistent: r.IntN(2) == 0}}
	}
	return out
}

// overNATS asks the running access service, as the gateway does. Its
// grant index holds the grants the service itself issued (none here):
// the 10,000 grants above are the in-process part's.
func overNATS(dir, policyDir string, reqs []policy.Request, dur time.Duration) error {
	nc, shutdown, err := startAccess(dir, policyDir)
	if err != nil {
		return err
	}
	defer shutdown()
	ctx := context.Background()
	client := newDecideClient(nc, 5*time.Second)

	const seq = 2000
	lat := make([]time.Duration, seq)
	for i := range seq {
		start := time.Now()
		if _, err := client.Decide(ctx, reqs[i%len(reqs)]); err != nil {
			return err
		}
		lat[i] = time.Since(start)
	}
	fmt.Printf("RESULT access_decide_nats_recorded p50_us=%.0f p99_us=%.0f target_p99_us=1000\n", us(pct(lat, 50)), us(pct(lat, 99)))

	var done atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(dur)
	errs := make(chan error, 128)
	for w := range 128 {
		wg.Go(func() {
			for i := w; time.Now().Before(stop); i += 128 {
				if _, err := client.Decide(ctx, reqs[i%len(reqs)]); err != nil {
					errs <- err
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Printf("RESULT access_decide_nats_throughput per_s=%.0f clients=128 target_per_s=20000 recorded=true\n", float64(done.Load())/dur.Seconds())
	return nil
}

func pct(xs []time.Duration, p int) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
