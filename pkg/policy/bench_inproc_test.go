package policy_test

import (
	"fmt"
	"testing"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/policy"
)

func BenchmarkDecideUncached(b *testing.B) {
	p, err := policy.Load(policy.Config{PoliciesDir: "../../deploy/policies"})
	if err != nil {
		b.Fatal(err)
	}
	e := policy.New(p, policy.WithCache(0))
	reqs := make([]policy.Request, 64)
	for i := range reqs {
		team := fmt.Sprintf("team%d", i%8)
		reqs[i] = policy.Request{Principal: authn.Principal{ID: fmt.Sprintf("u%d", i), Kind: authn.KindUser, Teams: []string{team},
			TeamRoles: map[string]string{team: "developer"}}, Action: "environment:update",
			Resource: policy.Resource{Type: policy.TypeEnvironment, ID: "e", Team: fmt.Sprintf("team%d", i%5), Stage: "prod"}}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Decide(reqs[i%len(reqs)])
	}
}
