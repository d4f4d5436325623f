package localsrv

import (
	"bufio"
	"context"
	"fmt"
	"net"
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
}

// Redis is a running redis-server process.
type Redis struct {
	port int
	proc *process
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
	args := []string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--dir", dir,
		"--save", "",
		"--appendonly", yesNo(cfg.AppendOnly),
		"--daemonize", "no",
		"--logfile", "",
	}
	if cfg.ACLFile {
		acl := filepath.Join(dir, "users.acl")
		f, err := os.OpenFile(acl, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, err
		}
		f.Close()
		args = append(args, "--aclfile", acl)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	proc, err := startProcess(cmd, filepath.Join(dir, "redis.log"), nil)
	if err != nil {
		return nil, err
	}
	r := &Redis{port: port, proc: proc}
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
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
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

// URL is the redis:// URL of database 0.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

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
