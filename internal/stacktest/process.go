package stacktest

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paysaga/paysaga/devstack"
	"github.com/paysaga/paysaga/internal/workerpool"
)

// ProcessEnv is the production configuration of a paysaga process on this stack, as the
// compose file gives it; extra (KEY=value) comes last and so overrides.
func (s *Stack) ProcessEnv(extra ...string) []string {
	env := []string{
		"TEMPORAL_ADDRESS=" + s.TemporalAddr,
		"TEMPORAL_NAMESPACE=default",
		"TOSS_API_URL=" + s.SimURL,
		"TOSS_SECRET_KEY=" + s.TossSecretKey,
		"API_ADDR=127.0.0.1:0",
		"API_OPS_ADDR=127.0.0.1:0",
		"WORKER_HEALTH_ADDR=127.0.0.1:0",
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
	}
	if s.DatabaseURL != "" {
		env = append(env, "DATABASE_URL="+s.DatabaseURL)
	}
	if s.Security.CodecKeys != "" {
		env = append(env, "PAYLOAD_CODEC_KEYS="+s.Security.CodecKeys)
	}
	if s.Security.JWTSecret != "" {
		env = append(env, "JWT_HS256_SECRET="+s.Security.JWTSecret)
	}
	// The dev stack's token sources, so that its tokens open the production API too.
	env = append(env, "JWT_ISSUER="+devstack.TokenIssuer, "JWT_AUDIENCE="+devstack.TokenAudience,
		"OPERATOR_JWT_ISSUER="+devstack.OperatorTokenIssuer, "OPERATOR_JWT_AUDIENCE="+devstack.TokenAudience)
	return append(env, extra...)
}

// StartWorker runs `paysaga worker` (the binary at bin) against the stack and waits until
// it polls for tasks. extra (KEY=value) overrides its settings.
func (s *Stack) StartWorker(t testing.TB, bin string, extra ...string) *Process {
	t.Helper()
	return StartProcess(t, "worker started", s.ProcessEnv(extra...), bin, "worker")
}

// Process is a paysaga process a test started, with what it logged.
type Process struct {
	*workerpool.Process
	Log *workerpool.Log
	// Ready is when it logged that it was ready.
	Ready time.Time

	t    testing.TB
	name string
}

// StartProcess runs command with this process's environment plus env, and waits until it
// logs ready (a JSON line's msg, or text in a text log; "" waits for nothing). The process
// is killed when the test ends, and by the kernel if the test binary dies first; a failed
// test shows its log.
func StartProcess(t testing.TB, ready string, env []string, command ...string) *Process {
	t.Helper()
	p := &Process{Log: &workerpool.Log{}, t: t, name: strings.Join(command[1:], " ")}
	var err error
	p.Process, err = workerpool.Start(command, append(os.Environ(), env...), p.Log)
	if err != nil {
		t.Fatalf("start paysaga %s: %v", p.name, err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("paysaga %s (pid %d) log (tail):\n%s", p.name, p.Pid(), p.Log.TailLines(40))
		}
	})
	if ready != "" {
		p.waitUntil(ready, 30*time.Second, func() bool { return p.Log.JSONLine(ready) != nil || p.Log.Contains(ready) })
	}
	p.Ready = time.Now()
	return p
}

// waitUntil polls cond every 20 ms, failing the test when the process exits first or
// timeout passes.
func (p *Process) waitUntil(what string, timeout time.Duration, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.Exited():
			if cond() {
				return
			}
			p.t.Fatalf("paysaga %s exited (%v) before logging %q:\n%s", p.name, p.Err(), what, p.Log.TailLines(40))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("paysaga %s did not log %q within %s:\n%s", p.name, what, timeout, p.Log.TailLines(40))
		}
	}
}

// WaitLog waits for a JSON log line whose msg is msg and returns its fields.
func (p *Process) WaitLog(msg string, timeout time.Duration) map[string]any {
	p.t.Helper()
	p.waitUntil(msg, timeout, func() bool { return p.Log.JSONLine(msg) != nil })
	return p.Log.JSONLine(msg)
}

// Addr is the base URL of what the process logged it listens on with msg.
func (p *Process) Addr(msg string) string {
	p.t.Helper()
	a, _ := p.WaitLog(msg, 30*time.Second)["addr"].(string)
	if a == "" {
		p.t.Fatalf("paysaga %s logged %q without an address", p.name, msg)
	}
	return "http://" + a
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal paysaga %s: %v", p.name, err)
	}
}

// Wait waits for the process to exit and returns Wait's error.
func (p *Process) Wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.Exited():
		return p.Err()
	case <-time.After(timeout):
		p.t.Fatalf("paysaga %s still runs %s later", p.name, timeout)
		return nil
	}
}

// Kill ends the process with SIGKILL and waits for it to be gone.
func (p *Process) Kill() {
	if err := p.Process.Kill(10 * time.Second); err != nil {
		p.t.Errorf("paysaga %s: %v", p.name, err)
	}
}

// Eventually polls cond every 20 ms until it holds, failing the test after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
