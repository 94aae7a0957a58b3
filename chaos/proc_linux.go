package chaos

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill a worker when the chaos run itself dies, so that an
// interrupted run leaves no workers behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
