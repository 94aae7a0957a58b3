package workflows_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/workflows"
)

// replayerFor is the replayer of a release's folder. From v0.3.0 on, recordings keep every
// payload that was sealed sealed (with the folder's replay.keys) and every plaintext payload
// plaintext, and replay with the workers' own converter, which refuses plaintext: the
// refusals replay as they ran. Older folders were recorded opened, with the SDK's default
// converter.
func replayerFor(dir string) (worker.WorkflowReplayer, error) {
	keyFile := filepath.Join(dir, "replay.keys")
	if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
		return worker.NewWorkflowReplayer(), nil
	}
	keys, err := codec.LoadOrCreateKeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	c, err := codec.New(keys...)
	if err != nil {
		return nil, err
	}
	dc := codec.SealedOnlyDataConverter(c, nil)
	return worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		DataConverter: dc, FailureConverter: codec.FailureConverter(dc),
	})
}

// TestReplay_RecordedHistories replays histories recorded from real runs on the dev stack,
// one folder per release: one of every workflow type and of each way a confirm or a refund
// ends, as that release ran them (see CHANGELOG.md). A change to a workflow that would break
// executions already running fails here: such a change must be guarded with
// workflow.GetVersion, and new behaviour gets histories of its own. Record a release's set
// with `PAYSAGA_RECORD_HISTORIES=v0.2.0 go test ./e2e -run
// 'TestConfirm_|TestRefund_|TestExpiry_|TestReconcile_'`; a recording never replaces a
// history already recorded, it only adds.
func TestReplay_RecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories/<release>/")
	}
	for _, f := range files {
		t.Run(filepath.Join(filepath.Base(filepath.Dir(f)), filepath.Base(f)), func(t *testing.T) {
			replayer, err := replayerFor(filepath.Dir(f))
			if err != nil {
				t.Fatal(err)
			}
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
