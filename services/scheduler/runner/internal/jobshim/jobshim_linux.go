// Package jobshim is the start of every job a runner runs on Linux: the
// runner's own binary, re-executed as the job user with argv[0] Name,
// lowers its resource limits and then executes the job's command (the
// same process, so the pid, the process group and Pdeathsig stay). Go
// cannot set a child's limits between fork and exec, and prlimit on a
// process of another user needs CAP_SYS_RESOURCE, which containers often
// drop; a process may always lower its own limits.
//
// The hook runs from init because it must run before main in every binary
// that hosts a runner (pave, test binaries): a main that forgot to call it
// would run its own command line as the job. It lives in a package of its
// own that imports only the standard library's system packages, so that
// Go runs it before the heavy initialisation of the rest of the binary
// (JSON schemas, NATS, metrics: about 12 ms of a job's start, measured
// with GODEBUG=inittrace=1), which the job would only throw away.
// Executing the shim by hand only lowers the caller's own limits.
package jobshim

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	// Name is the shim's argv[0].
	Name = "pave-runner-job"
	// FD is the descriptor the runner's binary is passed on.
	FD = 3
)

func init() {
	if len(os.Args) < 2 || os.Args[0] != Name {
		return
	}
	err := run(os.Args[1:])
	os.Stderr.WriteString("pave runner: " + err.Error() + "\n")
	os.Exit(127)
}

// rlimits are the shim's flags.
var rlimits = map[string]int{
	"cpu": syscall.RLIMIT_CPU, "as": syscall.RLIMIT_AS, "nproc": unix.RLIMIT_NPROC, "nofile": syscall.RLIMIT_NOFILE,
}

type shimError string

func (e shimError) Error() string { return string(e) }

// run applies name=value limits, then executes what follows "--"
// (path, argv...). It returns only when that fails.
func run(args []string) error {
	i := slices.Index(args, "--")
	if i < 0 || len(args) < i+3 {
		return shimError("job shim: want limits -- path argv..., got " + strconv.Quote(strings.Join(args, " ")))
	}
	for _, a := range args[:i] {
		name, value, _ := strings.Cut(a, "=")
		res, ok := rlimits[name]
		n, err := strconv.ParseUint(value, 10, 64)
		if !ok || err != nil {
			return shimError("job shim: bad limit " + strconv.Quote(a))
		}
		if err := lower(res, n, name == "cpu"); err != nil {
			return shimError("job shim: limit " + name + ": " + err.Error())
		}
	}
	syscall.CloseOnExec(FD)
	path := args[i+1]
	err := syscall.Exec(path, args[i+2:], os.Environ())
	return shimError("exec " + path + ": " + err.Error())
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
