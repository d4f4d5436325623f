// Package domain is the scheduler's pure decision core: state in,
// decisions out, no I/O. The service feeds it events (submit, finish,
// fail), calls Schedule, publishes the Decisions and applies them.
//
//	Submit ──validate──▶ State ──Schedule(state, now)──▶ Decisions ──Apply──▶ State
//	                       │
//	        per pool:      ├─ dependencies: parent failed → Cancel; running → Wait
//	                       └─ team with the lowest weighted dominant share
//	                             first (heap; on a tie, a team whose next
//	                             workload fits its own quota before one that
//	                             would borrow); within a team starving work
//	                             (eligible ≥ StarvationAfter) oldest first, then
//	                             priority, then age: admit, or preempt, or
//	                             Wait(reason); a team's first starving workload
//	                             that waits holds its demand against all that
//	                             is served after it
//
// Vocabulary:
//
//   - Pool: shared capacity, a Vector of resources (cpu, memory, ops, …).
//   - Nominal quota: capacity a team is guaranteed in a pool.
//   - Borrowing: using idle capacity beyond nominal, up to the borrowing limit.
//   - Lending limit: how much of a team's idle nominal others may borrow; the
//     rest is kept idle for it ("guard").
//   - Weighted dominant share: the largest fraction of any pool resource a
//     team uses above its nominal quota, divided by its weight (weighted DRF;
//     teams without quotas get textbook DRF).
//   - Reclaim: a team within its nominal quota takes capacity back by
//     preempting borrowed, preemptible work that has run its MinRuntime.
//   - Fair-share preemption: a borrowing team preempts a team whose share
//     stays at or above its own after the move, so preemption never loops.
//   - Victim: on both paths, a job its team borrows for: the team is above
//     its nominal quota on a resource the job uses and stays at or above it
//     there without the job.
//   - Starving: an eligible workload that has waited StarvationAfter. The
//     first one of each team that does not fit holds its demand in the pool
//     and the team, so nothing served after it (teams with a larger share,
//     its own team's later work) can overtake it; teams with a smaller
//     share still go first, which keeps a flood from buying priority by
//     being old.
//   - Eligible: all parents finished; the wait is measured from then.
package domain
