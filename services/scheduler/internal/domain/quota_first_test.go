package domain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Capacity freed while one team sits at its nominal quota and another is
// below it goes to the team below it. Lending it to the team at quota, in
// a pass that then reclaims it by preempting that team's older work, threw
// the older work away for nothing.
func TestFreedCapacityGoesToQuotaBeforeBorrowing(t *testing.T) {
	nominal2 := map[string]Vector{"p": cpu(2)}
	m := newSim(t, Config{}, []Pool{pool("p", cpu(4))}, []Team{{Name: "a", Nominal: nominal2}, {Name: "b", Nominal: nominal2}})
	m.submit("a", "p", 2, cpu(1), preemptible(0))
	bs := m.submit("b", "p", 2, cpu(1), nil)
	m.step()
	older := m.submit("a", "p", 1, cpu(1), preemptible(0))
	m.now = m.now.Add(time.Minute)
	newer := m.submit("b", "p", 1, cpu(1), nil)
	m.step()
	require.Equal(t, []int{2, 2}, []int{m.running("a"), m.running("b")})

	m.now = m.now.Add(time.Minute)
	m.finish(bs[0])
	m.step()
	assert.Empty(t, m.preempt)
	assert.Equal(t, StatusAdmitted, m.s.Status(newer[0]), "b is back to its quota")
	assert.Equal(t, "team quota exhausted for cpu; no idle capacity to borrow", m.reason(older[0]))
}

// A team's unlendable idle nominal is kept for it: capacity held for
// another team's starving workload, which could never be admitted there,
// does not stop the owner from using it.
func TestStarvingReservationLeavesUnlendableNominalToItsOwner(t *testing.T) {
	m := newSim(t, Config{StarvationAfter: 5 * time.Minute}, []Pool{pool("p", cpu(8))}, []Team{
		{Name: "owner", Nominal: map[string]Vector{"p": cpu(4)}, LendingLimit: map[string]Vector{"p": cpu(0)}},
		{Name: "big"},
	})
	m.submit("big", "p", 1, cpu(4), nil)
	starving := m.submit("big", "p", 1, cpu(4), nil)
	m.step()
	require.Equal(t, 1, m.running("big"), "the other 4 cpu are the owner's, idle and unlendable")

	m.now = m.now.Add(10 * time.Minute)
	mine := m.submit("owner", "p", 3, cpu(1), nil)
	m.step()
	assert.ElementsMatch(t, mine, m.runningIDs("owner"))
	assert.Contains(t, m.reason(starving[0]), "past the starvation bound; capacity is held for it")
}
