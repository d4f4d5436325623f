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
	"sync"
	"sync/atomic"
	"time"

	"github.com/pave-platform/pave/pkg/events"
)

// spool is the runner's durable memory on its own disk (issue 15):
//
//   - reports/ holds each report NATS did not take at the first attempt
//     (a full EVT_RUNNER, NATS down) until it does, across the runner's
//     own restart: the next start publishes what is left, in order, with
//     the report's own id (the stream drops a repeat);
//   - ran.log lists the admissions the runner started, one line each, so
//     that a run command delivered again after a restart (its ack was
//     lost, or the scheduler dispatched it again) never runs the job a
//     second time. It holds the last ranKeep admissions: when it is full
//     it becomes ran.old and a new one starts.
//
// The directory is the runner's alone (0700): jobs run as another user
// and cannot reach it.
type spool struct {
	dir string
	seq atomic.Uint64

	mu   sync.Mutex
	ran  map[events.RunnerJobRef]bool // both files' admissions
	cur  *os.File                     // ran.log, appended
	n    int                          // lines in ran.log
	keep int
}

// spooled is one report waiting in the spool.
type spooled struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	path string
}

func openSpool(dir string) (*spool, error) {
	for _, sub := range []string{"reports"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("runner spool: %w", err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("runner spool: %w", err)
	}
	now := time.Now()
	_ = os.Chtimes(dir, now, now) // in use: sweepSpools keeps it

	s := &spool{dir: dir, keep: ranKeep}
	s.seq.Store(uint64(time.Now().UnixNano()))
	if err := s.loadRan(); err != nil {
		return nil, err
	}
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

// ranKeep is how many admissions ran.log holds before it is rotated;
// with ran.old, the runner remembers between ranKeep and twice as many.
const ranKeep = 100_000

// loadRan reads ran.old and ran.log and opens ran.log for appending.
func (s *spool) loadRan() error {
	s.ran = map[events.RunnerJobRef]bool{}
	for _, name := range []string{"ran.old", "ran.log"} {
		raw, err := os.ReadFile(filepath.Join(s.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("runner spool: %w", err)
		}
		lines := strings.Split(string(raw), "\n")
		for _, l := range lines {
			id, adm, ok := strings.Cut(l, " ")
			n, err := strconv.Atoi(adm)
			if ok && err == nil {
				s.ran[events.RunnerJobRef{WorkloadID: id, Admission: n}] = true
				if name == "ran.log" {
					s.n++
				}
			}
		}
	}
	f, err := os.OpenFile(filepath.Join(s.dir, "ran.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("runner spool: %w", err)
	}
	s.cur = f
	return nil
}

// markRun records that the runner starts ref; false when it did before.
func (s *spool) markRun(ref events.RunnerJobRef) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ran[ref] {
		return false, nil
	}
	if s.n >= s.keep {
		if err := s.rotate(); err != nil {
			return false, err
		}
	}
	if _, err := s.cur.WriteString(ref.WorkloadID + " " + strconv.Itoa(ref.Admission) + "\n"); err != nil {
		return false, fmt.Errorf("runner spool: %w", err)
	}
	s.ran[ref] = true
	s.n++
	return true, nil
}

// rotate makes ran.log ran.old and starts a new ran.log; the admissions
// of the old ran.old are forgotten.
func (s *spool) rotate() error {
	_ = s.cur.Close()
	if err := os.Rename(filepath.Join(s.dir, "ran.log"), filepath.Join(s.dir, "ran.old")); err != nil {
		return fmt.Errorf("runner spool: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.dir, "ran.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("runner spool: %w", err)
	}
	s.cur, s.n = f, 0
	// Rebuild the set from ran.old alone: what it does not hold is gone.
	raw, err := os.ReadFile(filepath.Join(s.dir, "ran.old"))
	if err != nil {
		return fmt.Errorf("runner spool: %w", err)
	}
	s.ran = map[events.RunnerJobRef]bool{}
	for _, l := range strings.Split(string(raw), "\n") {
		id, adm, ok := strings.Cut(l, " ")
		if n, err := strconv.Atoi(adm); ok && err == nil {
			s.ran[events.RunnerJobRef{WorkloadID: id, Admission: n}] = true
		}
	}
	return nil
}

// close closes ran.log.
func (s *spool) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		_ = s.cur.Close()
		s.cur = nil
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
