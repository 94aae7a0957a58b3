package docs_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/internal/stacktest"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/workflows"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// runbook is docs/operations.md's command blocks by their tag (```sh runbook=NAME).
func runbook(t *testing.T) map[string]string {
	t.Helper()
	md, err := os.ReadFile("operations.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	for _, m := range regexp.MustCompile("(?ms)^```sh runbook=([a-z-]+)\n(.*?)^```").FindAllStringSubmatch(string(md), -1) {
		if _, dup := blocks[m[1]]; dup {
			t.Fatalf("operations.md has two blocks tagged runbook=%s", m[1])
		}
		blocks[m[1]] = m[2]
	}
	return blocks
}

// temporalCLI is the `temporal` binary `make test` installs into ./bin.
func temporalCLI(t *testing.T) string {
	t.Helper()
	path := os.Getenv("TEMPORAL_CLI")
	if path == "" {
		var err error
		if path, err = filepath.Abs(filepath.Join("..", "bin", "temporal")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the temporal CLI is not at %s: `make test` installs it (`make temporal-cli`, "+
			"or set TEMPORAL_CLI to a temporal v1.5.1 binary): %v", path, err)
	}
	return path
}

// operator runs runbook blocks the way a person would: bash, the env block first with this
// stack's addresses put in for the documented ones, then the step.
type operator struct {
	t      *testing.T
	blocks map[string]string
	env    string // the env block, addresses substituted
	cliDir string
	home   string
}

func newOperator(t *testing.T, s *stacktest.Stack) *operator {
	t.Helper()
	blocks := runbook(t)
	env, ok := blocks["env"]
	if !ok {
		t.Fatal("operations.md has no runbook=env block")
	}
	// The documented values, and what they are on this stack. Each must be in the block:
	// a changed document fails here instead of silently testing something else.
	for documented, actual := range map[string]string{
		"TEMPORAL_ADDRESS=127.0.0.1:7233":           "TEMPORAL_ADDRESS=" + s.TemporalAddr,
		"http://127.0.0.1:8080/api/v1/dev/codec":    s.APIURL + "/api/v1/dev/codec",
		"postgres://paysaga@127.0.0.1:5432/paysaga": s.DatabaseURL,
	} {
		if !strings.Contains(env, documented) {
			t.Fatalf("the runbook=env block no longer says %q:\n%s", documented, env)
		}
		env = strings.ReplaceAll(env, documented, shellQuote(actual))
	}
	if !strings.Contains(env, "ORDER=ord_…") {
		t.Fatalf("the runbook=env block does not set ORDER=ord_…:\n%s", env)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("the runbook is bash: %v", err)
	}
	return &operator{t: t, blocks: blocks, env: env, cliDir: filepath.Dir(temporalCLI(t)), home: t.TempDir()}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// run runs the block tagged step for the order and returns its output; a failing command
// fails the test.
func (o *operator) run(step, orderID string) string {
	o.t.Helper()
	block, ok := o.blocks[step]
	if !ok {
		o.t.Fatalf("operations.md has no runbook=%s block", step)
	}
	script := "set -euo pipefail\n" + strings.ReplaceAll(o.env, "ord_…", orderID) + "\n" + block
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	// A clean environment: the operator's shell has PATH and HOME, the runbook sets the rest.
	cmd.Env = []string{
		"PATH=" + o.cliDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + o.home, // no stray ~/.config/temporalio profile
		"LANG=C.UTF-8",
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		o.t.Fatalf("runbook=%s for %s failed: %v\n--- script\n%s\n--- output\n%s", step, orderID, err, block, out.String())
	}
	o.t.Logf("runbook=%s for %s:\n%s", step, orderID, out.String())
	return out.String()
}

// wantIn fails unless out has every one of want.
func (o *operator) wantIn(step, out string, want ...string) {
	o.t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			o.t.Errorf("runbook=%s: output lacks %q:\n%s", step, w, out)
		}
	}
}

func TestRunbook_DocumentedCommandsFindAndFinishParkedPayments(t *testing.T) {
	temporalCLI(t) // before anything starts: without the CLI there is nothing to test
	s := stacktest.Start(t, stacktest.Config{Name: "runbook", DB: "postgres", ConfirmWait: time.Second, LogLevel: slog.LevelError})
	op := newOperator(t, s)
	shop := &shopper{t: t, s: s, Shopper: s.NewShopper(1)}

	// Four payments parked the way production parks them: Toss approves, reports another
	// amount (the verification after confirm fails), and refuses the cancel.
	retried, resolved, terminated, reset := shop.park(), shop.park(), shop.park(), shop.park()
	parked := []string{retried, resolved, terminated, reset}
	faults := map[string][]tosssim.FaultRule{}
	for _, id := range parked {
		faults[id] = parkingFaults(id)
	}
	setFaults(t, s, faults)
	for _, id := range parked {
		shop.confirm(id)
	}
	for _, id := range parked {
		waitForOrder(t, s, id, paysaga.StatusNeedsAttention)
	}
	waitForVisibility(t, s.Temporal, `PaymentStatus="NEEDS_ATTENTION"`, parked)

	// Find.
	out := op.run("list", retried)
	for _, id := range parked {
		op.wantIn("list", out, workflows.WorkflowID(id))
	}
	op.wantIn("list", out, "Total: 4")
	out = op.run("list-order", retried)
	op.wantIn("list-order", out, workflows.WorkflowID(retried), "Running")
	if strings.Contains(out, workflows.WorkflowID(resolved)) {
		t.Errorf("runbook=list-order lists another order's payment:\n%s", out)
	}

	// Look.
	out = op.run("describe", retried)
	// A parked saga waits for a signal, not on a step.
	op.wantIn("describe", out, workflows.WorkflowID(retried), "PaymentStatus", "NEEDS_ATTENTION", "Pending Activities: 0")
	out = op.run("query", retried)
	op.wantIn("query", out, `"Stage":"NEEDS_ATTENTION"`, `"Code":"NOT_CANCELABLE_PAYMENT"`, retried)
	out = op.run("show", retried)
	op.wantIn("show", out, activities.NameMarkNeedsAttention, activities.NameTossCancel)

	// Finish: the cause fixed (Toss accepts the cancel again), retry the compensation.
	delete(faults, retried)
	setFaults(t, s, faults)
	op.run("retry-compensation", retried)
	waitForOrder(t, s, retried, paysaga.StatusFailed)
	waitForClosed(t, s.Temporal, retried, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED)
	stats := s.Simulator.Stats()
	if stats.Approvals[retried] != 1 || stats.Cancels[retried] != 1 {
		t.Errorf("retried compensation: %d approvals, %d cancels at Toss; want 1 and 1", stats.Approvals[retried], stats.Cancels[retried])
	}
	if p, _ := s.Simulator.PaymentByOrderID(retried); p.Status != paysaga.PaymentCanceled {
		t.Errorf("retried compensation: Toss holds the payment %s, want CANCELED", p.Status)
	}
	wantEvents(t, s, retried, paysaga.EventNeedsAttention, paysaga.EventStockReleased, paysaga.EventFailed)

	// Finish by hand: Toss still refuses, the operator refunded in the console and says so.
	op.run("resolve", resolved)
	waitForOrder(t, s, resolved, paysaga.StatusFailed)
	waitForClosed(t, s.Temporal, resolved, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED)
	if got := s.Simulator.Stats().Cancels[resolved]; got != 0 {
		t.Errorf("resolve cancelled at Toss %d times; the operator settled it, want 0", got)
	}
	events := wantEvents(t, s, resolved, paysaga.EventNeedsAttention, paysaga.EventOperatorResolved, paysaga.EventStockReleased, paysaga.EventFailed)
	note := events[paysaga.EventOperatorResolved].Evidence
	if !strings.Contains(note.Note, "OPS-1234") || note.Extra["operator"] != "kim.ops" {
		t.Errorf("OPERATOR_RESOLVED evidence: note %q, extra %v", note.Note, note.Extra)
	}
	// As documented: resolve skips the refused cancel (done by hand) but gives the stock back.
	held, err := s.Store.Reservations(context.Background(), shop.product.ID)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	for _, r := range held {
		released = released || (r.OrderID == resolved && r.Released)
	}
	if !released {
		t.Errorf("the stock of %s is still held after resolve; operations.md says it is released: %+v", resolved, held)
	}
	out = op.run("evidence", resolved)
	op.wantIn("evidence", out, "OPERATOR_RESOLVED", "OPS-1234", "NEEDS_ATTENTION", "AMOUNT_MISMATCH", "BEGIN_CONFIRM")

	// Last resorts.
	op.run("terminate", terminated)
	waitForClosed(t, s.Temporal, terminated, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED)
	if o, _ := s.Store.GetOrder(context.Background(), terminated); o.Status != paysaga.StatusNeedsAttention {
		t.Errorf("terminate changed the order to %s; the runbook says it keeps its status", o.Status)
	}

	before := describe(t, s.Temporal, reset).GetWorkflowExecutionInfo().GetExecution().GetRunId()
	op.run("reset", reset)
	after := describe(t, s.Temporal, reset)
	if run := after.GetWorkflowExecutionInfo().GetExecution().GetRunId(); run == before ||
		after.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("after reset: run %s (was %s), status %s", run, before, after.GetWorkflowExecutionInfo().GetStatus())
	}
	// The new run is the parked payment, alive: it still answers and can be finished.
	out = op.run("query", reset)
	op.wantIn("query", out, `"Stage":"NEEDS_ATTENTION"`)
	delete(faults, reset)
	setFaults(t, s, faults)
	op.run("retry-compensation", reset)
	waitForOrder(t, s, reset, paysaga.StatusFailed)
	if got := s.Simulator.Stats(); got.Approvals[reset] != 1 || got.Cancels[reset] != 1 {
		t.Errorf("reset payment: %d approvals, %d cancels; want 1 and 1", got.Approvals[reset], got.Cancels[reset])
	}
}

// parkingFaults make a confirm of orderID end NEEDS_ATTENTION: Toss approves but reports
// another amount, then refuses the cancel.
func parkingFaults(orderID string) []tosssim.FaultRule {
	return []tosssim.FaultRule{
		{Endpoint: tosssim.EndpointConfirm, OrderID: orderID, Kind: tosssim.FaultTamperAmount},
		{Endpoint: tosssim.EndpointCancel, OrderID: orderID, Kind: tosssim.FaultRefuseCancel},
	}
}

func setFaults(t *testing.T, s *stacktest.Stack, byOrder map[string][]tosssim.FaultRule) {
	t.Helper()
	var rules []tosssim.FaultRule
	for _, r := range byOrder {
		rules = append(rules, r...)
	}
	if err := s.Simulator.SetFaults(rules); err != nil {
		t.Fatal(err)
	}
}

// shopper checks out over the API as the demo user.
type shopper struct {
	*stacktest.Shopper
	t       *testing.T
	s       *stacktest.Stack
	product paysaga.Product
	keys    map[string]string
}

// park creates an order for 78,000 KRW and authorizes its payment; confirm sends it.
func (sh *shopper) park() string {
	sh.t.Helper()
	ctx := context.Background()
	if sh.product.ID == 0 {
		sh.product, sh.keys = sh.s.NewProduct(sh.t, "런북 상품", 39000, 10), map[string]string{}
		if err := sh.SignIn(ctx); err != nil {
			sh.t.Fatal(err)
		}
	}
	r, err := sh.CreateOrder(ctx, sh.product.ID, 2, 78000)
	if err != nil || r.Status != http.StatusCreated {
		sh.t.Fatalf("create order: %d %v", r.Status, err)
	}
	key, err := sh.Authorize(ctx, r.Order)
	if err != nil {
		sh.t.Fatalf("authorize: %v", err)
	}
	sh.keys[r.Order.OrderID] = key
	return r.Order.OrderID
}

func (sh *shopper) confirm(orderID string) {
	sh.t.Helper()
	// The answer does not matter here (202 while compensating, or the failure): the saga
	// runs on either way, and the runbook is about what it leaves behind.
	r, err := sh.Confirm(context.Background(), orderID, sh.keys[orderID], "78000")
	if err != nil {
		sh.t.Fatalf("confirm %s: %v", orderID, err)
	}
	sh.t.Logf("confirm of %s answered %d", orderID, r.Status)
}

func waitForOrder(t *testing.T, s *stacktest.Stack, orderID string, want paysaga.OrderStatus) {
	t.Helper()
	var got paysaga.Order
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var err error
		if got, err = s.Store.GetOrder(context.Background(), orderID); err == nil && got.Status == want {
			return
		}
	}
	t.Fatalf("order %s is %s (%s), want %s", orderID, got.Status, got.FailureCode, want)
}

func waitForVisibility(t *testing.T, tc client.Client, query string, orderIDs []string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err == nil && resp.GetCount() >= int64(len(orderIDs)) {
			return
		}
	}
	t.Fatalf("Temporal's visibility does not show %d workflows for %s", len(orderIDs), query)
}

func describe(t *testing.T, tc client.Client, orderID string) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	resp, err := tc.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(orderID), "")
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func waitForClosed(t *testing.T, tc client.Client, orderID string, want enumspb.WorkflowExecutionStatus) {
	t.Helper()
	var got enumspb.WorkflowExecutionStatus
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = describe(t, tc, orderID).GetWorkflowExecutionInfo().GetStatus(); got == want {
			return
		}
	}
	t.Fatalf("workflow of %s is %s, want %s", orderID, got, want)
}

// wantEvents fails unless the order's audit trail has each event type, and returns the
// last event of each type.
func wantEvents(t *testing.T, s *stacktest.Stack, orderID string, types ...string) map[string]paysaga.PaymentEvent {
	t.Helper()
	events, err := s.Store.Events(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]paysaga.PaymentEvent{}
	var seen []string
	for _, e := range events {
		byType[e.Type] = e
		seen = append(seen, e.Type)
	}
	for _, want := range types {
		if _, ok := byType[want]; !ok {
			t.Errorf("order %s has no %s event: %v", orderID, want, seen)
		}
	}
	return byType
}
