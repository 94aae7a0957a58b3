package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/paysaga/paysaga/activities"
)

// tossStepNames is the change that named the Toss steps and the expiry sweep for what they
// do (TossConfirm, where release v0.1.0 said ConfirmPayment, the name of the confirm
// workflow itself). Executions begun before it recorded the old names in their histories:
// replaying one must schedule the same names, and one still running goes on under them (the
// worker registers the steps under both). Each workflow asks once, before its first step.
const tossStepNames = "toss-step-names"

// renamedSteps are the renamed steps as this execution calls them: by the name release
// v0.1.0 gave them if it began under that release, by the method otherwise.
type renamedSteps struct {
	tossGetPayment, tossConfirm, tossCancel, tossRefund, expireBatch any
}

func renamedStepsOf(ctx workflow.Context) renamedSteps {
	if workflow.GetVersion(ctx, tossStepNames, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return renamedSteps{
			tossGetPayment: activities.V010NameTossGetPayment,
			tossConfirm:    activities.V010NameTossConfirm,
			tossCancel:     activities.V010NameTossCancel,
			tossRefund:     activities.V010NameTossRefund,
			expireBatch:    activities.V010NameExpireBatch,
		}
	}
	return renamedSteps{
		tossGetPayment: acts.TossGetPayment,
		tossConfirm:    acts.TossConfirm,
		tossCancel:     acts.TossCancel,
		tossRefund:     acts.TossRefund,
		expireBatch:    acts.ExpireBatch,
	}
}
