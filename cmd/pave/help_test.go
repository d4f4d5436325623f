package main

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// word is a command or subcommand name in a usage line (placeholders are
// upper case, flags start with a dash).
var word = regexp.MustCompile(`^[a-z][a-z-]*$`)

// subcommands reads the usage text of `pave cmd`: each line "pave cmd SUB
// ..." names SUB, "| SUB" an alternative, and "pave cmd SUB SUB2" a
// nested one (access reviews create).
func subcommands(cmd, help string) [][]string {
	var out [][]string
	add := func(path ...string) {
		if !slices.ContainsFunc(out, func(p []string) bool { return slices.Equal(p, path) }) {
			out = append(out, path)
		}
	}
	for _, line := range strings.Split(help, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "pave" || f[1] != cmd || !word.MatchString(f[2]) {
			continue
		}
		add(f[2])
		if len(f) > 3 && word.MatchString(f[3]) {
			add(f[2], f[3])
		}
		for i := 3; i+1 < len(f); i++ {
			if f[i] == "|" && word.MatchString(f[i+1]) {
				if len(f) > 3 && word.MatchString(f[3]) {
					add(f[2], f[i+1]) // pave access reviews list | get ID
				} else {
					add(f[i+1]) // pave teams create NAME | list
				}
			}
		}
	}
	return out
}

// Issue 19, finding 12: `pave access|teams|tokens|audit --help` printed the
// usage, then "unknown command", and exited 2. Every command and
// subcommand the usage texts name now answers --help with its usage and 0.
func TestHelpOnEveryCommandAndSubcommandExitsZero(t *testing.T) {
	var top bytes.Buffer
	require.Equal(t, 0, run([]string{"--help"}, strings.NewReader(""), &top, &top))
	var commands []string
	for _, line := range strings.Split(top.String(), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "pave" && word.MatchString(f[1]) {
			commands = append(commands, f[1])
		}
	}
	require.Contains(t, commands, "access", "the walk reads the top-level usage")
	walked := 0
	for _, cmd := range commands {
		var out bytes.Buffer
		code := run([]string{cmd, "--help"}, strings.NewReader(""), &out, &out)
		assert.Equal(t, 0, code, "pave %s --help: %s", cmd, out.String())
		assert.NotContains(t, out.String(), "unknown", "pave %s --help", cmd)
		walked++
		for _, sub := range subcommands(cmd, out.String()) {
			args := append(append([]string{cmd}, sub...), "--help")
			var subOut bytes.Buffer
			code := run(args, strings.NewReader(""), &subOut, &subOut)
			assert.Equal(t, 0, code, "pave %s: %s", strings.Join(args, " "), subOut.String())
			assert.Contains(t, subOut.String(), "Usage", "pave %s prints a usage", strings.Join(args, " "))
			walked++
		}
	}
	t.Logf("walked %d commands and subcommands", walked)
	assert.Greater(t, walked, 40, "the walk found the subcommands")
}
