package telemetry

import (
	"context"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/paysaga/paysaga"
)

// Log keys that tie a line to an order, its saga and its trace.
const (
	LogOrderID    = "orderId"
	LogWorkflowID = "workflowId"
	LogTraceID    = "trace_id"
	LogSpanID     = "span_id"
)

// sdkWorkflowID is the key the Temporal SDK tags its workflow and activity loggers with.
const sdkWorkflowID = "WorkflowID"

// LogHandler wraps h so that every line about an order says which, wherever it comes from:
// a logger tagged with the Temporal SDK's WorkflowID (the SDK's own lines, workflow.GetLogger,
// activity.GetLogger) also gets workflowId and — for a saga of an order, "payment:<orderId>"
// — orderId. A line logged with a context that holds a span gets trace_id and span_id, so a
// log search leads to the trace and back.
func LogHandler(h slog.Handler) slog.Handler { return &logHandler{next: h} }

type logHandler struct {
	next slog.Handler
	// tagged: workflowId (and orderId) were added with the logger's attributes already.
	tagged bool
}

func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if h.tagged {
		return &logHandler{next: h.next.WithAttrs(attrs), tagged: true}
	}
	tags := orderTags(attrs)
	if len(tags) == 0 {
		return &logHandler{next: h.next.WithAttrs(attrs)}
	}
	kept := make([]slog.Attr, 0, len(attrs)+len(tags))
	for _, a := range attrs {
		if a.Key != LogOrderID && a.Key != LogWorkflowID {
			kept = append(kept, a)
		}
	}
	return &logHandler{next: h.next.WithAttrs(append(kept, tags...)), tagged: true}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name), tagged: h.tagged}
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	var tags []slog.Attr
	if !h.tagged {
		var attrs []slog.Attr
		r.Attrs(func(a slog.Attr) bool {
			attrs = append(attrs, a)
			return true
		})
		tags = orderTags(attrs)
	}
	if h.tagged || len(tags) > 0 {
		// The logger (or the record) names the order already: drop the record's own
		// orderId/workflowId so that the line does not carry them twice.
		out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool {
			if a.Key != LogOrderID && a.Key != LogWorkflowID {
				out.AddAttrs(a)
			}
			return true
		})
		out.AddAttrs(tags...)
		r = out
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String(LogTraceID, sc.TraceID().String()), slog.String(LogSpanID, sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

// orderTags derives workflowId and orderId from the SDK's WorkflowID among attrs.
func orderTags(attrs []slog.Attr) []slog.Attr {
	for _, a := range attrs {
		if a.Key != sdkWorkflowID {
			continue
		}
		id := a.Value.Resolve().String()
		tags := []slog.Attr{slog.String(LogWorkflowID, id)}
		if orderID := OrderOfWorkflow(id); orderID != "" {
			tags = append(tags, slog.String(LogOrderID, orderID))
		}
		return tags
	}
	return nil
}

// OrderOfWorkflow returns the order a workflow ID of the form "<kind>:<orderId>[:…]" is
// about ("payment:ord_…"), or "" for a workflow about no single order.
func OrderOfWorkflow(workflowID string) string {
	_, rest, ok := strings.Cut(workflowID, ":")
	if !ok {
		return ""
	}
	orderID, _, _ := strings.Cut(rest, ":")
	if !paysaga.ValidOrderID(orderID) {
		return ""
	}
	return orderID
}
