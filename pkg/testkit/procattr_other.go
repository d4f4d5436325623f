//go:build !linux

package testkit

import "os/exec"

// DieWithParent is a no-op where the OS has no parent-death signal; the
// tests' cleanups stop what they started.
func DieWithParent(*exec.Cmd) {}
