package app

import (
	"slices"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// SchedulerConfig is the pools, teams and rules the leader starts from
// (the pools file, loaded by adapters.LoadPoolsFile).
type SchedulerConfig struct {
	Core  domain.Config
	Pools []domain.Pool
	Teams []domain.Team
	// DefaultTeam, when set, is the quota of a team the file does not
	// list; its Name is empty.
	DefaultTeam *domain.Team
	// Kinds are the workload kinds each pool serves, by pool; a pool
	// that is not listed (one added through the API) serves every kind.
	Kinds map[string][]string
}

// Serves says whether pool takes workloads of kind.
func (c SchedulerConfig) Serves(pool, kind string) bool {
	kinds, ok := c.Kinds[pool]
	return !ok || slices.Contains(kinds, kind)
}

// DefaultTeamFor is the default quota under a team's name.
func (c SchedulerConfig) DefaultTeamFor(name string) (domain.Team, bool) {
	if c.DefaultTeam == nil {
		return domain.Team{}, false
	}
	t := *c.DefaultTeam
	t.Name = name
	return t, true
}
