// Package sim is a discrete-event simulator over the scheduler's decision
// core. Time is virtual: nothing sleeps and nothing reads the wall clock,
// so a run is a pure function of its configuration and jobs, and the same
// seed gives the same run.
//
//	jobs (Generate) ──▶ event queue ──▶ batch at t: finishes, then arrivals
//	                        ▲                 │
//	                        │                 ▼
//	             finish at t+runtime ◀── settle: Schedule + Apply until quiet
//	                                          │
//	                                          ▼
//	                          Records (per job) and Samples (per pool, per tick)
//
// Vocabulary:
//
//   - Job: a workload plus the virtual time it runs once admitted. A
//     preempted job goes back to the queue (the core's Apply does that) and
//     runs its whole runtime again when readmitted.
//   - Batch: every event due at the same instant; the core sees them
//     together, as the service would after a burst of messages.
//   - Settle: Schedule and Apply at one instant until a pass admits,
//     preempts and cancels nothing.
//   - Wait: from eligible (submitted with all parents finished, a parent's
//     finish, or a preemption) to the next admission.
//   - Sample: every SampleEvery, each team's usage, weighted dominant share
//     and eligible backlog in each pool, as the core would compute them.
package sim
