package workerpool

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// Process is one running process.
type Process struct {
	Cmd *exec.Cmd
	// Started is when it was started.
	Started time.Time

	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// Start runs command with exactly env, both its outputs going to out (nil: discarded). The
// process gets a group of its own, so that a kill takes whatever it started too, and dies
// with this process where the system allows (Linux), so that an interrupted test or run
// leaves none behind.
func Start(command, env []string, out io.Writer) (*Process, error) {
	if len(command) == 0 {
		return nil, errors.New("no command to run")
	}
	if out == nil {
		out = io.Discard
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	p := &Process{Cmd: cmd, exited: make(chan struct{}), Started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", command[0], err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Pid is the process's ID.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is what Wait returned; only meaningful once Exited is closed.
func (p *Process) Err() error { return p.err }

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) error { return p.Cmd.Process.Signal(sig) }

// Kill ends the process group with SIGKILL — no shutdown, no goodbye to Temporal, what a
// crashed host or an OOM kill does — and waits up to timeout for it to be gone.
func (p *Process) Kill(timeout time.Duration) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	killGroup(p.Cmd)
	select {
	case <-p.exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("process %d did not die after SIGKILL", p.Pid())
	}
}
