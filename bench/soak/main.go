// Command soak is a compressed soak of one `pave dev` process, through its
// public API only: environment lifecycles (create, ready, delete) and jobs,
// with the audit ledger's segment size and retention scaled down so that
// it rolls into the archive several times. At 10 %, 50 % and 100 % of the
// run it prints RESULT lines: stored bytes per stream and bucket (the
// JetStream store on disk), the process's RSS, the time `pave audit
// verify` takes (and that it passes), and restart-to-ready time.
//
//	go run ./bench/soak [-envs 100] [-jobs 800] [-workers 4] [-audit-segment 100]
//
// Not measured: scheduler failover (one process holds the only scheduler).
// Event-stream windows cannot be scaled below PAVE_EVENT_RETENTION's 1 h
// minimum, so in a run of minutes only AUDIT rolls over.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	envs := flag.Int("envs", 100, "environment lifecycles (the issue's 100,000, scaled down)")
	jobs := flag.Int("jobs", 800, "jobs (the issue's 1,000,000, scaled down)")
	segment := flag.Int("audit-segment", 100, "records per audit segment (PAVE_AUDIT_SEGMENT_RECORDS)")
	workers := flag.Int("workers", 4, "concurrent clients")
	pave := flag.String("pave", "", "the pave binary (default: built from ./cmd/pave)")
	keep := flag.Bool("keep", false, "keep the data folder")
	flag.Parse()
	scaled["PAVE_AUDIT_SEGMENT_RECORDS"] = strconv.Itoa(*segment)
	if err := run(*envs, *jobs, *workers, *pave, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// scaled are the windows the soak shrinks so that they roll over.
var scaled = map[string]string{
	"PAVE_AUDIT_RETENTION":        "15s",
	"PAVE_AUDIT_ARCHIVE_INTERVAL": "2s",
	"PAVE_LOG_LEVEL":              "warn",
	"PAVE_RATE_LIMIT_PER_MINUTE":  "0",
	"PAVE_NATS_EMBEDDED_ADDR":     "127.0.0.1:0",
}

func run(envs, jobs, workers int, paveBin string, keep bool) error {
	dir, err := os.MkdirTemp("", "pave-soak-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	// pave dev runs PostgreSQL as its own user when root: it must reach the data folder.
	if err := os.Chmod(dir, 0o711); err != nil {
		return err
	}
	if paveBin == "" {
		paveBin = filepath.Join(dir, "pave")
		build := exec.Command("go", "build", "-o", paveBin, "./cmd/pave")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build pave: %w", err)
		}
	}
	keys := make([]string, 0, len(scaled))
	for k := range scaled {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var env []string
	for _, k := range keys {
		env = append(env, k+"="+scaled[k])
	}
	fmt.Printf("soak: scale %d environment lifecycles (redis-cache) and %d jobs, %d clients; %s\n", envs, jobs, workers, strings.Join(env, " "))
	p := &proc{bin: paveBin, data: filepath.Join(dir, "data"), env: env}
	if _, err := p.start(); err != nil {
		return err
	}
	defer p.stop()
	c := &client{base: p.base, token: p.token(), hc: &http.Client{Timeout: 60 * time.Second}}
	if _, err := c.do(http.MethodPost, "/v1/teams", map[string]any{"name": "soak"}, http.StatusCreated, http.StatusConflict); err != nil {
		return err
	}
	total := envs + jobs
	marks := []int{total / 10, total / 2, total}
	var done, stuck atomic.Int64
	next := 0
	start := time.Now()
	for _, pct := range []int{10, 50, 100} {
		upTo := marks[next]
		next++
		if err := drive(c, &done, &stuck, upTo, envs, total, workers); err != nil {
			return err
		}
		if err := report(p, c, pct, int(done.Load()), int(stuck.Load()), time.Since(start)); err != nil {
			return err
		}
	}
	return nil
}

// drive runs operations until upTo of total are done; environments and
// jobs interleave so every share of the run has both.
func drive(c *client, done, stuck *atomic.Int64, upTo, envs, total, workers int) error {
	var wg sync.WaitGroup
	var firstErr atomic.Value
	var claim atomic.Int64
	claim.Store(done.Load())
	for range workers {
		wg.Go(func() {
			for {
				i := int(claim.Add(1)) - 1
				if i >= upTo {
					return
				}
				var err error
				if i*envs/total != (i+1)*envs/total {
					err = c.lifecycle(i)
				} else {
					err = c.job(i)
				}
				if errors.Is(err, errStuck) {
					stuck.Add(1)
				} else if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return nil
}

// report prints the figures at one share of the run.
func report(p *proc, c *client, pct, done, stuck int, elapsed time.Duration) error {
	name := func(s string) string { return fmt.Sprintf("soak_p%d_%s", pct, s) }
	fmt.Printf("RESULT %s %d ops\n", name("done"), done)
	fmt.Printf("RESULT %s %d ops\n", name("stuck"), stuck)
	fmt.Printf("RESULT %s %.1f s\n", name("elapsed"), elapsed.Seconds())
	sizes, err := storeSizes(p.data)
	if err != nil {
		return err
	}
	for _, s := range sortedKeys(sizes) {
		fmt.Printf("RESULT %s %d bytes\n", name("stored_"+s), sizes[s])
	}
	fmt.Printf("RESULT %s %d bytes\n", name("rss"), rss(p.cmd.Process.Pid))
	t := time.Now()
	var rep struct {
		OK       bool `json:"ok"`
		Records  int  `json:"records"`
		Segments int  `json:"segments"`
		Archived int  `json:"archived"`
		Broken   any  `json:"broken"`
	}
	raw, err := c.do(http.MethodGet, "/v1/audit/verify", nil, http.StatusOK)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return err
	}
	fmt.Printf("RESULT %s %.3f s\n", name("audit_verify"), time.Since(t).Seconds())
	fmt.Printf("RESULT %s %d records\n", name("audit_records"), rep.Records)
	fmt.Printf("RESULT %s %d records\n", name("audit_archived"), rep.Archived)
	fmt.Printf("RESULT %s %d segments\n", name("audit_segments"), rep.Segments)
	if !rep.OK {
		return fmt.Errorf("audit verify failed at %d%%: %v", pct, rep.Broken)
	}
	ready, err := p.restart()
	if err != nil {
		return err
	}
	c.token = p.token()
	c.base = p.base
	fmt.Printf("RESULT %s %.3f s\n", name("restart_to_ready"), ready.Seconds())
	return nil
}

var errStuck = errors.New("did not settle")

// lifecycle creates a redis-cache environment, waits for ready, deletes
// it and waits until it is gone.
func (c *client) lifecycle(i int) error {
	raw, err := c.do(http.MethodPost, "/v1/environments", map[string]any{"team": "soak", "name": fmt.Sprintf("e%d", i),
		"template": "redis-cache", "stage": "dev"}, http.StatusAccepted, http.StatusCreated)
	if err != nil {
		return err
	}
	var acc struct {
		Environment struct {
			ID string `json:"id"`
		} `json:"environment"`
	}
	if err := json.Unmarshal(raw, &acc); err != nil || acc.Environment.ID == "" {
		return fmt.Errorf("create: no environment id in %s", raw)
	}
	path := "/v1/environments/" + acc.Environment.ID
	if err := c.until(path, "ready", "failed"); err != nil {
		return err
	}
	if _, err := c.do(http.MethodDelete, path, nil, http.StatusAccepted, http.StatusOK); err != nil {
		return err
	}
	return c.until(path, "deleted", "compensation_failed")
}

// job submits a job that prints 2 KiB and waits for it to end.
func (c *client) job(i int) error {
	raw, err := c.do(http.MethodPost, "/v1/workloads", map[string]any{"team": "soak", "pool": "batch", "kind": "job",
		"demand": map[string]any{"cpu": 100, "memory": 64},
		"job":    map[string]any{"command": "sh", "args": []string{"-c", "head -c 2048 /dev/zero | tr '\\0' x"}}},
		http.StatusAccepted, http.StatusCreated)
	if err != nil {
		return err
	}
	var w struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &w); err != nil || w.ID == "" {
		return fmt.Errorf("submit: no workload id in %s", raw)
	}
	return c.until("/v1/workloads/"+w.ID, "finished", "failed", "cancelled")
}

// until polls path (backing off to 1 s) until its state is one of want
// (the first is success) or 404 when want is deleted; 3 minutes at most.
func (c *client) until(path string, want ...string) error {
	wait := 50 * time.Millisecond
	deadline := time.Now().Add(3 * time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		raw, err := c.do(http.MethodGet, path, nil, http.StatusOK, http.StatusNotFound)
		if err != nil {
			return err
		}
		var v struct {
			State string `json:"state"`
		}
		_ = json.Unmarshal(raw, &v)
		if v.State == "" && want[0] == "deleted" {
			return nil // 404: gone
		}
		last = v.State
		for i, w := range want {
			if v.State == w {
				if i > 0 {
					return fmt.Errorf("%s ended %s: %w", path, w, errStuck)
				}
				return nil
			}
		}
		time.Sleep(wait) // polling the public API; backs off
		wait = min(wait*2, time.Second)
	}
	return fmt.Errorf("%s still %q after 3 minutes: %w", path, last, errStuck)
}

type client struct {
	base, token string
	hc          *http.Client
}

func (c *client) do(method, path string, body any, ok ...int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequest(method, c.base+path, rd)
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, s := range ok {
			if resp.StatusCode == s {
				return raw, nil
			}
		}
		if (resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests) && attempt < 30 {
			time.Sleep(time.Second) // the scheduler electing, a stream filling: retry
			if body != nil {
				b, _ := json.Marshal(body)
				rd = bytes.NewReader(b)
			}
			continue
		}
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
}

// proc is the pave dev process.
type proc struct {
	bin, data, base string
	env             []string
	cmd             *exec.Cmd
	exited          chan struct{}
}

func (p *proc) start() (time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	p.base = "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(p.bin, "dev", "--data", p.data, "--addr", "127.0.0.1:"+strconv.Itoa(port))
	cmd.Env = append(os.Environ(), p.env...)
	log, err := os.OpenFile(p.data+".log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	t := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return 0, fmt.Errorf("pave dev exited before it was ready (log: %s.log)", p.data)
		default:
		}
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(t), nil
			}
		}
		time.Sleep(50 * time.Millisecond) // polling readiness
	}
	return 0, fmt.Errorf("pave dev not ready after 3 minutes (log: %s.log)", p.data)
}

func (p *proc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

func (p *proc) restart() (time.Duration, error) {
	p.stop()
	return p.start()
}

func (p *proc) token() string {
	raw, _ := os.ReadFile(filepath.Join(p.data, "token"))
	return strings.TrimSpace(string(raw))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// storeSizes sums the files of each stream in the JetStream store
// (KV buckets are KV_<bucket>, object stores OBJ_<bucket>).
func storeSizes(data string) (map[string]int64, error) {
	out := map[string]int64{}
	root := filepath.Join(data, "jetstream")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		parts := strings.Split(rel, string(filepath.Separator))
		for i := 0; i+1 < len(parts); i++ {
			if parts[i] == "streams" {
				if info, err := d.Info(); err == nil {
					out[parts[i+1]] += info.Size()
				}
				break
			}
		}
		return nil
	})
	return out, err
}

// rss is the process's resident set, from /proc (0 where there is none).
func rss(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
