package domain

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// DRF paper, section 4: 9 CPU / 18 GB, A asks <1,4>, B asks <3,1>.
func TestDRFTextbook(t *testing.T) {
	m := newSim(t, Config{}, []Pool{pool("p", Vector{"cpu": 9, "memory": 18})}, []Team{{Name: "a"}, {Name: "b"}})
	m.submit("a", "p", 20, Vector{"cpu": 1, "memory": 4}, nil)
	m.submit("b", "p", 20, Vector{"cpu": 3, "memory": 1}, nil)
	m.step()
	assert.Equal(t, 3, m.running("a"))
	assert.Equal(t, 2, m.running("b"))
}

func TestBorrowingWithoutPreemption(t *testing.T) {
	m := newSim(t, Config{}, []Pool{pool("p", cpu(8))}, []Team{
		{Name: "a", Nominal: map[string]Vector{"p": cpu(3)}},
		{Name: "b", Nominal: map[string]Vector{"p": cpu(1)}},
	})
	m.submit("a", "p", 10, cpu(1), nil)
	m.step()
	require.Equal(t, 8, m.running("a"))

	waiting := m.submit("b", "p", 5, cpu(1), nil)
	m.step()
	require.Equal(t, 0, m.running("b"))
	assert.Equal(t, "pool capacity exhausted for cpu", m.reason(waiting[0]))

	m.now = m.now.Add(time.Minute)
	m.finish(m.runningIDs("a")[:4]...)
	m.step()
	assert.Equal(t, 5, m.running("a"), "a gets 1")
	assert.Equal(t, 3, m.running("b"), "b gets 3")
	assert.Empty(t, m.preempt)
}

func TestBorrowingLimitReason(t *testing.T) {
	m := newSim(t, Config{}, []Pool{pool("p", cpu(8))}, []Team{{Name: "a",
		Nominal: map[string]Vector{"p": cpu(2)}, BorrowingLimit: map[string]Vector{"p": cpu(1)}}})
	ids := m.submit("a", "p", 4, cpu(1), nil)
	m.step()
	assert.Equal(t, 3, m.running("a"))
	assert.Equal(t, "team quota exhausted for cpu; borrowing limit reached", m.reason(ids[3]))
}

func TestLendingLimitKeepsIdleNominal(t *testing.T) {
	m := newSim(t, Config{}, []Pool{pool("p", cpu(8))}, []Team{
		{Name: "a", Nominal: map[string]Vector{"p": cpu(4)}},
		{Name: "b", Nominal: map[string]Vector{"p": cpu(4)}, LendingLimit: map[string]Vector{"p": cpu(1)}},
	})
	ids := m.submit("a", "p", 8, cpu(1), nil)
	m.step()
	assert.Equal(t, 5, m.running("a"), "4 own + 1 lent by b")
	assert.Equal(t, "idle cpu belongs to other teams' quota and may not be lent", m.reason(ids[7]))
}

func TestReclaim(t *testing.T) {
	nominal3 := map[string]Vector{"p": cpu(3)}
	m := newSim(t, Config{}, []Pool{pool("p", cpu(9))}, []Team{
		{Name: "a", Nominal: nominal3}, {Name: "b", Nominal: nominal3}, {Name: "c", Nominal: nominal3},
	})
	m.submit("a", "p", 20, cpu(1), preemptible(time.Minute))
	m.step()
	require.Equal(t, 9, m.running("a"))

	m.now = m.now.Add(2 * time.Minute)
	m.submit("b", "p", 5, cpu(1), nil)
	m.step()
	assert.Equal(t, 4, m.running("b"))
	assert.Equal(t, 5, m.running("a"))
	require.Len(t, m.preempt, 4)

	m.submit("c", "p", 1, cpu(1), nil)
	m.step()
	require.Len(t, m.preempt, 5)
	assert.True(t, strings.HasPrefix(m.preempt[4].ID, "a-"), "victim %s comes from a", m.preempt[4].ID)
	assert.Equal(t, "team c reclaims its nominal quota for workload c-26", m.preempt[4].Reason)
	assert.Equal(t, []int{4, 4, 1}, []int{m.running("a"), m.running("b"), m.running("c")})
}

// Reclaim with two resources: a borrows cpu but uses memory well within
// its quota, as jobs do. Its borrowed job is still a victim; its job
// within the cpu quota is not.
func TestReclaimTakesJobsBorrowingOneResourceOnly(t *testing.T) {
	nominal := map[string]Vector{"p": {"cpu": 4, "memory": 8}}
	m := newSim(t, Config{}, []Pool{pool("p", Vector{"cpu": 8, "memory": 16})},
		[]Team{{Name: "a", Nominal: nominal}, {Name: "b", Nominal: nominal}})
	keep := m.submit("a", "p", 1, Vector{"cpu": 4, "memory": 1}, preemptible(0))
	m.step()
	borrowed := m.submit("a", "p", 1, Vector{"cpu": 4, "memory": 1}, preemptible(0))
	m.step()
	require.Equal(t, 2, m.running("a"))

	claim := m.submit("b", "p", 1, Vector{"cpu": 4, "memory": 1}, nil)
	m.step()
	require.Len(t, m.preempt, 1)
	assert.Equal(t, borrowed[0], m.preempt[0].ID)
	assert.ElementsMatch(t, keep, m.runningIDs("a"))
	assert.ElementsMatch(t, claim, m.runningIDs("b"))
}

func TestReclaimWaitsForMinRuntimeAndPrefersNewestLowest(t *testing.T) {
	nominal := map[string]Vector{"p": cpu(2)}
	m := newSim(t, Config{}, []Pool{pool("p", cpu(4))}, []Team{{Name: "a", Nominal: nominal}, {Name: "b", Nominal: nominal}})
	old := m.submit("a", "p", 2, cpu(1), preemptible(5*time.Minute))
	m.now = m.now.Add(time.Minute)
	m.step()
	m.now = m.now.Add(time.Minute)
	young := m.submit("a", "p", 1, cpu(1), preemptible(5*time.Minute))
	low := m.submit("a", "p", 1, cpu(1), func(w *Workload) { w.Preemptible, w.MinRuntime, w.Priority = true, 5*time.Minute, -1 })
	m.step()
	require.Equal(t, 4, m.running("a"))

	m.now = m.now.Add(time.Minute)
	ids := m.submit("b", "p", 2, cpu(1), nil)
	m.step()
	assert.Empty(t, m.preempt, "nothing has run its minimum runtime")
	assert.Equal(t, "pool capacity exhausted for cpu", m.reason(ids[0]))

	m.now = m.now.Add(10 * time.Minute)
	m.step()
	require.Len(t, m.preempt, 2)
	assert.Equal(t, []string{low[0], young[0]}, []string{m.preempt[0].ID, m.preempt[1].ID})
	assert.ElementsMatch(t, old, m.runningIDs("a"))
}

func TestWeights(t *testing.T) {
	m := newSim(t, Config{}, []Pool{pool("p", cpu(12))}, []Team{
		{Name: "a", Weight: 1}, {Name: "b", Weight: 0.5}, {Name: "c", Weight: 0.5}, {Name: "d", Weight: 1},
	})
	for _, team := range []string{"a", "b", "c", "d"} {
		m.submit(team, "p", 20, cpu(1), nil)
	}
	m.step()
	assert.Equal(t, []int{4, 2, 2, 4}, []int{m.running("a"), m.running("b"), m.running("c"), m.running("d")})
}

func TestPriorityThenAgeWithinTeam(t *testing.T) {
	m := newSim(t, Config{}, []Pool{pool("p", cpu(2))}, []Team{{Name: "a"}})
	first := m.submit("a", "p", 1, cpu(1), nil)
	m.now = m.now.Add(time.Second)
	m.submit("a", "p", 1, cpu(1), nil)
	urgent := m.submit("a", "p", 1, cpu(1), func(w *Workload) { w.Priority = 10 })
	m.step()
	assert.ElementsMatch(t, []string{first[0], urgent[0]}, m.runningIDs("a"))
}

func TestDAGOrderAndParentFailure(t *testing.T) {
	m := newSim(t, Config{}, []Pool{pool("p", cpu(8))}, []Team{{Name: "a"}})
	build := Workload{ID: "build", Team: "a", Pool: "p", Demand: cpu(1), Kind: KindJob, SubmittedAt: m.now}
	test := build
	test.ID, test.DependsOn = "test", []string{"build"}
	deploy := build
	deploy.ID, deploy.DependsOn = "deploy", []string{"test"}
	docs := build
	docs.ID, docs.DependsOn = "docs", []string{"build"}
	require.NoError(t, m.s.Submit(deploy, test, build, docs))

	m.step()
	assert.Equal(t, []string{"build"}, m.runningIDs("a"))
	assert.Equal(t, "waiting for dependency build to finish", m.reason("test"))

	m.finish("build")
	m.step()
	assert.Equal(t, []string{"docs", "test"}, m.runningIDs("a"))

	require.NoError(t, m.s.Fail("test", "exit code 1"))
	m.step()
	assert.Equal(t, StatusFailed, m.s.Status("deploy"))
	assert.Equal(t, "cancelled: dependency test failed: exit code 1", m.s.FailureReason("deploy"))
}

func TestCancelledParentCancelsGrandchildren(t *testing.T) {
	m := newSim(t, Config{}, []Pool{pool("p", cpu(1))}, []Team{{Name: "a"}})
	root := Workload{ID: "root", Team: "a", Pool: "p", Demand: cpu(1), Kind: KindJob, SubmittedAt: m.now}
	child, grandchild := root, root
	child.ID, child.DependsOn = "child", []string{"root"}
	grandchild.ID, grandchild.DependsOn = "grandchild", []string{"child"}
	require.NoError(t, m.s.Submit(root, child, grandchild))
	require.NoError(t, m.s.Fail("root", "cancelled by user"))
	d := Schedule(m.s, m.now)
	assert.Equal(t, []Cancellation{
		{ID: "child", Reason: "cancelled: dependency root failed: cancelled by user"},
		{ID: "grandchild", Reason: "cancelled: dependency child is cancelled"},
	}, d.Cancel)
}

// A big job in a stream of small ones waits at most twice the longest
// small runtime when the starvation threshold equals that runtime.
func TestBigJobInStreamOfSmallOnes(t *testing.T) {
	const longest = 5 * time.Minute
	tests := []struct {
		give      time.Duration // starvation threshold
		wantAdmit bool
	}{
		{give: longest, wantAdmit: true},
		{give: 0, wantAdmit: false}, // without reservations the stream starves it
	}
	for _, tt := range tests {
		m := newSim(t, Config{StarvationAfter: tt.give}, []Pool{pool("p", cpu(8))}, []Team{{Name: "small"}, {Name: "big"}})
		runtimes := map[string]time.Duration{}
		var admittedAt time.Time
		for tick := 0; tick < 120 && admittedAt.IsZero(); tick++ {
			for _, a := range m.s.Running() {
				if !m.now.Before(a.At.Add(runtimes[a.Workload.ID])) {
					m.finish(a.Workload.ID)
				}
			}
			for i := range 3 {
				runtimes[m.submit("small", "p", 1, cpu(1), nil)[0]] = time.Duration(1+(tick+i)%5) * time.Minute
			}
			if tick == 2 {
				m.submit("big", "p", 1, cpu(8), func(w *Workload) { w.ID = "big" })
			}
			m.step()
			if m.s.Status("big") == StatusAdmitted {
				admittedAt = m.now
			}
			m.now = m.now.Add(30 * time.Second)
		}
		bigSubmitted := t0.Add(time.Minute)
		assert.Equal(t, tt.wantAdmit, !admittedAt.IsZero())
		if tt.wantAdmit {
			assert.LessOrEqual(t, admittedAt.Sub(bigSubmitted), 2*longest)
		}
	}
}
