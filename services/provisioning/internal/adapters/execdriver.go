package adapters

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// ExitTempFail (EX_TEMPFAIL) is the exit status by which a command says
// "try again later"; every other non-zero status is final.
const ExitTempFail = 75

// Exec runs a configured command per operation: the request as JSON on
// stdin, the answer as JSON on stdout (execAnswer). The command runs in
// its own process group, which is killed when the timeout passes, and
// sees only PATH, HOME and TMPDIR of this process's environment: never
// Pave's keys.
type Exec struct {
	argv    []string
	timeout time.Duration
}

var _ app.Driver = (*Exec)(nil)

// NewExec runs command, split on white space (no shell).
func NewExec(command string, timeout time.Duration) (*Exec, error) {
	argv := strings.Fields(command)
	if len(argv) == 0 {
		return nil, errors.New("exec command is empty")
	}
	if timeout <= 0 {
		return nil, errors.New("exec timeout must be > 0")
	}
	return &Exec{argv: argv, timeout: timeout}, nil
}

type execRequest struct {
	Action        string         `json:"action"` // provision, update, sanitize, deprovision, inventory
	ResourceID    string         `json:"resource_id,omitempty"`
	Name          string         `json:"name,omitempty"`
	EnvironmentID string         `json:"environment_id,omitempty"`
	Team          string         `json:"team,omitempty"`
	Class         string         `json:"class,omitempty"`
	Parameters    map[string]any `json:"parameters,omitempty"`
}

type execAnswer struct {
	ExternalIDs []string            `json:"external_ids,omitempty"`
	Outputs     map[string]string   `json:"outputs,omitempty"`
	Credentials *domain.Credentials `json:"credentials,omitempty"`
	// Existed answers deprovision; absent means true.
	Existed *bool `json:"existed,omitempty"`
	// Names answers inventory: the names of the objects it holds.
	Names []string `json:"names,omitempty"`
}

// Planned names the command's object.
func (e *Exec) Planned(id string) []string {
	return []string{domain.ExternalID("exec", domain.ObjectName(id))}
}

// Provision runs the command with action provision.
func (e *Exec) Provision(ctx context.Context, r domain.Resource) (domain.Result, error) {
	return e.apply(ctx, "provision", r)
}

// Update runs the command with action update.
func (e *Exec) Update(ctx context.Context, r domain.Resource) (domain.Result, error) {
	return e.apply(ctx, "update", r)
}

func (e *Exec) apply(ctx context.Context, action string, r domain.Resource) (domain.Result, error) {
	a, err := e.run(ctx, execRequest{Action: action, ResourceID: r.ID, Name: domain.ObjectName(r.ID),
		EnvironmentID: r.EnvironmentID, Team: r.Team, Class: r.Class, Parameters: r.Parameters})
	if err != nil {
		return domain.Result{}, err
	}
	return domain.Result{ExternalIDs: a.ExternalIDs, Outputs: a.Outputs, Credentials: a.Credentials}, nil
}

// Sanitize runs the command with action sanitize.
func (e *Exec) Sanitize(ctx context.Context, id string) error {
	_, err := e.run(ctx, execRequest{Action: "sanitize", ResourceID: id, Name: domain.ObjectName(id)})
	return err
}

// Deprovision runs the command with action deprovision.
func (e *Exec) Deprovision(ctx context.Context, id string) (bool, error) {
	a, err := e.run(ctx, execRequest{Action: "deprovision", ResourceID: id, Name: domain.ObjectName(id)})
	if err != nil {
		return false, err
	}
	return a.Existed == nil || *a.Existed, nil
}

// Inventory runs the command with action inventory.
func (e *Exec) Inventory(ctx context.Context) ([]string, error) {
	a, err := e.run(ctx, execRequest{Action: "inventory"})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, n := range a.Names {
		if strings.HasPrefix(n, domain.Prefix) {
			ids = append(ids, domain.ExternalID("exec", n))
		}
	}
	return ids, nil
}

// Remove deprovisions the resource an orphan's name encodes.
func (e *Exec) Remove(ctx context.Context, externalID string) error {
	id, err := domain.ResourceIDOf(externalID, "exec")
	if err != nil {
		return err
	}
	_, err = e.Deprovision(ctx, id)
	return err
}

func (e *Exec) run(ctx context.Context, req execRequest) (execAnswer, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return execAnswer{}, domain.Permanent(fmt.Errorf("exec %s: encode request: %w", req.Action, err))
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.argv[0], e.argv[1:]...)
	cmd.Env = minimalEnv()
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr limitedBuffer
	stdout.limit, stderr.limit = 1<<20, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// On timeout the whole group goes, so grandchildren do not linger.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		return execAnswer{}, fmt.Errorf("exec %s %s: killed after %s: %w", e.argv[0], req.Action, e.timeout, context.DeadlineExceeded)
	}
	if err != nil {
		return execAnswer{}, exitError(e.argv[0], req.Action, err, stderr.Tail(512))
	}
	var a execAnswer
	if out := bytes.TrimSpace(stdout.Bytes()); len(out) > 0 {
		if err := json.Unmarshal(out, &a); err != nil {
			return execAnswer{}, domain.Permanent(fmt.Errorf("exec %s %s: stdout is not a JSON answer: %w", e.argv[0], req.Action, err))
		}
	}
	return a, nil
}

func exitError(name, action string, err error, stderr string) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return domain.Permanent(fmt.Errorf("exec %s %s: %w", name, action, err)) // not found, not executable
	}
	e := fmt.Errorf("exec %s %s: exit status %d: %s", name, action, ee.ExitCode(), stderr)
	if ee.ExitCode() == ExitTempFail {
		return e
	}
	return domain.Permanent(e)
}

func minimalEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// limitedBuffer keeps the last limit bytes written: an answer too long
// for it fails to decode, and the end of stderr is what explains a failure.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if b.Len()+len(p) > b.limit {
		all := append(bytes.Clone(b.Bytes()), p...)
		b.Reset()
		b.Buffer.Write(all[max(0, len(all)-b.limit):])
		return n, nil
	}
	b.Buffer.Write(p)
	return n, nil
}

// Tail is the last n bytes, trimmed.
func (b *limitedBuffer) Tail(n int) string {
	s := b.Bytes()
	return strings.TrimSpace(string(s[max(0, len(s)-n):]))
}
