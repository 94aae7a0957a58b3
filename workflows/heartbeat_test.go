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

// Every Toss call is scheduled with a heartbeat timeout, so that a worker that dies during
// one is noticed within seconds and the call retried on another worker, not after the
// step's whole start-to-close timeout. The database steps are short and need none.
func (s *confirmSuite) TestTossCalls_HaveHeartbeatTimeouts() {
	heartbeat := map[string]time.Duration{}
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		heartbeat[info.ActivityType.Name] = info.HeartbeatTimeout
	})
	s.happyUntilConfirm()
	tampered := done
	tampered.TotalAmount = decimal.NewFromInt(1000)
	s.env.OnActivity(a.ConfirmPayment, mock.Anything, claim).Return(tampered, nil).Once()
	s.env.OnActivity(a.CancelPayment, mock.Anything, mock.Anything).Return(canceled, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.expectFailed(paysaga.CodeAmountMismatch)

	_, err := s.run()
	s.requireCode(err, paysaga.CodeAmountMismatch)
	for _, name := range []string{"FetchPayment", "ConfirmPayment", "CancelPayment"} {
		s.Positive(heartbeat[name], "%s has no heartbeat timeout", name)
		s.Less(heartbeat[name], 35*time.Second, "%s: a heartbeat timeout must be shorter than the call's timeout", name)
	}
	for _, name := range []string{"BeginConfirm", "ReserveStock", "ReleaseStock", "FailPayment"} {
		s.Zero(heartbeat[name], "%s is a short database step", name)
	}
}
