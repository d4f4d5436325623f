package domain_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// TestExpiredAtKeepsWhatCanStillChangeAnAnswer: at a horizon 20 h after
// t0, history()'s database (stopped at 15 h) and its job (ended at 2 h)
// go; the cache still runs, so its environment and the create plan it
// bills by stay, while the update plan only the database used goes. A
// job that never started stays (nothing tells its age), and so does a
// deleted environment that ended after the horizon.
func TestExpiredAtKeepsWhatCanStillChangeAnAnswer(t *testing.T) {
	s := history()
	s.Jobs["queued"] = domain.JobMeter{WorkloadID: "queued", Team: "pay", Kind: "job"}
	s.Environments["env-gone"] = domain.Environment{ID: "env-gone", Team: "pay", State: "deleted", At: t0.Add(time.Hour)}
	s.Environments["env-late"] = domain.Environment{ID: "env-late", Team: "pay", State: "failed", At: t0.Add(30 * time.Hour)}
	s.Environments["env-idle"] = domain.Environment{ID: "env-idle", Team: "pay", State: "ready", At: t0}
	for id, p := range s.Plans {
		p.At = t0
		s.Plans[id] = p
	}
	got := domain.ExpiredAt(s, t0.Add(20*time.Hour))
	sort := func(ids []string) []string { return slices.Sorted(slices.Values(ids)) }
	assert.Equal(t, []string{"env-a-db"}, sort(got.Resources))
	assert.Equal(t, []string{"build"}, sort(got.Jobs))
	assert.Equal(t, []string{"env-a.update.2"}, sort(got.Plans))
	assert.Equal(t, []string{"env-gone"}, sort(got.Environments))

	assert.Zero(t, domain.ExpiredAt(s, t0.Add(time.Hour)).Len(), "nothing had closed an hour in")

	// A late event opens the database again before it is forgotten: it stays.
	db := s.Resources["env-a-db"]
	db.Marks = db.Marks[:2]
	s.Resources["env-a-db"] = db
	s.Forget(got, t0.Add(20*time.Hour))
	assert.Contains(t, s.Resources, "env-a-db")
	assert.NotContains(t, s.Jobs, "build")
	assert.NotContains(t, s.Plans, "env-a.update.2")
	assert.NotContains(t, s.Environments, "env-gone")
}
