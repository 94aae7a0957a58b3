package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
)

// ReconcileScheduleID is the Temporal Schedule that runs Reconcile every ten minutes.
const ReconcileScheduleID = "paysaga-reconcile"

// Defaults of a scheduled reconciliation: each run reads the last day of Toss's
// transactions (runs overlap, and settling is idempotent), and a CONFIRMING order is looked
// at once it has been still for five minutes — longer than any step of its saga waits.
const (
	DefaultReconcileEvery      = 10 * time.Minute
	DefaultReconcileWindow     = 24 * time.Hour
	DefaultReconcileStaleAfter = 5 * time.Minute
)

var rec *activities.Reconciler

// Reconcile compares the store with Toss and settles every difference through the saga's
// verified steps, then stores a report of the run: what was checked, what differed and
// what was done. A difference it cannot settle parks its order as NEEDS_ATTENTION.
func Reconcile(ctx workflow.Context, in activities.ReconcileInput) (paysaga.ReconcileRun, error) {
	if in.Window <= 0 {
		in.Window = DefaultReconcileWindow
	}
	if in.StaleAfter <= 0 {
		in.StaleAfter = DefaultReconcileStaleAfter
	}
	var scan activities.ReconcileScan
	if err := workflow.ExecuteActivity(reconcileScan.on(ctx), rec.FindDiscrepancies, in).Get(ctx, &scan); err != nil {
		return paysaga.ReconcileRun{}, err
	}
	items := make([]paysaga.ReconcileItem, 0, len(scan.Findings))
	for _, f := range scan.Findings {
		var item paysaga.ReconcileItem
		if err := workflow.ExecuteActivity(giveMoneyBack.on(ctx), rec.SettleFinding, f).Get(ctx, &item); err != nil {
			code, message := failureOf(err)
			item = paysaga.ReconcileItem{OrderID: f.OrderID, PaymentKey: f.PaymentKey, Finding: f.Kind, DBStatus: f.DBStatus,
				TossStatus: f.TossStatus, Action: paysaga.ActionNeedsAttention, Note: code + ": " + message}
		}
		items = append(items, item)
	}
	info := workflow.GetInfo(ctx)
	var run paysaga.ReconcileRun
	in2 := activities.RecordReconciliationInput{RunID: info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID, Scan: scan, Items: items}
	err := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), rec.RecordReconciliation, in2).Get(ctx, &run)
	workflow.GetLogger(ctx).Info("reconciliation finished", "checked", scan.Checked, "settled", run.Settled, "unsettled", run.Unsettled)
	return run, err
}
