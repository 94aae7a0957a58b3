package workflows_test

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/paysaga/paysaga"
)

// The confirm's own steps run as local activities, inside the workflow task; the steps that
// give money back run as regular activities with a heartbeat timeout, so that a worker
// that dies during one is noticed within seconds and the call retried on another worker,
// not after the step's whole start-to-close timeout (see the activity options).
func (s *confirmSuite) TestConfirmStepsAreLocal_MoneyBackStepsHeartbeat() {
	heartbeat := map[string]time.Duration{}
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		heartbeat[info.ActivityType.Name] = info.HeartbeatTimeout
	})
	local := map[string]bool{}
	s.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		local[info.ActivityType.Name] = true
	})
	s.happyUntilConfirm()
	tampered := done
	tampered.TotalAmount = decimal.NewFromInt(1000)
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).Return(tampered, nil).Once()
	s.env.OnActivity(a.TossCancel, mock.Anything, mock.Anything).Return(canceled, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.expectFailed(paysaga.CodeAmountMismatch)

	_, err := s.run()
	s.requireCode(err, paysaga.CodeAmountMismatch)
	s.Positive(heartbeat["TossCancel"], "TossCancel has no heartbeat timeout")
	s.Less(heartbeat["TossCancel"], 35*time.Second, "a heartbeat timeout must be shorter than the call's timeout")
	s.False(local["TossCancel"], "TossCancel gives money back: a regular activity")
	for _, name := range []string{"BeginConfirm", "ReserveStock", "TossGetPayment", "TossConfirm", "ReleaseStock", "FailPayment"} {
		s.True(local[name], "%s is a step of the confirm: a local activity", name)
		s.NotContains(heartbeat, name, "%s ran as a regular activity", name)
	}
}
