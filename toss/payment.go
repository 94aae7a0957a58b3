package toss

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
)

// TimeLayout is how Toss writes times: Korean local time with its offset.
const TimeLayout = "2006-01-02T15:04:05-07:00"

// KST is Korea Standard Time, the zone of every time Toss writes.
var KST = time.FixedZone("KST", 9*60*60)

// Payment is Toss's Payment object. Amounts are decimal (Toss writes JSON numbers), times
// are parsed from Toss's "2006-01-02T15:04:05+09:00" form; fields Toss adds later are
// ignored. Nullable objects are nil when Toss sends null.
type Payment struct {
	Version             string            `json:"version"`
	MID                 string            `json:"mId"`
	PaymentKey          string            `json:"paymentKey"`
	Type                string            `json:"type"`
	OrderID             string            `json:"orderId"`
	OrderName           string            `json:"orderName"`
	Status              string            `json:"status"`
	RequestedAt         time.Time         `json:"requestedAt"`
	ApprovedAt          *time.Time        `json:"approvedAt"`
	Currency            string            `json:"currency"`
	Method              string            `json:"method"`
	TotalAmount         decimal.Decimal   `json:"totalAmount"`
	BalanceAmount       decimal.Decimal   `json:"balanceAmount"`
	SuppliedAmount      decimal.Decimal   `json:"suppliedAmount"`
	VAT                 decimal.Decimal   `json:"vat"`
	TaxFreeAmount       decimal.Decimal   `json:"taxFreeAmount"`
	TaxExemptionAmount  decimal.Decimal   `json:"taxExemptionAmount"`
	UseEscrow           bool              `json:"useEscrow"`
	CultureExpense      bool              `json:"cultureExpense"`
	IsPartialCancelable bool              `json:"isPartialCancelable"`
	LastTransactionKey  string            `json:"lastTransactionKey"`
	Secret              string            `json:"secret"`
	Country             string            `json:"country"`
	Metadata            map[string]string `json:"metadata"`
	Cancels             []Cancel          `json:"cancels"`
	Card                *Card             `json:"card"`
	EasyPay             *EasyPay          `json:"easyPay"`
	Receipt             *Receipt          `json:"receipt"`
	Checkout            *Checkout         `json:"checkout"`
	Failure             *Failure          `json:"failure"`
}

// Cancel is one entry of Payment.Cancels.
type Cancel struct {
	CancelAmount          decimal.Decimal `json:"cancelAmount"`
	CancelReason          string          `json:"cancelReason"`
	TaxFreeAmount         decimal.Decimal `json:"taxFreeAmount"`
	TaxExemptionAmount    decimal.Decimal `json:"taxExemptionAmount"`
	RefundableAmount      decimal.Decimal `json:"refundableAmount"`
	EasyPayDiscountAmount decimal.Decimal `json:"easyPayDiscountAmount"`
	CanceledAt            time.Time       `json:"canceledAt"`
	TransactionKey        string          `json:"transactionKey"`
	ReceiptKey            string          `json:"receiptKey"`
	CancelStatus          string          `json:"cancelStatus"`
	CancelRequestID       string          `json:"cancelRequestId"`
}

// Card is the card part of a card payment.
type Card struct {
	Amount                decimal.Decimal `json:"amount"`
	IssuerCode            string          `json:"issuerCode"`
	AcquirerCode          string          `json:"acquirerCode"`
	Number                string          `json:"number"`
	InstallmentPlanMonths int             `json:"installmentPlanMonths"`
	ApproveNo             string          `json:"approveNo"`
	UseCardPoint          bool            `json:"useCardPoint"`
	CardType              string          `json:"cardType"`
	OwnerType             string          `json:"ownerType"`
	AcquireStatus         string          `json:"acquireStatus"`
	IsInterestFree        bool            `json:"isInterestFree"`
	InterestPayer         string          `json:"interestPayer"`
}

// EasyPay is the easy-pay (토스페이, 네이버페이, …) part of a payment. One documentation sample
// shows easyPay as a bare string (the provider); that form decodes into Provider.
type EasyPay struct {
	Provider       string          `json:"provider"`
	Amount         decimal.Decimal `json:"amount"`
	DiscountAmount decimal.Decimal `json:"discountAmount"`
}

// UnmarshalJSON accepts both the object and the bare-string form.
func (e *EasyPay) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*e = EasyPay{}
		return json.Unmarshal(b, &e.Provider)
	}
	type plain EasyPay
	return json.Unmarshal(b, (*plain)(e))
}

// Receipt points at the card slip.
type Receipt struct {
	URL string `json:"url"`
}

// Checkout points at the payment window.
type Checkout struct {
	URL string `json:"url"`
}

// Failure says why a payment failed.
type Failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Facts reduces the payment to what the domain's decisions need.
func (p *Payment) Facts() paysaga.PaymentFacts {
	f := paysaga.PaymentFacts{
		PaymentKey:  p.PaymentKey,
		OrderID:     p.OrderID,
		Status:      p.Status,
		TotalAmount: p.TotalAmount,
		Method:      p.Method,
	}
	if p.ApprovedAt != nil {
		t := *p.ApprovedAt
		f.ApprovedAt = &t
	}
	return f
}

// UnmarshalJSON reads Toss's time format into the time fields and everything else as tagged.
func (p *Payment) UnmarshalJSON(b []byte) error {
	type plain Payment
	aux := struct {
		*plain
		RequestedAt tossTime  `json:"requestedAt"`
		ApprovedAt  *tossTime `json:"approvedAt"`
	}{plain: (*plain)(p)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.RequestedAt = time.Time(aux.RequestedAt)
	p.ApprovedAt = aux.ApprovedAt.ptr()
	return nil
}

// UnmarshalJSON reads canceledAt in Toss's time format.
func (c *Cancel) UnmarshalJSON(b []byte) error {
	type plain Cancel
	aux := struct {
		*plain
		CanceledAt tossTime `json:"canceledAt"`
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	c.CanceledAt = time.Time(aux.CanceledAt)
	return nil
}

// tossTime decodes Toss's timestamps. null and "" decode to the zero time.
type tossTime time.Time

func (t *tossTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("toss time: %w", err)
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = tossTime(parsed)
	return nil
}

func (t *tossTime) ptr() *time.Time {
	if t == nil || time.Time(*t).IsZero() {
		return nil
	}
	v := time.Time(*t)
	return &v
}

// ParseTime parses a time as Toss writes it ("2024-02-13T12:18:14+09:00"). It also takes
// fractional seconds, any offset, and — as Toss's query parameters use — no offset at all,
// which means KST. "" is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05", s, KST)
	if err != nil {
		return time.Time{}, fmt.Errorf("toss time %q: not in %s form", s, TimeLayout)
	}
	return t, nil
}
