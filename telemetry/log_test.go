package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
	sdklog "go.temporal.io/sdk/log"
)

func jsonLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// The SDK tags its workflow and activity loggers with WorkflowID; every line from them
// names the order and the workflow, once, whatever the line itself carries.
func TestLogHandler_LinesAboutASagaNameTheOrderAndTheWorkflow(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))
	sdk := sdklog.With(sdklog.NewStructuredLogger(logger), "Namespace", "default", "WorkflowID", "payment:ord_abc123XYZ", "RunID", "r1")
	sdk.Info("Activity error.", "ActivityType", "TossConfirm")
	sdk.Warn("payment needs attention", "orderId", "ord_abc123XYZ", "code", "NOT_CANCELABLE_PAYMENT")
	// A line that carries the WorkflowID itself rather than through With.
	logger.Info("workflow task failed", "WorkflowID", "payment:ord_def456UVW")
	// A workflow about no single order.
	logger.With("WorkflowID", "reconcile-sweep").Info("sweep done")
	// A line about nothing in particular stays as it was.
	logger.Info("worker started", "temporal", "127.0.0.1:7233")

	lines := jsonLines(t, &buf)
	want := []struct{ orderID, workflowID string }{
		{"ord_abc123XYZ", "payment:ord_abc123XYZ"},
		{"ord_abc123XYZ", "payment:ord_abc123XYZ"},
		{"ord_def456UVW", "payment:ord_def456UVW"},
		{"", "reconcile-sweep"},
		{"", ""},
	}
	for i, w := range want {
		got := lines[i]
		if o, _ := got[LogOrderID].(string); o != w.orderID {
			t.Errorf("line %d (%s): orderId %q, want %q", i, got["msg"], o, w.orderID)
		}
		if wf, _ := got[LogWorkflowID].(string); wf != w.workflowID {
			t.Errorf("line %d (%s): workflowId %q, want %q", i, got["msg"], wf, w.workflowID)
		}
	}
	second := strings.Split(strings.TrimSpace(buf.String()), "\n")[1]
	if n := strings.Count(second, `"orderId"`); n != 1 {
		t.Errorf("the line names the order %d times: %s", n, second)
	}
	if lines[1]["code"] != "NOT_CANCELABLE_PAYMENT" || lines[0]["ActivityType"] != "TossConfirm" {
		t.Errorf("the lines' own attributes were lost: %v %v", lines[0], lines[1])
	}
}

// A line logged with the context of a traced request carries the trace, so a log search
// leads to the trace.
func TestLogHandler_TracedContextAddsTraceAndSpanID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
	})
	logger.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "order created", "orderId", "ord_abc123XYZ")
	logger.InfoContext(context.Background(), "no span")
	lines := jsonLines(t, &buf)
	if lines[0][LogTraceID] != sc.TraceID().String() || lines[0][LogSpanID] != sc.SpanID().String() {
		t.Errorf("traced line: %v", lines[0])
	}
	if lines[0][LogOrderID] != "ord_abc123XYZ" {
		t.Errorf("the line's own orderId was lost: %v", lines[0])
	}
	if _, ok := lines[1][LogTraceID]; ok {
		t.Errorf("an untraced line got a trace_id: %v", lines[1])
	}
}

func TestOrderOfWorkflow(t *testing.T) {
	for id, want := range map[string]string{
		"payment:ord_abc123XYZ":       "ord_abc123XYZ",
		"refund:ord_abc123XYZ:2":      "ord_abc123XYZ",
		"reconcile-sweep":             "",
		"payment:x":                   "",
		"payment:ord_'; DROP TABLE x": "",
	} {
		if got := OrderOfWorkflow(id); got != want {
			t.Errorf("OrderOfWorkflow(%q) = %q, want %q", id, got, want)
		}
	}
}
