package localsrv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// PostgresConfig describes a local PostgreSQL server.
type PostgresConfig struct {
	// Dir is the data directory. It is initialised (trust auth, superuser
	// postgres) when it holds no PG_VERSION yet, so data survives restarts.
	Dir string
	// Port on 127.0.0.1; 0 picks a free port.
	Port int
	// SocketDir, when set, also serves a Unix socket there; empty means
	// TCP only, which avoids socket path length and permission trouble.
	SocketDir string
	// Fast turns off fsync, synchronous_commit and full_page_writes: data
	// may be lost on an OS crash. For tests only.
	Fast bool
}

// Postgres is a running PostgreSQL server.
type Postgres struct {
	port int
	proc *process
}

// StartPostgres initialises cfg.Dir if needed, runs postgres on 127.0.0.1
// and returns once it accepts connections. ctx bounds only the start; Stop
// ends the process.
//
// PostgreSQL refuses to run as root: as root it runs as the OS user
// "postgres", which must exist and be able to reach cfg.Dir.
func StartPostgres(ctx context.Context, cfg PostgresConfig) (*Postgres, error) {
	bins, err := findPostgres()
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	cred, err := serviceUser()
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if err := prepareDirs(cfg, cred); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if err := initdbOnce(ctx, bins.initdb, cfg, cred); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	var pg *Postgres
	err = startWithPortRetry(cfg.Port, func(port int) error {
		var err error
		pg, err = startPostgresOn(ctx, bins.postgres, cfg, port, cred)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	return pg, nil
}

func prepareDirs(cfg PostgresConfig, cred *syscall.Credential) error {
	dirs := []string{cfg.Dir}
	if cfg.SocketDir != "" {
		dirs = append(dirs, cfg.SocketDir)
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if cred == nil {
			continue
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
		if err := checkTraversable(filepath.Dir(dir), cred); err != nil {
			return err
		}
	}
	return nil
}

func initdbOnce(ctx context.Context, initdb string, cfg PostgresConfig, cred *syscall.Credential) error {
	if _, err := os.Stat(filepath.Join(cfg.Dir, "PG_VERSION")); err == nil {
		return nil
	}
	args := []string{"-D", cfg.Dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"}
	if cfg.Fast {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, initdb, args...)
	cmd.Dir = cfg.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb %s: %w\n%s", cfg.Dir, err, out)
	}
	return nil
}

func startPostgresOn(ctx context.Context, bin string, cfg PostgresConfig, port int, cred *syscall.Credential) (*Postgres, error) {
	args := []string{
		"-D", cfg.Dir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + cfg.SocketDir,
	}
	if cfg.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = cfg.Dir
	proc, err := startProcess(cmd, filepath.Join(cfg.Dir, "postgres.log"), cred)
	if err != nil {
		return nil, err
	}
	pg := &Postgres{port: port, proc: proc}
	if err := proc.waitReady(ctx, pg.probe); err != nil {
		_ = proc.stop(syscall.SIGKILL)
		return nil, err
	}
	return pg, nil
}

// URL is a libpq/pgx connection URL for the superuser and database
// "postgres".
func (p *Postgres) URL() string {
	return "postgres://postgres@" + p.Addr() + "/postgres?sslmode=disable"
}

// Addr is host:port of the TCP listener.
func (p *Postgres) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// Port is the TCP port postgres listens on.
func (p *Postgres) Port() int { return p.port }

// Stop shuts postgres down with SIGINT (fast shutdown: open sessions are
// ended, committed data is kept) and kills it if it does not exit in time.
// It is safe to call more than once.
func (p *Postgres) Stop() error {
	if err := p.proc.stop(syscall.SIGINT); err != nil {
		return fmt.Errorf("stop postgres: %w", err)
	}
	return nil
}
