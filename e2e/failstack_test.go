package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/internal/pgtest"
	"github.com/paysaga/paysaga/internal/stacktest"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/workflows"
)

// failureStack is the stack the failure scenarios share: one for all of them, because an
// embedded Temporal server is expensive and leaks goroutines when stopped. It differs from
// the package's other stacks in three ways the scenarios need:
//   - PostgreSQL runs on a server of its own, which a scenario stops and restarts;
//   - no worker runs in-process (Workers = 0): each scenario starts `paysaga worker`
//     processes, and kills them when it wants a crash;
//   - the simulator's clock is one that a scenario moves past Toss's 10-minute window.
type failureStack struct {
	*stacktest.Stack
	pg    *pgtest.Server
	clock *tosssim.Clock
}

// stackForFailures starts the failure scenarios' stack on first use.
func stackForFailures(t *testing.T) *failureStack {
	t.Helper()
	s := stacktest.Shared(t, "failures", stacktest.Config{
		Name: "failures", DB: "postgres", OwnPostgres: true, Workers: stacktest.NoWorkers,
		ConfirmWait: 15 * time.Second,
		// Worker processes get the same keys as the stack.
		CodecKeys: codec.FormatKeys(codec.NewKey("e2e-failures")),
		LogLevel:  slog.LevelError,
	})
	return &failureStack{Stack: s, pg: s.Postgres, clock: s.Clock}
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

// startWorker runs `paysaga worker` — the production binary, as production runs it, so
// that a crash is a real SIGKILL — against the failure stack and waits until it polls for
// tasks. extraEnv (KEY=value) overrides its settings. The process is killed when the test
// ends, and by the kernel if the test binary dies first.
func (fs *failureStack) startWorker(t *testing.T, extraEnv ...string) *stacktest.Process {
	t.Helper()
	env := append([]string{"TOSS_TIMEOUT=30s", "LOG_FORMAT=text"}, extraEnv...)
	return fs.StartWorker(t, stacktest.Binary(t, "paysaga"), env...)
}

// eventually polls cond every 20 ms until it holds, failing the test after timeout.
var eventually = stacktest.Eventually

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

// apiSession is what a goroutine needs to call the API as the shopper: no *testing.T, so it
// reports what went wrong instead of failing the test from a goroutine not the test's.
type apiSession struct {
	*stacktest.Shopper
	userID int64
}

// apiSession signs the shopper in (in the test's goroutine) for calls from other goroutines.
func (c *checkout) apiSession() apiSession {
	c.t.Helper()
	sh := c.stack.NewShopper(c.userID())
	sh.API = sh.API.WithToken(c.bearer())
	return apiSession{Shopper: sh, userID: c.userID()}
}

// post sends a JSON body to an API path and decodes the answer into out (may be nil).
func (b apiSession) post(path string, body, out any) (int, string, error) {
	r, err := b.Do(context.Background(), http.MethodPost, path, body, out, nil)
	return r.Status, string(r.Raw), err
}

// confirm is the confirm call with the success redirect's values.
func (b apiSession) confirm(orderID, paymentKey, amount string) (confirmAnswer, error) {
	r, err := b.Confirm(context.Background(), orderID, paymentKey, amount)
	return confirmAnswer{status: r.Status, order: r.Order, err: r.Err, raw: string(r.Raw)}, err
}

// confirmInBackground sends the confirm without waiting for its answer, as a browser whose
// request hangs while the scenario breaks things underneath it.
func (b apiSession) confirmInBackground(orderID, paymentKey, amount string) <-chan confirmAnswer {
	out := make(chan confirmAnswer, 1)
	go func() {
		r := <-b.ConfirmInBackground(orderID, paymentKey, amount)
		out <- confirmAnswer{status: r.Status, order: r.Order, err: r.Err, raw: string(r.Raw)}
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
	return stacktest.NewShopper("", simURL, 0).Authorize(context.Background(), o)
}
