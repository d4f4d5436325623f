package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// usageError is a command used wrongly: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// Exit codes.
const (
	exitFailure  = 1
	exitUsage    = 2
	exitNotFound = 3
)

// exitCode is 2 for a usage error, 3 for an answer 404, 1 otherwise.
func exitCode(err error) int {
	var ue *usageError
	var ae *apiError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return exitNotFound
	}
	return exitFailure
}

// parseFlags parses args with flags allowed between and after the
// arguments (pave env get ID -o json); everything after "--" is an
// argument. -h prints the flag set's usage and returns flag.ErrHelp; a
// bad flag is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	help := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = help }()
	var rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], append([]string{}, args[i+1:]...)
			break
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help()
				return nil, err
			}
			return nil, &usageError{msg: cmdName(fs) + ": " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return append(pos, rest...), nil
}

// newFlagSet is a flag set whose -h prints usage, then the flags, to
// stdout, and whose errors print nothing: main prints the error once.
func newFlagSet(name, usage string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprint(stdout, usage)
		fmt.Fprintln(stdout, "\nFlags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// cmdName is the command without "pave ", for messages main prefixes
// with "pave: ".
func cmdName(fs *flag.FlagSet) string { return strings.TrimPrefix(fs.Name(), "pave ") }
