package devserver

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

var (
	orderIDKey       = temporal.NewSearchAttributeKeyKeyword("OrderId")
	paymentStatusKey = temporal.NewSearchAttributeKeyKeyword("PaymentStatus")

	appSearchAttributes = map[string]enumspb.IndexedValueType{
		"OrderId":       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"PaymentStatus": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
)

const taskQueue = "devserver-test"

// confirmShaped is the smallest workflow with the shape of ours: it tags itself with the
// order, runs an activity and records the outcome in a search attribute.
func confirmShaped(ctx workflow.Context, orderID string) (string, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		orderIDKey.ValueSet(orderID), paymentStatusKey.ValueSet("CONFIRMING")); err != nil {
		return "", err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var approval string
	if err := workflow.ExecuteActivity(ctx, approve, orderID).Get(ctx, &approval); err != nil {
		return "", err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, paymentStatusKey.ValueSet("PAID")); err != nil {
		return "", err
	}
	return approval, nil
}

func approve(ctx context.Context, orderID string) (string, error) {
	return "approved:" + orderID + ":" + activity.GetInfo(ctx).ActivityType.Name, nil
}

func TestStart_InMemory_RunsWorkflowAndFindsItBySearchAttributes(t *testing.T) {
	begin := time.Now()
	srv := mustStart(t, Config{SearchAttributes: appSearchAttributes})
	t.Logf("Start to ready: %s; frontend %s", time.Since(begin).Round(time.Millisecond), srv.FrontendAddress())
	if srv.UIAddress() != "" {
		t.Errorf("UIAddress = %q without UIPort, want empty", srv.UIAddress())
	}
	if host, _, _ := net.SplitHostPort(srv.FrontendAddress()); host != "127.0.0.1" {
		t.Errorf("frontend on %q, want loopback 127.0.0.1", srv.FrontendAddress())
	}
	if rss, ok := residentSetSize(); ok {
		time.Sleep(2 * time.Second)
		idle, _ := residentSetSize()
		t.Logf("RSS after start: %d MiB, after 2 s idle: %d MiB", rss>>20, idle>>20)
	}

	c, closeClient := dial(t, srv, "default")
	stopWorker := startWorker(t, c)

	// Typed search attributes on the start request must be accepted right after Start.
	orderID := "order-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	run := executeConfirm(t, c, orderID)
	var got string
	if err := run.Get(context.Background(), &got); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if want := "approved:" + orderID + ":approve"; got != want {
		t.Fatalf("workflow result = %q, want %q", got, want)
	}

	found := listUntilFound(t, c, "default", fmt.Sprintf(`OrderId = %q AND PaymentStatus = "PAID"`, orderID))
	if found.GetExecution().GetWorkflowId() != run.GetID() {
		t.Fatalf("visibility found %s, want %s", found.GetExecution().GetWorkflowId(), run.GetID())
	}

	stopWorker()
	closeClient()
	begin = time.Now()
	srv.Stop()
	t.Logf("Stop took %s", time.Since(begin).Round(time.Millisecond))
}

func TestStart_FileDatabase_RestartKeepsHistoryAndRegistersNewSearchAttributes(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	onlyOrderID := map[string]enumspb.IndexedValueType{"OrderId": enumspb.INDEXED_VALUE_TYPE_KEYWORD}

	// First run: a database that knows only OrderId, as if created by an older build, and a
	// workflow that no worker picks up before the server stops.
	first := mustStart(t, Config{DatabaseFile: dbFile, SearchAttributes: onlyOrderID})
	c, closeClient := dial(t, first, "default")
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID:                    "payment:first-run",
		TaskQueue:             taskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(orderIDKey.ValueSet("first-run")),
	}, confirmShaped, "first-run")
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	listUntilFound(t, c, "default", `OrderId = "first-run"`)
	closeClient()
	first.Stop()

	second := mustStart(t, Config{DatabaseFile: dbFile, SearchAttributes: appSearchAttributes})
	c, _ = dial(t, second, "default")
	desc, err := c.DescribeWorkflowExecution(context.Background(), run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatalf("describe workflow of the first run: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("first-run workflow status = %s, want RUNNING", st)
	}
	listUntilFound(t, c, "default", `OrderId = "first-run"`)

	// The workflow started before the restart finishes after it, and upserts PaymentStatus,
	// which this second start registered.
	startWorker(t, c)
	var got string
	if err := c.GetWorkflow(context.Background(), run.GetID(), run.GetRunID()).Get(context.Background(), &got); err != nil {
		t.Fatalf("first-run workflow on the restarted server: %v", err)
	}
	listUntilFound(t, c, "default", `OrderId = "first-run" AND PaymentStatus = "PAID"`)

	// Every start slims the visibility table's indexes, a file made by an older build's
	// included; the ones the Web UI, the CLI and paysaga's searches use stay.
	indexes := visibilityIndexes(t, dbFile)
	for _, gone := range unqueriedVisibilityIndexes {
		if indexes[gone] {
			t.Errorf("index %s is still there", gone)
		}
	}
	for _, kept := range []string{"default_idx", "by_workflow_id", "by_workflow_type", "by_status", "by_keyword_01", "by_keyword_10", "by_temporal_scheduled_by_id"} {
		if !indexes[kept] {
			t.Errorf("index %s was dropped", kept)
		}
	}
}

func visibilityIndexes(t *testing.T, file string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names[name] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// The in-process restart above reuses the SQLite connection the server's plugin keeps for
// the life of the process; a second `make dev` is a new process and must read the file.
func TestStart_FileDatabase_NewProcessSeesEarlierWorkflow(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("running as the child")
	}
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	srv := mustStart(t, Config{DatabaseFile: dbFile, SearchAttributes: appSearchAttributes})
	c, closeClient := dial(t, srv, "default")
	stopWorker := startWorker(t, c)
	run := executeConfirm(t, c, "parent-run")
	if err := run.Get(context.Background(), nil); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	listUntilFound(t, c, "default", `OrderId = "parent-run" AND PaymentStatus = "PAID"`)
	stopWorker()
	closeClient()
	srv.Stop()

	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+dbFile, childWorkflowEnv+"="+run.GetID())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	t.Logf("child process:\n%s", out)
}

const (
	childEnv         = "DEVSERVER_TEST_CHILD_DB"
	childWorkflowEnv = "DEVSERVER_TEST_CHILD_WORKFLOW"
)

// TestChildProcess is the second process of the test above; it does nothing on its own.
func TestChildProcess(t *testing.T) {
	dbFile := os.Getenv(childEnv)
	if dbFile == "" {
		t.Skip("only run by TestStart_FileDatabase_NewProcessSeesEarlierWorkflow")
	}
	begin := time.Now()
	srv := mustStart(t, Config{DatabaseFile: dbFile, SearchAttributes: appSearchAttributes})
	t.Logf("Start to ready on an existing file: %s", time.Since(begin).Round(time.Millisecond))
	c, _ := dial(t, srv, "default")
	desc, err := c.DescribeWorkflowExecution(context.Background(), os.Getenv(childWorkflowEnv), "")
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("status = %s, want COMPLETED", st)
	}
	listUntilFound(t, c, "default", `OrderId = "parent-run" AND PaymentStatus = "PAID"`)
}

func TestStart_WithUIPort_UIAnswers(t *testing.T) {
	uiPort := freeTestPort(t)
	srv := mustStart(t, Config{UIPort: uiPort, Namespace: "paysaga"})
	if want := "http://127.0.0.1:" + strconv.Itoa(uiPort); srv.UIAddress() != want {
		t.Fatalf("UIAddress = %q, want %q", srv.UIAddress(), want)
	}
	for _, path := range []string{"/", "/api/v1/namespaces/paysaga"} {
		res, err := http.Get(srv.UIAddress() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %s: %.200s", path, res.Status, body)
		}
	}
}

func TestStart_PortTaken_ReturnsErrorWithoutStarting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	if _, err := Start(Config{Port: port}); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("Start on a taken frontend port: err = %v, want a port-taken error", err)
	}
	if _, err := Start(Config{UIPort: port}); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("Start on a taken UI port: err = %v, want a port-taken error", err)
	}
}

func TestStart_NonLoopbackIP_Refused(t *testing.T) {
	for _, ip := range []string{"0.0.0.0", "192.0.2.1", "not-an-ip"} {
		if _, err := Start(Config{IP: ip}); err == nil {
			t.Errorf("Start(IP: %q) succeeded, want refusal", ip)
		}
	}
}

// mustStart starts a server that logs to the test and stops with it.
func mustStart(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	srv, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func dial(t *testing.T, srv *Server, namespace string) (_ client.Client, closeClient func()) {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  srv.FrontendAddress(),
		Namespace: namespace,
		Logger:    sdklog.NewStructuredLogger(testLogger(t)),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.FrontendAddress(), err)
	}
	// A second Close makes the SDK log a warning; tests that close early call closeClient.
	closeClient = sync.OnceFunc(c.Close)
	t.Cleanup(closeClient)
	return c, closeClient
}

// startWorker starts a worker for confirmShaped and returns its stop function, which the
// test must call before it closes the client (cleanup calls it too).
func startWorker(t *testing.T, c client.Client) (stop func()) {
	t.Helper()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(confirmShaped)
	w.RegisterActivity(approve)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	stop = sync.OnceFunc(w.Stop)
	t.Cleanup(stop)
	return stop
}

func executeConfirm(t *testing.T, c client.Client, orderID string) client.WorkflowRun {
	t.Helper()
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID:        "payment:" + orderID,
		TaskQueue: taskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			orderIDKey.ValueSet(orderID), paymentStatusKey.ValueSet("CREATED")),
		WorkflowExecutionTimeout: 30 * time.Second,
	}, confirmShaped, orderID)
	if err != nil {
		t.Fatalf("start workflow for %s: %v", orderID, err)
	}
	return run
}

// listUntilFound polls visibility, which is eventually consistent, for one execution.
func listUntilFound(t *testing.T, c client.Client, namespace, query string) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace,
			Query:     query,
		})
		if err != nil {
			t.Fatalf("ListWorkflow %s: %v", query, err)
		}
		if n := len(res.GetExecutions()); n == 1 {
			return res.GetExecutions()[0]
		} else if n > 1 {
			t.Fatalf("ListWorkflow %s: %d executions, want 1", query, n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("ListWorkflow %s: nothing found within 10 s", query)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeTestPort(t *testing.T) int {
	t.Helper()
	p, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testLogger sends Warn and above to the test log, and nothing once the test has ended
// (server goroutines may outlive it by a moment).
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	t    *testing.T
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func residentSetSize() (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}

// The server reports a failed bind through its logger's Fatal; that must reach Start's caller
// as an error (which Start retries on other ports), not end the process.
func TestStartServer_PortTakenAtBind_ReturnsError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	cfg := Config{IP: "127.0.0.1", Namespace: "default"}
	sqlCfg, err := prepareDatabase(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := pickPorts(cfg.IP, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ports.history = l.Addr().(*net.TCPAddr).Port
	srv, err := startServer(cfg, sqlCfg, ports, newServerLogger(nil))
	if err == nil {
		srv.Stop()
		t.Fatal("startServer on a taken history port succeeded")
	}
	if !isListenError(err) {
		t.Fatalf("err = %v, want a listen error", err)
	}
	t.Logf("startServer: %v", err)
}
