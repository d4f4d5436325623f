// Package localsrv runs real redis-server and PostgreSQL processes on
// loopback for `pave dev` and for the test kit, so development and tests
// use the same code path.
//
//	Start(ctx, cfg) ─ find binary ─ (initdb) ─ spawn in own process group ─ probe until ready
//	Stop()          ─ graceful signal ─ wait ─ SIGKILL the group after a timeout
//
// Vocabulary:
//   - process group: each server runs in its own group, so Stop also reaps
//     its children (postgres backends) and a terminal Ctrl-C reaches only
//     the parent, which then stops the servers in order.
//   - parent-death signal: a server is killed when the process that started
//     it dies, so a crashed test binary leaves no servers behind.
//   - Fast: PostgreSQL with fsync, synchronous_commit and full_page_writes
//     off. Data does not survive an OS crash; meant for tests only.
//
// A missing binary is reported as an error wrapping [ErrNotInstalled] with
// the Debian package that provides it.
package localsrv
