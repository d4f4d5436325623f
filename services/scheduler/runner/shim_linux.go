package runner

import (
	"fmt"
	"os"
	"strconv"

	"github.com/pave-platform/pave/services/scheduler/runner/internal/jobshim"
)

// A job starts through the runner's own binary, re-executed as the job
// user: see package jobshim, which holds the hook and its reasons.
const (
	shimName = jobshim.Name
	shimFD   = jobshim.FD
)

// shimArgs are the flags for the job's limits; a negative limit is none.
func shimArgs(l Limits) []string {
	var args []string
	add := func(name string, v int64) {
		if v > 0 {
			args = append(args, name+"="+strconv.FormatInt(v, 10))
		}
	}
	add("cpu", int64(max(l.CPU.Seconds(), 0)))
	add("as", l.MemoryMiB<<20)
	add("nproc", l.Procs)
	add("nofile", l.Files)
	return args
}

// wrap turns the job's command into the shim's: the binary to start, its
// argv and the file that must be the child's fd 3. The caller closes the
// file once the child has started.
func wrap(path string, argv []string, l Limits) (string, []string, *os.File, error) {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return "", nil, nil, fmt.Errorf("job shim: %w", err)
	}
	args := append([]string{shimName}, shimArgs(l)...)
	args = append(append(args, "--", path), argv...)
	return "/proc/self/fd/" + strconv.Itoa(shimFD), args, exe, nil
}
