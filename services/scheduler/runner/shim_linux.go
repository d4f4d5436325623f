package runner

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A job starts through the runner's own binary, re-executed as the job
// user with argv[0] shimName: it lowers its resource limits and then
// executes the job's command (the same process, so the pid, the process
// group and Pdeathsig stay). Go cannot set a child's limits between fork
// and exec, and prlimit on a process of another user needs
// CAP_SYS_RESOURCE, which containers often drop; a process may always
// lower its own limits. The binary is passed as an open file (fd 3), so
// the job user needs no access to the directory the binary lives in.
//
// The hook runs from init because it must run before main in every binary
// that hosts a runner (pave, test binaries): a main that forgot to call it
// would run its own command line as the job. Executing the shim by hand
// only lowers the caller's own limits.
const (
	shimName = "pave-runner-job"
	shimFD   = 3
)

func init() {
	if len(os.Args) < 2 || os.Args[0] != shimName {
		return
	}
	err := runShim(os.Args[1:])
	fmt.Fprintf(os.Stderr, "pave runner: %v\n", err)
	os.Exit(127)
}

// rlimits are the shim's flags.
var rlimits = map[string]int{
	"cpu": syscall.RLIMIT_CPU, "as": syscall.RLIMIT_AS, "nproc": unix.RLIMIT_NPROC, "nofile": syscall.RLIMIT_NOFILE,
}

// runShim applies name=value limits, then executes what follows "--"
// (path, argv...). It returns only when that fails.
func runShim(args []string) error {
	i := slices.Index(args, "--")
	if i < 0 || len(args) < i+3 {
		return fmt.Errorf("job shim: want limits -- path argv..., got %q", args)
	}
	for _, a := range args[:i] {
		name, value, _ := strings.Cut(a, "=")
		res, ok := rlimits[name]
		n, err := strconv.ParseUint(value, 10, 64)
		if !ok || err != nil {
			return fmt.Errorf("job shim: bad limit %q", a)
		}
		if err := lower(res, n, name == "cpu"); err != nil {
			return fmt.Errorf("job shim: limit %s: %w", name, err)
		}
	}
	syscall.CloseOnExec(shimFD)
	path := args[i+1]
	return fmt.Errorf("exec %s: %w", path, syscall.Exec(path, args[i+2:], os.Environ()))
}

// lower sets the limit to n, never above what the process may have. The
// CPU limit's hard value is a second later, so the job gets SIGXCPU first.
func lower(res int, n uint64, cpu bool) error {
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(res, &cur); err != nil {
		return err
	}
	hard := n
	if cpu {
		hard = n + 1
	}
	lim := syscall.Rlimit{Cur: min(n, cur.Max), Max: min(hard, cur.Max)}
	return syscall.Setrlimit(res, &lim)
}

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
