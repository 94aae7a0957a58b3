package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/devstack"
	"github.com/paysaga/paysaga/internal/pgtest"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/workflows"
)

// failureStack is the stack the failure scenarios share: one for all of them, because an
// embedded Temporal server is expensive and leaks goroutines when stopped. It differs from
// the package's other stacks in three ways the scenarios need:
//   - PostgreSQL runs on a server of its own, which a scenario stops and restarts;
//   - no worker runs in-process (Workers = 0): each scenario starts `paysaga worker`
//     processes, and kills them when it wants a crash;
//   - the simulator's clock is a simClock that a scenario moves past Toss's 10-minute window.
type failureStack struct {
	*devstack.Stack
	pg          *pgtest.Server
	databaseURL string
	// codecKeys seal workflow payloads; worker processes need the same keys as the stack.
	codecKeys string
	clock     *simClock
}

var (
	failuresOnce sync.Once
	failures     *failureStack
	failuresErr  error
)

// stackForFailures starts the failure scenarios' stack on first use.
func stackForFailures(t *testing.T) *failureStack {
	t.Helper()
	failuresOnce.Do(func() {
		start := time.Now()
		failures, failuresErr = startFailureStack()
		t.Logf("failure stack (PostgreSQL, Temporal, simulator, API) started in %s", time.Since(start).Round(time.Millisecond))
	})
	if failuresErr != nil {
		t.Fatalf("start the failure scenarios' stack: %v", failuresErr)
	}
	return failures
}

func startFailureStack() (_ *failureStack, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx)
	if err != nil {
		return nil, err
	}
	atExit(func() { _ = srv.Close() })
	url, err := srv.CreateDatabase(ctx, "failures")
	if err != nil {
		return nil, err
	}
	fs := &failureStack{pg: srv, databaseURL: url, clock: &simClock{},
		codecKeys: codec.FormatKeys(codec.NewKey("e2e-failures"))}
	cfg := devstack.Ephemeral()
	cfg.DataDir, err = os.MkdirTemp("", "paysaga-e2e-failures-")
	if err != nil {
		return nil, err
	}
	atExit(func() { _ = os.RemoveAll(cfg.DataDir) })
	cfg.DatabaseURL = url
	cfg.Workers = 0
	cfg.ConfirmWait = 15 * time.Second
	cfg.SimNow = fs.clock.Now
	cfg.Security.CodecKeys = fs.codecKeys
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	fs.Stack, err = devstack.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	atExit(fs.Stack.Close)
	return fs, nil
}

// shopper is a checkout session on the failure stack.
func (fs *failureStack) shopper(t *testing.T) *checkout {
	return &checkout{t: t, stack: fs.Stack}
}

// faults sets the simulator's fault rules for the rest of the test.
func (fs *failureStack) faults(t *testing.T, rules ...tosssim.FaultRule) {
	t.Helper()
	if err := fs.Simulator.SetFaults(rules); err != nil {
		t.Fatalf("set simulator faults: %v", err)
	}
	t.Cleanup(fs.Simulator.ClearFaults)
}

// simClock is the simulator's clock: real time plus an offset that only moves forward.
type simClock struct {
	mu    sync.Mutex
	ahead time.Duration
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.ahead)
}

// Advance moves the simulator's time forward by d, as if d had passed.
func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ahead += d
}

// The production binary, built once for the package: the scenarios run the worker as an
// operating-system process, as production does, so that a crash is a real SIGKILL.
var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

func paysagaBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "paysaga-e2e-bin-")
		if err != nil {
			binaryErr = err
			return
		}
		atExit(func() { _ = os.RemoveAll(dir) })
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		binaryPath = filepath.Join(dir, "paysaga")
		cmd := exec.Command(goTool, "build", "-o", binaryPath, "github.com/paysaga/paysaga/cmd/paysaga")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("go build ./cmd/paysaga: %w\n%s", err, out)
			return
		}
		t.Logf("built paysaga in %s", time.Since(start).Round(time.Millisecond))
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// workerProcess is one `paysaga worker` process.
type workerProcess struct {
	t       *testing.T
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	// Started is when the process was started; Ready when it said it polls.
	Started, Ready time.Time
}

// startWorker runs `paysaga worker` against the failure stack and waits until it polls for
// tasks. extraEnv (KEY=value) overrides its settings. The process is killed when the test
// ends, and by the kernel if the test binary dies first.
func (fs *failureStack) startWorker(t *testing.T, extraEnv ...string) *workerProcess {
	t.Helper()
	bin := paysagaBinary(t)
	w := &workerProcess{t: t, logPath: filepath.Join(t.TempDir(), fmt.Sprintf("worker-%d.log", time.Now().UnixNano())), exited: make(chan struct{})}
	logFile, err := os.Create(w.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	w.cmd = exec.Command(bin, "worker")
	w.cmd.Env = append(os.Environ(),
		"DATABASE_URL="+fs.databaseURL,
		"TEMPORAL_ADDRESS="+fs.TemporalAddr,
		"TEMPORAL_NAMESPACE=default",
		"TOSS_API_URL="+fs.SimURL,
		"TOSS_SECRET_KEY="+fs.TossSecretKey,
		"TOSS_TIMEOUT=30s",
		"PAYLOAD_CODEC_KEYS="+fs.codecKeys,
		"LOG_FORMAT=text",
		"LOG_LEVEL=info",
	)
	w.cmd.Env = append(w.cmd.Env, extraEnv...)
	w.cmd.Stdout, w.cmd.Stderr = logFile, logFile
	w.cmd.SysProcAttr = &syscall.SysProcAttr{
		// Never outlive the test binary, even one that is killed.
		Pdeathsig: syscall.SIGKILL,
		Setpgid:   true,
	}
	w.Started = time.Now()
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("start paysaga worker: %v", err)
	}
	go func() {
		_ = w.cmd.Wait()
		close(w.exited)
	}()
	t.Cleanup(func() {
		w.Kill()
		if t.Failed() {
			t.Logf("worker %d log (tail):\n%s", w.cmd.Process.Pid, w.logTail())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !w.logContains("worker started") {
		select {
		case <-w.exited:
			t.Fatalf("paysaga worker exited at start: %s\n%s", w.cmd.ProcessState, w.logTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("paysaga worker did not start within 30 s:\n%s", w.logTail())
		}
	}
	w.Ready = time.Now()
	return w
}

// Kill ends the process with SIGKILL — no shutdown, no goodbye to Temporal — and waits for
// it to be gone.
func (w *workerProcess) Kill() {
	select {
	case <-w.exited:
		return
	default:
	}
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-w.exited:
	case <-time.After(10 * time.Second):
		w.t.Errorf("worker %d did not die after SIGKILL", w.cmd.Process.Pid)
	}
}

// logCount counts the lines of the worker's log that hold every one of parts.
func (w *workerProcess) logCount(parts ...string) int {
	b, _ := os.ReadFile(w.logPath)
	n := 0
	for line := range strings.Lines(string(b)) {
		if containsAll(line, parts) {
			n++
		}
	}
	return n
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func (w *workerProcess) logContains(s string) bool {
	b, _ := os.ReadFile(w.logPath)
	return bytes.Contains(b, []byte(s))
}

func (w *workerProcess) logTail() string {
	f, err := os.Open(w.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 40 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// eventually polls cond every 20 ms until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// orderStatus reads the order's status straight from the database.
func (fs *failureStack) orderStatus(t *testing.T, orderID string) string {
	t.Helper()
	o, err := fs.Store.GetOrder(context.Background(), orderID)
	if err != nil {
		t.Fatalf("read order %s: %v", orderID, err)
	}
	return string(o.Status)
}

// eventTypes lists the order's audit trail, oldest first.
func (fs *failureStack) eventTypes(t *testing.T, orderID string) []string {
	t.Helper()
	events, err := fs.Store.Events(context.Background(), orderID)
	if err != nil {
		t.Fatalf("events of %s: %v", orderID, err)
	}
	types := make([]string, len(events))
	for i, e := range events {
		types[i] = e.Type
	}
	return types
}

// describe returns the workflow of an order as Temporal sees it.
func (fs *failureStack) describe(t *testing.T, orderID string) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	d, err := fs.Temporal.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(orderID), "")
	if err != nil {
		t.Fatalf("describe the workflow of %s: %v", orderID, err)
	}
	return d
}

func (fs *failureStack) workflowStatus(t *testing.T, orderID string) enumspb.WorkflowExecutionStatus {
	t.Helper()
	return fs.describe(t, orderID).GetWorkflowExecutionInfo().GetStatus()
}

// confirmAnswer is what one confirm request got.
type confirmAnswer struct {
	status int
	order  order
	err    apiError
	raw    string
}

// apiClient carries many concurrent calls without running out of connections.
var apiClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}

// apiSession is what a goroutine needs to call the API as the shopper: no *testing.T, so it
// reports what went wrong instead of failing the test from a goroutine not the test's.
type apiSession struct {
	apiURL, token string
	userID        int64
}

// apiSession signs the shopper in (in the test's goroutine) for calls from other goroutines.
func (c *checkout) apiSession() apiSession {
	c.t.Helper()
	return apiSession{apiURL: c.stack.APIURL, token: c.bearer(), userID: c.userID()}
}

// post sends a JSON body to an API path and decodes the answer into out (may be nil).
func (b apiSession) post(path string, body, out any) (int, string, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequest(http.MethodPost, b.apiURL+path, bytes.NewReader(raw))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	return doJSON(req, out)
}

// confirm is the confirm call with the success redirect's values.
func (b apiSession) confirm(orderID, paymentKey, amount string) (confirmAnswer, error) {
	var a confirmAnswer
	status, raw, err := b.post("/api/v1/orders/confirm",
		map[string]any{"userId": b.userID, "orderId": orderID, "paymentKey": paymentKey, "amount": amount}, &a.order)
	a.status, a.raw = status, raw
	if err != nil {
		return a, err
	}
	_ = json.Unmarshal([]byte(raw), &a.err)
	return a, nil
}

// confirmInBackground sends the confirm without waiting for its answer, as a browser whose
// request hangs while the scenario breaks things underneath it.
func (b apiSession) confirmInBackground(orderID, paymentKey, amount string) <-chan confirmAnswer {
	out := make(chan confirmAnswer, 1)
	go func() {
		a, err := b.confirm(orderID, paymentKey, amount)
		if err != nil {
			a.status, a.raw = -1, err.Error()
		}
		out <- a
	}()
	return out
}

// answerOf waits for a background confirm's answer.
func answerOf(t *testing.T, ch <-chan confirmAnswer) confirmAnswer {
	t.Helper()
	select {
	case a := <-ch:
		if a.status < 0 {
			t.Fatalf("confirm request: %s", a.raw)
		}
		return a
	case <-time.After(time.Minute):
		t.Fatal("no answer to the confirm within a minute")
	}
	return confirmAnswer{}
}

// authorizeAt stands in for the customer finishing the simulator's payment window, from any
// goroutine.
func authorizeAt(simURL string, o order) (string, error) {
	raw, err := json.Marshal(map[string]any{"orderId": o.OrderID, "orderName": o.OrderName, "amount": o.Amount})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequest(http.MethodPost, simURL+"/sim/v1/authorize", bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	var res struct {
		PaymentKey string `json:"paymentKey"`
	}
	status, body, err := doJSON(req, &res)
	if err == nil && (status != http.StatusOK || res.PaymentKey == "") {
		err = fmt.Errorf("authorize at the simulator: %d %s", status, body)
	}
	return res.PaymentKey, err
}

func doJSON(req *http.Request, out any) (int, string, error) {
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", err
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, string(raw), fmt.Errorf("decode %q: %w", raw, err)
		}
	}
	return resp.StatusCode, string(raw), nil
}
