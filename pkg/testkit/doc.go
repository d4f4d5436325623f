// Package testkit starts real servers for integration tests: embedded
// NATS JetStream (single or a route cluster in this process), and
// redis-server and PostgreSQL processes through [localsrv], the same code
// `pave dev` uses. Everything it starts is stopped by t.Cleanup.
//
//	NATS(t)           ─ embedded JetStream, free port, t.TempDir() store ─ Restart keeps port and data
//	NATSCluster(t, 3) ─ three servers routed to each other ─ waits for a meta leader and all peers
//	Redis(t)          ─ redis-server on a free port
//	Postgres(t)       ─ initdb + postgres (Fast: no fsync) on a free port
//
// A missing redis-server or postgres binary skips the test with an install
// hint; with PAVE_REQUIRE_SERVERS=1 (set in CI) it fails it instead.
//
// Under root, PostgreSQL runs as the OS user "postgres"; [PostgresDir]
// returns a temporary directory that user can reach.
package testkit
