//go:build !linux

package workerpool

import "os/exec"

// dieWithParent has no portable equivalent of Linux's parent-death signal: elsewhere the
// processes are stopped by the test's or the run's own cleanup only.
func dieWithParent(*exec.Cmd) {}

func killGroup(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
}
