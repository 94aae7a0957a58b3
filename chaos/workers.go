package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/paysaga/paysaga/internal/workerpool"
)

// workerPool runs `paysaga worker` processes that the chaos run kills with SIGKILL — no
// shutdown, no deferred cleanup, exactly what a crashed host or an OOM kill does — and starts
// again.
type workerPool struct {
	command []string
	env     []string
	out     io.Writer
	logger  *slog.Logger

	mu       sync.Mutex
	procs    []*workerpool.Process
	kills    int
	restarts int
}

func newWorkerPool(n int, command, env []string, out io.Writer, logger *slog.Logger) *workerPool {
	return &workerPool{command: command, env: env, out: out, logger: logger, procs: make([]*workerpool.Process, n)}
}

// startAll starts every worker that is not running.
func (p *workerPool) startAll() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.procs {
		if p.procs[i] != nil {
			continue
		}
		if err := p.startLocked(i); err != nil {
			return err
		}
	}
	return nil
}

func (p *workerPool) startLocked(i int) error {
	proc, err := workerpool.Start(p.command, p.env, p.out)
	if err != nil {
		return fmt.Errorf("start worker %d: %w", i, err)
	}
	p.procs[i] = proc
	p.logger.Debug("worker started", "worker", i, "pid", proc.Pid())
	return nil
}

// kill SIGKILLs worker i and waits until it is gone.
func (p *workerPool) kill(i int) {
	p.mu.Lock()
	proc := p.procs[i]
	p.procs[i] = nil
	if proc != nil {
		p.kills++
	}
	p.mu.Unlock()
	if proc == nil {
		return
	}
	if err := proc.Kill(time.Minute); err != nil {
		p.logger.Error("worker survived its kill", "worker", i, "error", err)
	}
	p.logger.Debug("worker killed", "worker", i, "pid", proc.Pid())
}

// restart starts worker i again after a kill.
func (p *workerPool) restart(i int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.procs[i] != nil {
		return nil
	}
	p.restarts++
	return p.startLocked(i)
}

// dead reports a worker that exited without being killed by the pool (a crash at start,
// say: a wrong DATABASE_URL), so the run stops instead of waiting for a drain that cannot
// come.
func (p *workerPool) dead() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, proc := range p.procs {
		if proc == nil {
			continue
		}
		select {
		case <-proc.Exited():
			return fmt.Errorf("worker %d exited by itself: %v", i, proc.Cmd.ProcessState)
		default:
		}
	}
	return nil
}

// stop asks every worker to shut down (SIGTERM), then kills what is left after grace.
func (p *workerPool) stop(grace time.Duration) {
	p.mu.Lock()
	procs := append([]*workerpool.Process(nil), p.procs...)
	clear(p.procs)
	p.mu.Unlock()
	for _, proc := range procs {
		if proc != nil {
			_ = proc.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.After(grace)
	for _, proc := range procs {
		if proc == nil {
			continue
		}
		select {
		case <-proc.Exited():
		case <-deadline:
			_ = proc.Kill(time.Minute)
		}
	}
}

func (p *workerPool) counts() (kills, restarts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kills, p.restarts
}

// workerCommand is the command line of a worker: the configured one, or this very
// executable's `worker` subcommand (the chaos run is `paysaga chaos`).
func workerCommand(configured []string) ([]string, error) {
	if len(configured) > 0 {
		return configured, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the paysaga executable to run workers with: %w", err)
	}
	return []string{self, "worker"}, nil
}

// sleep waits d or until ctx ends, and says which.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errViolations = errors.New("invariant violations")
