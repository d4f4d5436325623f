// Package runner is `pave runner`: it runs the job workloads the scheduler
// admits to a pool as OS processes and reports how they end.
//
//	pave.cmd.runner.run.<pool> ─ consumer runner-<pool> (shared by the pool's runners)
//	   └─ claim a slot ─ start the process (own process group) ─ JobStarted ─ ack
//	         └─ supervisor: exit ─────────────── JobFinished (exit code, output tail)
//	                        max runtime ──────── SIGTERM, SIGKILL after a grace ─ JobTimedOut
//	                        scheduler stop event JobStopped (reason)
//	   EVT_SCHEDULER preempted|requeued|cancelled|failed|released ─ ordered consumer ─ stop matching jobs
//	   every Heartbeat: SCHEDULER_RUNNERS[<runner id>] = {runner, pool, jobs, at}; deleted on Stop
//
// Vocabulary:
//   - admission: one admission of a workload (workload id, admission
//     number); a preempted or requeued workload comes back with the next
//     number. A runner runs an admission at most once.
//   - slot: room for one running job (Config.Slots; 0 = no limit). A job
//     holds its slot from the run command until its last report is out.
//     When all slots are held the runner stops pulling run commands.
//   - report: JobStarted, JobFinished, JobTimedOut, JobStopped, with ids
//     <workload>/<admission>/<what>; retried until published.
//   - output: the last Config.OutputMaxBytes of stdout and stderr,
//     interleaved as written, stored in the JOB_OUTPUT object store under
//     <workload>/<admission> (its own TTL and size); the reports carry the
//     last events.MaxLoggedOutput bytes only.
//
// A job is confined (sandbox.go, shim_linux.go): it runs as the job user
// (Config.User; never root), in a private directory made for it under
// Config.WorkDir (0700, the job user's, its HOME and TMPDIR) and removed
// when it ends, under resource limits (Config.Limits) that the runner's
// own binary, re-executed as the job user, sets before it executes the
// job's command. Its environment is made for it: PATH (a standard one),
// HOME, TMPDIR, USER, LOGNAME, PAVE_WORKLOAD_ID, PAVE_ADMISSION,
// PAVE_POOL, PAVE_RUNNER_ID, then the job's own variables, which win;
// nothing of the runner's. The command is looked up in that PATH; it is
// never run through a shell.
package runner
