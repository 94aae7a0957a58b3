package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/paysaga/paysaga/workflows"
)

// TestReplay_RecordedHistories replays histories recorded from real runs on the dev stack
// (regenerate with `PAYSAGA_RECORD_HISTORIES=1 go test ./e2e -run TestConfirm_`). A change
// to the workflow that would break running payments fails here: such a change must be
// guarded with workflow.GetVersion.
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
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
