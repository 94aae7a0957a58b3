package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/paysaga/paysaga/workflows"
)

// TestReplay_RecordedHistories replays histories recorded from real runs on the dev stack:
// one of every workflow type and of each way a confirm or a refund ends, as release v0.1.0
// ran them (see CHANGELOG.md). A change to a workflow that would break executions already
// running fails here: such a change must be guarded with workflow.GetVersion, and new
// behaviour gets a history of its own. Record with `PAYSAGA_RECORD_HISTORIES=1 go test
// ./e2e -run 'TestConfirm_|TestRefund_|TestExpiry_|TestReconcile_'`; a recording never
// replaces the histories of an earlier release, it only adds.
func TestReplay_RecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflow(workflows.ConfirmPayment)
			replayer.RegisterWorkflow(workflows.RefundPayment)
			replayer.RegisterWorkflow(workflows.ExpireOrders)
			replayer.RegisterWorkflow(workflows.Reconcile)
			replayer.RegisterWorkflow(workflows.PurgeIdempotencyKeys)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
