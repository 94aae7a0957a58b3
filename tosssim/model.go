package tosssim

import (
	"time"
)

// Payment is a payment as Toss writes it on the wire: the JSON shape of the documentation's
// Payment object, amounts as JSON numbers, times as "2006-01-02T15:04:05+09:00", null where
// Toss writes null. The simulator is KRW-only, so amounts are whole won.
type Payment struct {
	MID                 string            `json:"mId"`
	LastTransactionKey  *string           `json:"lastTransactionKey"`
	PaymentKey          string            `json:"paymentKey"`
	OrderID             string            `json:"orderId"`
	OrderName           string            `json:"orderName"`
	TaxExemptionAmount  int64             `json:"taxExemptionAmount"`
	Status              string            `json:"status"`
	RequestedAt         string            `json:"requestedAt"`
	ApprovedAt          *string           `json:"approvedAt"`
	UseEscrow           bool              `json:"useEscrow"`
	CultureExpense      bool              `json:"cultureExpense"`
	Card                *Card             `json:"card"`
	VirtualAccount      any               `json:"virtualAccount"`
	Transfer            any               `json:"transfer"`
	MobilePhone         any               `json:"mobilePhone"`
	GiftCertificate     any               `json:"giftCertificate"`
	CashReceipt         any               `json:"cashReceipt"`
	CashReceipts        any               `json:"cashReceipts"`
	Discount            any               `json:"discount"`
	Cancels             []Cancel          `json:"cancels"`
	Secret              *string           `json:"secret"`
	Type                string            `json:"type"`
	EasyPay             *EasyPay          `json:"easyPay"`
	Country             string            `json:"country"`
	Failure             *Failure          `json:"failure"`
	IsPartialCancelable bool              `json:"isPartialCancelable"`
	Receipt             *Link             `json:"receipt"`
	Checkout            *Link             `json:"checkout"`
	Currency            string            `json:"currency"`
	TotalAmount         int64             `json:"totalAmount"`
	BalanceAmount       int64             `json:"balanceAmount"`
	SuppliedAmount      int64             `json:"suppliedAmount"`
	VAT                 int64             `json:"vat"`
	TaxFreeAmount       int64             `json:"taxFreeAmount"`
	Metadata            map[string]string `json:"metadata"`
	Method              *string           `json:"method"`
	Version             string            `json:"version"`
}

// Card is the card part of a Payment.
type Card struct {
	IssuerCode            string  `json:"issuerCode"`
	AcquirerCode          string  `json:"acquirerCode"`
	Number                string  `json:"number"`
	InstallmentPlanMonths int     `json:"installmentPlanMonths"`
	IsInterestFree        bool    `json:"isInterestFree"`
	InterestPayer         *string `json:"interestPayer"`
	ApproveNo             string  `json:"approveNo"`
	UseCardPoint          bool    `json:"useCardPoint"`
	CardType              string  `json:"cardType"`
	OwnerType             string  `json:"ownerType"`
	AcquireStatus         string  `json:"acquireStatus"`
	Amount                int64   `json:"amount"`
}

// Cancel is one entry of Payment.Cancels.
type Cancel struct {
	TransactionKey        string  `json:"transactionKey"`
	CancelReason          string  `json:"cancelReason"`
	TaxExemptionAmount    int64   `json:"taxExemptionAmount"`
	CanceledAt            string  `json:"canceledAt"`
	EasyPayDiscountAmount int64   `json:"easyPayDiscountAmount"`
	ReceiptKey            *string `json:"receiptKey"`
	CancelAmount          int64   `json:"cancelAmount"`
	TaxFreeAmount         int64   `json:"taxFreeAmount"`
	RefundableAmount      int64   `json:"refundableAmount"`
	CancelStatus          string  `json:"cancelStatus"`
	CancelRequestID       *string `json:"cancelRequestId"`
}

// EasyPay is never set by the simulator (it only does cards); it is here for the shape.
type EasyPay struct {
	Provider       string `json:"provider"`
	Amount         int64  `json:"amount"`
	DiscountAmount int64  `json:"discountAmount"`
}

// Link is Toss's {"url": …} object (receipt, checkout).
type Link struct {
	URL string `json:"url"`
}

// Failure says why a payment failed.
type Failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Transaction is one entry of GET /v1/transactions.
type Transaction struct {
	MID            string  `json:"mId"`
	TransactionKey string  `json:"transactionKey"`
	PaymentKey     string  `json:"paymentKey"`
	OrderID        string  `json:"orderId"`
	Method         string  `json:"method"`
	CustomerKey    *string `json:"customerKey"`
	UseEscrow      bool    `json:"useEscrow"`
	ReceiptURL     string  `json:"receiptUrl"`
	Status         string  `json:"status"`
	TransactionAt  string  `json:"transactionAt"`
	Currency       string  `json:"currency"`
	Amount         int64   `json:"amount"`
}

const (
	apiVersion = "2022-11-16"
	simMID     = "tosssim"

	statusInProgress      = "IN_PROGRESS"
	statusDone            = "DONE"
	statusCanceled        = "CANCELED"
	statusPartialCanceled = "PARTIAL_CANCELED"
	statusAborted         = "ABORTED"
	statusExpired         = "EXPIRED"

	langKO = "ko"
	langEN = "en"

	timeLayout = "2006-01-02T15:04:05-07:00"
)

var kst = time.FixedZone("KST", 9*60*60)

func tossTime(t time.Time) string { return t.In(kst).Format(timeLayout) }

// record is the simulator's own, language-neutral state of one payment. Exported fields
// only so that StateFile can hold it.
type record struct {
	PaymentKey         string
	OrderID            string
	OrderName          string
	Status             string
	RequestedAt        time.Time
	ApprovedAt         time.Time
	TotalAmount        int64
	BalanceAmount      int64
	TaxFreeAmount      int64
	Approved           bool
	CardNumber         string // masked
	ApproveNo          string
	AcquireStatus      string
	LastTransactionKey string
	Secret             string
	ReceiptURL         string
	CheckoutURL        string
	Cancels            []cancelRecord
	FailureCode        string
	FailureMessage     string
	DeclineCode        string // decided at authorize by the card number; applied at confirm
	ReportedTotal      *int64 // tamper_amount: what answers say totalAmount is
}

type cancelRecord struct {
	TransactionKey   string
	ReceiptKey       string
	Reason           string
	Amount           int64
	TaxFreeAmount    int64
	RefundableAmount int64
	CanceledAt       time.Time
}

type txRecord struct {
	TransactionKey string
	PaymentKey     string
	OrderID        string
	Status         string
	At             time.Time
	Amount         int64
	ReceiptURL     string
}

// vatOf follows Toss: vat = round((amount − taxFree) / 11), half up; supplied = the rest.
func vatOf(amount, taxFree int64) (supplied, vat int64) {
	taxable := amount - taxFree
	if taxable <= 0 {
		return 0, 0
	}
	vat = (taxable*10 + 55) / 110 // round(taxable/11) with halves up, in integers
	return taxable - vat, vat
}

// view renders the record in Toss's shape. lang picks enum labels; tampered applies a
// tamper_amount fault to totalAmount (answers lie; Simulator.Payment tells the truth).
func (r *record) view(lang string, tampered bool) Payment {
	p := Payment{
		MID:                 simMID,
		PaymentKey:          r.PaymentKey,
		OrderID:             r.OrderID,
		OrderName:           r.OrderName,
		Status:              r.Status,
		RequestedAt:         tossTime(r.RequestedAt),
		Type:                "NORMAL",
		Country:             "KR",
		IsPartialCancelable: true,
		Currency:            "KRW",
		TotalAmount:         r.TotalAmount,
		BalanceAmount:       r.BalanceAmount,
		TaxFreeAmount:       r.TaxFreeAmount,
		Version:             apiVersion,
	}
	if tampered && r.ReportedTotal != nil {
		p.TotalAmount = *r.ReportedTotal
	}
	remainingTaxFree := r.TaxFreeAmount
	for _, c := range r.Cancels {
		remainingTaxFree -= c.TaxFreeAmount
	}
	p.SuppliedAmount, p.VAT = vatOf(r.BalanceAmount, max(remainingTaxFree, 0))
	if r.Secret != "" {
		p.Secret = ptr(r.Secret)
	}
	if r.LastTransactionKey != "" {
		p.LastTransactionKey = ptr(r.LastTransactionKey)
	}
	if r.CheckoutURL != "" {
		p.Checkout = &Link{URL: r.CheckoutURL}
	}
	if r.FailureCode != "" {
		p.Failure = &Failure{Code: r.FailureCode, Message: r.FailureMessage}
	}
	if r.Approved {
		p.ApprovedAt = ptr(tossTime(r.ApprovedAt))
		p.Method = ptr(label(lang, "카드", "CARD"))
		p.Card = &Card{
			IssuerCode:    "41",
			AcquirerCode:  "41",
			Number:        r.CardNumber,
			ApproveNo:     r.ApproveNo,
			CardType:      label(lang, "신용", "CREDIT"),
			OwnerType:     label(lang, "개인", "PERSONAL"),
			AcquireStatus: r.AcquireStatus,
			Amount:        p.TotalAmount,
		}
		p.Receipt = &Link{URL: r.ReceiptURL}
	}
	for _, c := range r.Cancels {
		p.Cancels = append(p.Cancels, Cancel{
			TransactionKey:   c.TransactionKey,
			CancelReason:     c.Reason,
			CanceledAt:       tossTime(c.CanceledAt),
			ReceiptKey:       ptr(c.ReceiptKey),
			CancelAmount:     c.Amount,
			TaxFreeAmount:    c.TaxFreeAmount,
			RefundableAmount: c.RefundableAmount,
			CancelStatus:     "DONE",
		})
	}
	return p
}

func (t *txRecord) view() Transaction {
	return Transaction{
		MID:            simMID,
		TransactionKey: t.TransactionKey,
		PaymentKey:     t.PaymentKey,
		OrderID:        t.OrderID,
		Method:         "카드",
		ReceiptURL:     t.ReceiptURL,
		Status:         t.Status,
		TransactionAt:  tossTime(t.At),
		Currency:       "KRW",
		Amount:         t.Amount,
	}
}

func label(lang, ko, en string) string {
	if lang == langEN {
		return en
	}
	return ko
}

func ptr[T any](v T) *T { return &v }
