package localsrv

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RedisConfig describes a local redis-server.
type RedisConfig struct {
	// Dir holds the log and, with AppendOnly, the data. Created if missing.
	Dir string
	// Port on 127.0.0.1; 0 picks a free port.
	Port int
	// AppendOnly turns on the append-only file (fsync every second), so
	// data survives a restart on the same Dir. Off, nothing is persisted.
	AppendOnly bool
	// ACLFile keeps ACL users in Dir/users.acl: `ACL SAVE` writes it and a
	// restart loads it, so provisioned users survive like the data does.
	ACLFile bool
	// Password, when set, is the default user's: a client must AUTH
	// before any command. It goes to the server in a file (0600), never
	// on its command line.
	Password string
}

// Redis is a running redis-server process.
type Redis struct {
	port     int
	proc     *process
	password string
}

// StartRedis runs redis-server on 127.0.0.1 and returns once it answers
// PING. ctx bounds only the start; Stop ends the process.
func StartRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	bin, err := findRedis()
	if err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	var r *Redis
	err = startWithPortRetry(cfg.Port, func(port int) error {
		var err error
		r, err = startRedisOn(ctx, bin, dir, port, cfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	return r, nil
}

func startRedisOn(ctx context.Context, bin, dir string, port int, cfg RedisConfig) (*Redis, error) {
	var args []string
	if cfg.Password != "" && !cfg.ACLFile {
		conf := filepath.Join(dir, "pave-redis.conf")
		if err := os.WriteFile(conf, []byte("requirepass "+strconv.Quote(cfg.Password)+"\n"), 0o600); err != nil {
			return nil, err
		}
		args = append(args, conf)
	}
	args = append(args,
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--dir", dir,
		"--save", "",
		"--appendonly", yesNo(cfg.AppendOnly),
		"--daemonize", "no",
		"--logfile", "",
	)
	if cfg.ACLFile {
		acl := filepath.Join(dir, "users.acl")
		if err := ensureACLFile(acl, cfg.Password); err != nil {
			return nil, err
		}
		args = append(args, "--aclfile", acl)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	proc, err := startProcess(cmd, filepath.Join(dir, "redis.log"), nil)
	if err != nil {
		return nil, err
	}
	r := &Redis{port: port, proc: proc, password: cfg.Password}
	if err := proc.waitReady(ctx, r.ping); err != nil {
		_ = proc.stop(syscall.SIGKILL)
		return nil, err
	}
	return r, nil
}

// ping sends an inline PING; a loading server answers -LOADING instead.
func (r *Redis) ping(ctx context.Context) error {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", r.Addr())
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	rd := bufio.NewReader(conn)
	if r.password != "" {
		if _, err := conn.Write(respCommand("AUTH", r.password)); err != nil {
			return err
		}
		line, err := rd.ReadString('\n')
		if err != nil {
			return err
		}
		if reply := strings.TrimSpace(line); reply != "+OK" {
			return fmt.Errorf("auth: %s", reply)
		}
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := rd.ReadString('\n')
	if err != nil {
		return err
	}
	if reply := strings.TrimSpace(line); reply != "+PONG" {
		return fmt.Errorf("ping: %s", reply)
	}
	return nil
}

// Addr is host:port for redis clients.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is the redis:// URL of database 0, with the default user's
// password when there is one.
func (r *Redis) URL() string {
	u := url.URL{Scheme: "redis", Host: r.Addr(), Path: "/0"}
	if r.password != "" {
		u.User = url.UserPassword("default", r.password)
	}
	return u.String()
}

// respCommand is one command in the RESP protocol.
func respCommand(args ...string) []byte {
	out := []byte(fmt.Sprintf("*%d\r\n", len(args)))
	for _, a := range args {
		out = append(out, fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)...)
	}
	return out
}

// ensureACLFile makes the ACL file exist (0600) and, with a password,
// makes its default user need it: the line for "default" is replaced by
// one with the password's SHA-256, and every other user is kept.
func ensureACLFile(path, password string) error {
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if password == "" {
		if err == nil {
			return nil
		}
		return os.WriteFile(path, nil, 0o600)
	}
	sum := sha256.Sum256([]byte(password))
	lines := []string{"user default on #" + hex.EncodeToString(sum[:]) + " ~* &* +@all"}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) == 0 || (len(f) >= 2 && f[0] == "user" && f[1] == "default") {
			continue
		}
		lines = append(lines, l)
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// Port is the TCP port redis listens on.
func (r *Redis) Port() int { return r.port }

// Stop shuts redis down with SIGTERM and kills it if it does not exit in
// time. It is safe to call more than once.
func (r *Redis) Stop() error {
	if err := r.proc.stop(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop redis: %w", err)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
