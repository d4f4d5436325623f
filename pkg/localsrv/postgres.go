package localsrv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
	// Password, when set, is the superuser's: every login then needs a
	// password (scram-sha-256), over TCP and the socket alike. A data
	// directory made with trust before is switched over at start.
	Password string
}

// Postgres is a running PostgreSQL server.
type Postgres struct {
	port     int
	proc     *process
	password string
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
	fresh, err := initdbOnce(ctx, bins.initdb, cfg, cred)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if cfg.Password != "" {
		if err := requirePassword(ctx, bins.postgres, cfg, cred, !fresh); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
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

// initdbOnce initialises cfg.Dir unless it holds a cluster already, and
// says whether it did.
func initdbOnce(ctx context.Context, initdb string, cfg PostgresConfig, cred *syscall.Credential) (bool, error) {
	if _, err := os.Stat(filepath.Join(cfg.Dir, "PG_VERSION")); err == nil {
		return false, nil
	}
	args := []string{"-D", cfg.Dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"}
	if cfg.Fast {
		args = append(args, "--no-sync")
	}
	var pwfile string
	if cfg.Password != "" {
		// initdb reads the password from a file; it lives in cfg.Dir's
		// parent only for the call (initdb wants an empty cfg.Dir).
		f, err := os.CreateTemp(filepath.Dir(cfg.Dir), ".pgpass-*")
		if err != nil {
			return false, err
		}
		pwfile = f.Name()
		defer os.Remove(pwfile)
		_, werr := f.WriteString(cfg.Password + "\n")
		if cerr := f.Close(); werr != nil || cerr != nil {
			return false, errors.Join(werr, cerr)
		}
		if cred != nil {
			if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
				return false, err
			}
		}
		args = append(args, "--pwfile="+pwfile, "--auth=scram-sha-256")
		args = slices.DeleteFunc(args, func(a string) bool { return a == "-A" || a == "trust" })
	}
	cmd := exec.CommandContext(ctx, initdb, args...)
	cmd.Dir = cfg.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("initdb %s: %w\n%s", cfg.Dir, err, out)
	}
	return true, nil
}

// pgHBA is the client authentication of a server with a password: every
// connection, local or over TCP, logs in with scram-sha-256.
const pgHBA = `# Written by Pave: every login needs its password.
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
host  all all ::1/128 scram-sha-256
`

// requirePassword sets the superuser's password (in single-user mode,
// which needs no login, for a cluster made before: setPassword) and makes
// pg_hba.conf ask every client for a password.
func requirePassword(ctx context.Context, bin string, cfg PostgresConfig, cred *syscall.Credential, setPassword bool) error {
	if setPassword {
		sql := "ALTER ROLE postgres PASSWORD '" + strings.ReplaceAll(cfg.Password, "'", "''") + "';\n"
		cmd := exec.CommandContext(ctx, bin, "--single", "-D", cfg.Dir, "postgres")
		cmd.Dir = cfg.Dir
		cmd.Stdin = strings.NewReader(sql) // not on the command line, where ps shows it
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil || bytes.Contains(out, []byte("ERROR")) {
			return fmt.Errorf("set the superuser's password in %s: %v\n%s", cfg.Dir, err, bytes.ReplaceAll(out, []byte(cfg.Password), []byte("***")))
		}
	}
	hba := filepath.Join(cfg.Dir, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte(pgHBA), 0o600); err != nil {
		return err
	}
	if cred != nil {
		return os.Chown(hba, int(cred.Uid), int(cred.Gid))
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
	pg := &Postgres{port: port, proc: proc, password: cfg.Password}
	if err := proc.waitReady(ctx, pg.probe); err != nil {
		_ = proc.stop(syscall.SIGKILL)
		return nil, err
	}
	return pg, nil
}

// URL is a libpq/pgx connection URL for the superuser and database
// "postgres".
func (p *Postgres) URL() string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: p.Addr(), Path: "/postgres", RawQuery: "sslmode=disable"}
	if p.password != "" {
		u.User = url.UserPassword("postgres", p.password)
	}
	return u.String()
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
