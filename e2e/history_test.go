package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/temporalproto"
)

var (
	recordedMu sync.Mutex
	recorded   = map[string]bool{}
)

// recordHistory saves a finished workflow's history for the replay test in package
// workflows, when PAYSAGA_RECORD_HISTORIES is set. A scenario that runs once per app
// database records from its SQLite run only: the history is the same on both, and one
// file per scenario is enough.
func (c *checkout) recordHistory(workflowID, name string) {
	c.t.Helper()
	if os.Getenv("PAYSAGA_RECORD_HISTORIES") == "" || filepath.Base(c.t.Name()) == "postgres" {
		return
	}
	// The first run of a scenario is the one recorded: a later run of the same workflow in
	// the same test (a second reconciliation, say) has less to show.
	recordedMu.Lock()
	first := !recorded[name]
	recorded[name] = true
	recordedMu.Unlock()
	if !first {
		return
	}
	iter := c.stack.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var hist historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			c.t.Fatalf("read history of %s: %v", workflowID, err)
		}
		hist.Events = append(hist.Events, ev)
	}
	// The stack seals payloads with its own codec key; the replay test runs with the SDK's
	// default converter and no key, so the recording keeps them opened.
	if err := proxy.VisitPayloads(context.Background(), &hist, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return c.stack.Codec.Decode(p)
		},
		SkipSearchAttributes: true,
	}); err != nil {
		c.t.Fatalf("open the payloads of %s: %v", workflowID, err)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&hist)
	if err != nil {
		c.t.Fatal(err)
	}
	path := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("recorded %s", path)
}

// recordRefundHistory records the history of the order's first refund, whose workflow ID
// the API derived from the request and stored with it.
func (c *checkout) recordRefundHistory(orderID, name string) {
	c.t.Helper()
	if os.Getenv("PAYSAGA_RECORD_HISTORIES") == "" || filepath.Base(c.t.Name()) == "postgres" {
		return
	}
	refunds, err := c.stack.Store.Refunds(context.Background(), orderID)
	if err != nil || len(refunds) == 0 {
		c.t.Fatalf("refunds of %s: %+v, %v", orderID, refunds, err)
	}
	c.recordHistory(refunds[0].RequestID, name)
}
