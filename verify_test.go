package paysaga_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
)

func TestVerify(t *testing.T) {
	won := decimal.NewFromInt
	order := paysaga.OrderFacts{OrderID: "ord_abcdef", UserID: 1, Quantity: 2, UnitPrice: won(15000), Amount: won(30000)}
	claim := paysaga.ConfirmClaim{OrderID: "ord_abcdef", UserID: 1, PaymentKey: "pk_1", Amount: won(30000)}
	inProgress := paysaga.PaymentFacts{OrderID: "ord_abcdef", PaymentKey: "pk_1", Status: paysaga.PaymentInProgress, TotalAmount: won(30000)}
	done := inProgress
	done.Status = paysaga.PaymentDone

	tests := []struct {
		name   string
		verify func(paysaga.OrderFacts, paysaga.ConfirmClaim, paysaga.PaymentFacts) error
		edit   func(o *paysaga.OrderFacts, c *paysaga.ConfirmClaim, p *paysaga.PaymentFacts)
		toss   paysaga.PaymentFacts
		want   string
	}{
		{"before: all three agree", paysaga.VerifyBeforeConfirm, nil, inProgress, ""},
		{"after: all three agree", paysaga.VerifyAfterConfirm, nil, done, ""},
		{"before: approved by an earlier attempt of this confirm", paysaga.VerifyBeforeConfirm, nil, done, ""},
		{"before: done for another amount", paysaga.VerifyBeforeConfirm,
			func(_ *paysaga.OrderFacts, _ *paysaga.ConfirmClaim, p *paysaga.PaymentFacts) { p.TotalAmount = won(1) },
			done, paysaga.CodeAmountMismatch},
		{"before: done with another paymentKey", paysaga.VerifyBeforeConfirm,
			func(_ *paysaga.OrderFacts, _ *paysaga.ConfirmClaim, p *paysaga.PaymentFacts) { p.PaymentKey = "pk_2" },
			done, paysaga.CodePaymentKeyMismatch},
		{"before: already cancelled", paysaga.VerifyBeforeConfirm,
			func(_ *paysaga.OrderFacts, _ *paysaga.ConfirmClaim, p *paysaga.PaymentFacts) {
				p.Status = paysaga.PaymentCanceled
			},
			done, paysaga.CodePaymentNotInProgress},
		{"before: payment not authenticated yet", paysaga.VerifyBeforeConfirm,
			func(_ *paysaga.OrderFacts, _ *paysaga.ConfirmClaim, p *paysaga.PaymentFacts) {
				p.Status = paysaga.PaymentReady
			},
			inProgress, paysaga.CodePaymentNotInProgress},
		{"before: the 10-minute session expired", paysaga.VerifyBeforeConfirm,
			func(_ *paysaga.OrderFacts, _ *paysaga.ConfirmClaim, p *paysaga.PaymentFacts) {
				p.Status = paysaga.PaymentExpired
			},
			inProgress, paysaga.CodePaymentSessionExpired},
		{"after: confirm left it in progress", paysaga.VerifyAfterConfirm, nil, inProgress, paysaga.CodePaymentNotDone},
		{"after: aborted", paysaga.VerifyAfterConfirm,
			func(_ *paysaga.OrderFacts, _ *paysaga.ConfirmClaim, p *paysaga.PaymentFacts) {
				p.Status = paysaga.PaymentAborted
			},
			done, paysaga.CodePaymentNotDone},
		{"client lowered the amount", paysaga.VerifyBeforeConfirm,
			func(_ *paysaga.OrderFacts, c *paysaga.ConfirmClaim, _ *paysaga.PaymentFacts) { c.Amount = won(100) },
			inProgress, paysaga.CodeAmountMismatch},
		{"Toss holds another amount", paysaga.VerifyBeforeConfirm,
			func(_ *paysaga.OrderFacts, _ *paysaga.ConfirmClaim, p *paysaga.PaymentFacts) {
				p.TotalAmount = won(29999)
			},
			inProgress, paysaga.CodeAmountMismatch},
		{"Toss approved another amount", paysaga.VerifyAfterConfirm,
			func(_ *paysaga.OrderFacts, _ *paysaga.ConfirmClaim, p *paysaga.PaymentFacts) { p.TotalAmount = won(1) },
			done, paysaga.CodeAmountMismatch},
		{"stored amount differs from price × quantity", paysaga.VerifyBeforeConfirm,
			func(o *paysaga.OrderFacts, c *paysaga.ConfirmClaim, p *paysaga.PaymentFacts) {
				o.Amount, c.Amount, p.TotalAmount = won(20000), won(20000), won(20000)
			},
			inProgress, paysaga.CodeAmountMismatch},
		{"paymentKey of another payment", paysaga.VerifyBeforeConfirm,
			func(_ *paysaga.OrderFacts, c *paysaga.ConfirmClaim, _ *paysaga.PaymentFacts) { c.PaymentKey = "pk_2" },
			inProgress, paysaga.CodePaymentKeyMismatch},
		{"Toss reports another order", paysaga.VerifyBeforeConfirm,
			func(_ *paysaga.OrderFacts, _ *paysaga.ConfirmClaim, p *paysaga.PaymentFacts) {
				p.OrderID = "ord_other1"
			},
			inProgress, paysaga.CodeOrderIDMismatch},
		{"request names another order", paysaga.VerifyAfterConfirm,
			func(_ *paysaga.OrderFacts, c *paysaga.ConfirmClaim, _ *paysaga.PaymentFacts) {
				c.OrderID = "ord_other1"
			},
			done, paysaga.CodeOrderIDMismatch},
		{"another user's order reads as not found", paysaga.VerifyBeforeConfirm,
			func(_ *paysaga.OrderFacts, c *paysaga.ConfirmClaim, _ *paysaga.PaymentFacts) { c.UserID = 2 },
			inProgress, paysaga.CodeOrderNotFound},
		{"amounts equal in value but not in scale", paysaga.VerifyAfterConfirm,
			func(_ *paysaga.OrderFacts, c *paysaga.ConfirmClaim, _ *paysaga.PaymentFacts) {
				c.Amount = decimal.RequireFromString("30000.00")
			},
			done, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, c, p := order, claim, tt.toss
			if tt.edit != nil {
				tt.edit(&o, &c, &p)
			}
			err := tt.verify(o, c, p)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			if got := paysaga.ErrorCode(err); got != tt.want {
				t.Fatalf("want code %s, got %s (%v)", tt.want, got, err)
			}
		})
	}
}

func TestCanTransition(t *testing.T) {
	tests := []struct {
		from, to paysaga.OrderStatus
		want     bool
	}{
		{paysaga.StatusCreated, paysaga.StatusConfirming, true},
		{paysaga.StatusCreated, paysaga.StatusPaid, true}, // reconciliation recovering a verified payment
		{paysaga.StatusCreated, paysaga.StatusExpired, true},
		{paysaga.StatusConfirming, paysaga.StatusPaid, true},
		{paysaga.StatusConfirming, paysaga.StatusFailed, true},
		{paysaga.StatusConfirming, paysaga.StatusCreated, false},
		{paysaga.StatusPaid, paysaga.StatusConfirming, false},
		{paysaga.StatusPaid, paysaga.StatusFailed, false},
		{paysaga.StatusPaid, paysaga.StatusCanceled, true},
		{paysaga.StatusPaid, paysaga.StatusPartialCanceled, true},
		{paysaga.StatusPartialCanceled, paysaga.StatusPartialCanceled, true},
		{paysaga.StatusPartialCanceled, paysaga.StatusCanceled, true},
		{paysaga.StatusFailed, paysaga.StatusConfirming, false},
		{paysaga.StatusExpired, paysaga.StatusConfirming, false},
		{paysaga.StatusExpired, paysaga.StatusPaid, true},
		{paysaga.StatusCanceled, paysaga.StatusPaid, false},
		{paysaga.StatusNeedsAttention, paysaga.StatusFailed, true},
		{paysaga.StatusNeedsAttention, paysaga.StatusPaid, true},
		{paysaga.StatusConfirming, paysaga.StatusNeedsAttention, true},
	}
	for _, tt := range tests {
		if got := paysaga.CanTransition(tt.from, tt.to); got != tt.want {
			t.Errorf("%s → %s: want %v, got %v", tt.from, tt.to, tt.want, got)
		}
	}
	// An EXPIRED order can still be recovered to PAID by reconciliation, so it is not terminal.
	for _, s := range []paysaga.OrderStatus{paysaga.StatusFailed, paysaga.StatusCanceled} {
		if !s.Terminal() {
			t.Errorf("%s should be terminal", s)
		}
	}
	if paysaga.StatusPaid.Terminal() {
		t.Error("PAID is not terminal: it can still be refunded")
	}
}

func TestValidateKRW(t *testing.T) {
	tests := []struct {
		amount string
		ok     bool
	}{
		{"1000", true}, {"1", true}, {"0", false}, {"-500", false}, {"1000.5", false}, {"1000.00", true},
	}
	for _, tt := range tests {
		err := paysaga.ValidateKRW(decimal.RequireFromString(tt.amount))
		if (err == nil) != tt.ok {
			t.Errorf("%s: want ok=%v, got %v", tt.amount, tt.ok, err)
		}
		if err != nil && paysaga.ErrorCode(err) != paysaga.CodeInvalidRequest {
			t.Errorf("%s: want INVALID_REQUEST, got %v", tt.amount, err)
		}
	}
	if got := paysaga.OrderAmount(decimal.NewFromInt(39000), 3); !got.Equal(decimal.NewFromInt(117000)) {
		t.Errorf("OrderAmount: got %s", got)
	}
}
