package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pave-platform/pave/pkg/events"
)

// spool is the runner's durable memory on its own disk (issue 15):
//
//   - reports/ holds every report until NATS has taken it, so that a
//     report survives a full EVT_RUNNER, NATS being down and the runner's
//     own restart; the next start publishes what is left, in order, with
//     the report's own id (the stream drops a repeat);
//   - ran/ marks each admission the runner started, so that a run command
//     delivered again after a restart (its ack was lost, or the scheduler
//     dispatched it again) never runs the job a second time.
//
// The directory is the runner's alone (0700): jobs run as another user
// and cannot reach it. Marks older than the retention are swept.
type spool struct {
	dir string
	seq atomic.Uint64
}

// spooled is one report waiting in the spool.
type spooled struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	path string
}

func openSpool(dir string) (*spool, error) {
	for _, sub := range []string{"reports", "ran"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("runner spool: %w", err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("runner spool: %w", err)
	}
	now := time.Now()
	_ = os.Chtimes(dir, now, now) // in use: sweepSpools keeps it

	s := &spool{dir: dir}
	s.seq.Store(uint64(time.Now().UnixNano()))
	return s, nil
}

// put keeps a report until done is called with the path it returns.
func (s *spool) put(id, eventType string, data any) (string, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	rec, err := json.Marshal(spooled{ID: id, Type: eventType, Data: raw})
	if err != nil {
		return "", err
	}
	// Names sort in the order the reports were made.
	name := fmt.Sprintf("%020d-%s.json", s.seq.Add(1), fileSafe(id))
	path := filepath.Join(s.dir, "reports", name)
	if err := writeAtomically(path, rec); err != nil {
		return "", fmt.Errorf("runner spool: %w", err)
	}
	return path, nil
}

// done forgets a published report.
func (s *spool) done(path string) {
	if path != "" {
		_ = os.Remove(path)
	}
}

// pending lists the reports left by an earlier run, oldest first.
func (s *spool) pending() ([]spooled, error) {
	dir := filepath.Join(s.dir, "reports")
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("runner spool: %w", err)
	}
	var out []spooled
	for _, n := range names {
		if n.IsDir() || !strings.HasSuffix(n.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, n.Name())
		raw, err := os.ReadFile(path)
		var r spooled
		if err == nil {
			err = json.Unmarshal(raw, &r)
		}
		if err != nil || r.ID == "" {
			_ = os.Remove(path) // a torn write: the report was never handed over
			continue
		}
		r.path = path
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b spooled) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

// markRun records that the runner starts ref; false when it did before.
func (s *spool) markRun(ref events.RunnerJobRef) (bool, error) {
	f, err := os.OpenFile(s.ranPath(ref), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("runner spool: %w", err)
	}
	return true, f.Close()
}

func (s *spool) ranPath(ref events.RunnerJobRef) string {
	return filepath.Join(s.dir, "ran", fileSafe(ref.WorkloadID)+"."+strconv.Itoa(ref.Admission))
}

// sweep removes the marks older than retention.
func (s *spool) sweep(retention time.Duration) {
	dir := filepath.Join(s.dir, "ran")
	names, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-retention)
	for _, n := range names {
		if info, err := n.Info(); err == nil && info.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(dir, n.Name()))
		}
	}
}

// fileSafe keeps letters, digits, '.', '_' and '-' (what a workload id
// may hold) and writes anything else as %XX.
func fileSafe(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c == '.' || c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func writeAtomically(path string, raw []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// sweepSpools removes the spools of platforms not seen for retention.
func sweepSpools(root string, retention time.Duration) {
	names, err := os.ReadDir(root)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-retention)
	for _, n := range names {
		if info, err := n.Info(); err == nil && n.IsDir() && info.ModTime().Before(cutoff) {
			_ = os.RemoveAll(filepath.Join(root, n.Name()))
		}
	}
}
