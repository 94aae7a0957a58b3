//go:build !linux

package chaos

import "os/exec"

// dieWithParent has no portable equivalent of Linux's parent-death signal: elsewhere the
// workers are stopped by the run's own cleanup only.
func dieWithParent(*exec.Cmd) {}
