package e2e

import (
	"context"
	"os"
	"path/filepath"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/temporalproto"
)

// recordHistory saves a finished workflow's history for the replay test in package
// workflows, when PAYSAGA_RECORD_HISTORIES is set. It records only from the SQLite stack,
// whose runs are the dev stack's.
func (c *checkout) recordHistory(workflowID, name string) {
	c.t.Helper()
	if os.Getenv("PAYSAGA_RECORD_HISTORIES") == "" || filepath.Base(c.t.Name()) != "sqlite" {
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
