package tosssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_=-]{6,64}$`)

// maxAmount bounds amounts the simulator takes: far beyond any real payment, far below
// int64 overflow when amounts are added up.
const maxAmount = 1_000_000_000_000

var errNoAmount = errors.New("missing")

// parseWon reads an amount given as a JSON number or a numeric string ("15000"), as the
// official samples send the string from the redirect URL. It must be a whole number of won.
func parseWon(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errNoAmount
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, err
		}
		text = strings.TrimSpace(text)
	}
	d, err := decimal.NewFromString(text)
	if err != nil {
		return 0, err
	}
	if !d.IsInteger() || d.IsNegative() || d.GreaterThan(decimal.NewFromInt(maxAmount)) {
		return 0, errors.New("not a whole number of won in range")
	}
	return d.IntPart(), nil
}

func (s *Simulator) orderOfKey(c *call) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec := s.payments[c.r.PathValue("paymentKey")]; rec != nil {
		return rec.OrderID
	}
	return ""
}

func (s *Simulator) orderOfPath(c *call) string { return c.r.PathValue("orderId") }

func (s *Simulator) orderOfBody(c *call) string {
	var b struct {
		OrderID string `json:"orderId"`
	}
	_ = json.Unmarshal(c.body, &b)
	return b.OrderID
}

func (s *Simulator) orderOfConfirm(c *call) string { return s.orderOfBody(c) }

// sweep expires every payment whose confirm window has passed, so that reads, stats and
// webhooks see EXPIRED as soon as anything happens after the deadline.
func (s *Simulator) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for key := range s.inProgress {
		s.expireIfDue(s.payments[key], now)
	}
}

// expireIfDue ends an unconfirmed payment whose session is over. Callers hold s.mu.
func (s *Simulator) expireIfDue(rec *record, now time.Time) {
	if rec == nil || rec.Status != statusInProgress || now.Before(rec.RequestedAt.Add(SessionTimeout)) {
		return
	}
	rec.Status = statusExpired
	delete(s.inProgress, rec.PaymentKey)
	s.stats.expirations[rec.OrderID]++
	s.changed(rec)
}

// changed records a status change: state file and webhook. Callers hold s.mu.
func (s *Simulator) changed(rec *record) {
	s.markDirty()
	s.emitWebhook(rec)
}

type authorizeInput struct {
	OrderID       string          `json:"orderId"`
	OrderName     string          `json:"orderName"`
	Amount        json.RawMessage `json:"amount"`
	TaxFreeAmount json.RawMessage `json:"taxFreeAmount"`
	CardNumber    string          `json:"cardNumber"`
}

type authorizeOutput struct {
	PaymentKey string `json:"paymentKey"`
	OrderID    string `json:"orderId"`
	Amount     int64  `json:"amount"`
}

func (s *Simulator) authorizeAPI(c *call) answer {
	var in authorizeInput
	if err := json.Unmarshal(c.body, &in); err != nil {
		return fail(c.lang, "INVALID_REQUEST", 0, "")
	}
	out, refusal := s.authorize(in, baseURLOf(c.r), c.lang)
	if refusal != nil {
		return *refusal
	}
	return ok(out)
}

// authorize stands in for the customer finishing the payment window: the payment exists
// and waits IN_PROGRESS for the merchant's confirm. An orderId that already has a payment is
// refused with 400 DUPLICATED_ORDER_ID.
func (s *Simulator) authorize(in authorizeInput, base, lang string) (authorizeOutput, *answer) {
	invalid := func(msg string) (authorizeOutput, *answer) {
		a := fail(lang, "INVALID_REQUEST", 0, label(lang, "잘못된 요청입니다: ", "Invalid request: ")+msg)
		return authorizeOutput{}, &a
	}
	if !orderIDPattern.MatchString(in.OrderID) {
		return invalid("orderId")
	}
	if n := utf8.RuneCountInString(in.OrderName); n < 1 || n > 100 {
		return invalid("orderName")
	}
	amount, err := parseWon(in.Amount)
	if err != nil || amount <= 0 {
		return invalid("amount")
	}
	var taxFree int64
	if len(in.TaxFreeAmount) > 0 {
		taxFree, err = parseWon(in.TaxFreeAmount)
		if err != nil && !errors.Is(err, errNoAmount) || taxFree > amount {
			return invalid("taxFreeAmount")
		}
	}
	digits := onlyDigits(in.CardNumber)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.byOrder[in.OrderID]; taken {
		a := fail(lang, "DUPLICATED_ORDER_ID", 0, "")
		return authorizeOutput{}, &a
	}
	now := s.now()
	key := ""
	for key == "" || s.payments[key] != nil {
		key = "tsim" + now.In(kst).Format("20060102150405") + s.randString(10, keyAlphabet)
	}
	rec := &record{
		PaymentKey:    key,
		OrderID:       in.OrderID,
		OrderName:     in.OrderName,
		Status:        statusInProgress,
		RequestedAt:   now,
		TotalAmount:   amount,
		BalanceAmount: amount,
		TaxFreeAmount: taxFree,
		CardNumber:    maskCard(digits),
		Secret:        "ps_" + s.randString(24, keyAlphabet),
		CheckoutURL: base + "/window?" + url.Values{
			"orderId": {in.OrderID}, "orderName": {in.OrderName}, "amount": {strconv.FormatInt(amount, 10)},
		}.Encode(),
	}
	// A card number ending in 9999 is one the card company will refuse at confirm.
	if strings.HasSuffix(digits, "9999") {
		rec.DeclineCode = "REJECT_CARD_PAYMENT"
	}
	s.payments[key] = rec
	s.byOrder[in.OrderID] = key
	s.inProgress[key] = struct{}{}
	s.markDirty()
	return authorizeOutput{PaymentKey: key, OrderID: in.OrderID, Amount: amount}, nil
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maskCard writes a card number the way Toss does ("43301234****123*"). Any input goes; a
// short or empty one is padded with a fixed test number.
func maskCard(digits string) string {
	const fallback = "4330123412341234"
	if len(digits) < 16 {
		digits += fallback[len(digits):]
	}
	return digits[:8] + "****" + digits[12:15] + "*"
}

func (s *Simulator) confirm(c *call) answer {
	var in struct {
		PaymentKey string          `json:"paymentKey"`
		OrderID    string          `json:"orderId"`
		Amount     json.RawMessage `json:"amount"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil || in.PaymentKey == "" || in.OrderID == "" {
		return fail(c.lang, "INVALID_REQUEST", 0, "")
	}
	amount, err := parseWon(in.Amount)
	if err != nil || amount <= 0 {
		return fail(c.lang, "INVALID_REQUEST", 0, "")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	rec := s.payments[in.PaymentKey]
	// A paymentKey that belongs to another order identifies no payment of this order.
	if rec == nil || rec.OrderID != in.OrderID {
		return fail(c.lang, "NOT_FOUND_PAYMENT", 0, "")
	}
	s.expireIfDue(rec, now)
	switch rec.Status {
	case statusInProgress:
	case statusExpired:
		return fail(c.lang, "NOT_FOUND_PAYMENT_SESSION", 0, "")
	default: // DONE, PARTIAL_CANCELED, CANCELED, ABORTED: the session was used up
		return fail(c.lang, "ALREADY_PROCESSED_PAYMENT", 0, "")
	}
	if amount != rec.TotalAmount {
		return fail(c.lang, "INVALID_REQUEST", 0,
			label(c.lang, "결제 금액이 인증된 금액과 일치하지 않습니다.", "The amount does not match the authorized amount."))
	}
	delete(s.inProgress, rec.PaymentKey)

	declineCode, declineStatus, declineMsg := rec.DeclineCode, 0, ""
	if d := c.plan.decline; d != nil {
		declineCode, declineStatus, declineMsg = d.Code, d.Status, d.Message
	}
	if declineCode != "" {
		ans := fail(c.lang, declineCode, declineStatus, declineMsg)
		rec.Status = statusAborted
		rec.FailureCode = declineCode
		rec.FailureMessage = messageOf(declineCode, langKO)
		if declineMsg != "" {
			rec.FailureMessage = declineMsg
		}
		s.stats.aborts[rec.OrderID]++
		s.changed(rec)
		return ans
	}

	rec.Status = statusDone
	rec.Approved = true
	rec.ApprovedAt = now
	rec.ApproveNo = s.randString(8, "0123456789")
	rec.AcquireStatus = "READY"
	rec.LastTransactionKey = s.newTransactionKey()
	rec.ReceiptURL = baseURLOf(c.r) + "/sim/v1/receipts/" + url.PathEscape(rec.PaymentKey)
	if t := c.plan.tamper; t != nil {
		reported := t.Amount
		if reported == 0 {
			reported = rec.TotalAmount + 1000
		}
		rec.ReportedTotal = &reported
	}
	s.txs = append(s.txs, txRecord{
		TransactionKey: rec.LastTransactionKey, PaymentKey: rec.PaymentKey, OrderID: rec.OrderID,
		Status: statusDone, At: now, Amount: rec.TotalAmount, ReceiptURL: rec.ReceiptURL,
	})
	s.stats.approvals[rec.OrderID]++
	s.changed(rec)
	return ok(rec.view(c.lang, true))
}

func (s *Simulator) get(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.payments[c.r.PathValue("paymentKey")]
	if rec == nil {
		return fail(c.lang, "NOT_FOUND_PAYMENT", 0, "")
	}
	return ok(rec.view(c.lang, true))
}

func (s *Simulator) getByOrder(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.payments[s.byOrder[c.r.PathValue("orderId")]]
	if rec == nil {
		return fail(c.lang, "NOT_FOUND_PAYMENT", 0, "")
	}
	return ok(rec.view(c.lang, true))
}

func (s *Simulator) cancelPayment(c *call) answer {
	var in struct {
		CancelReason     string          `json:"cancelReason"`
		CancelAmount     json.RawMessage `json:"cancelAmount"`
		RefundableAmount json.RawMessage `json:"refundableAmount"`
		TaxFreeAmount    json.RawMessage `json:"taxFreeAmount"`
		Currency         string          `json:"currency"`
	}
	invalid := func(msg string) answer {
		return fail(c.lang, "INVALID_REQUEST", 0, label(c.lang, "잘못된 요청입니다: ", "Invalid request: ")+msg)
	}
	if err := json.Unmarshal(c.body, &in); err != nil {
		return invalid("body")
	}
	if n := utf8.RuneCountInString(in.CancelReason); n < 1 || n > 200 {
		return invalid("cancelReason")
	}
	if in.Currency != "" && in.Currency != "KRW" {
		return invalid("currency")
	}
	optional := func(raw json.RawMessage) (int64, bool, error) {
		v, err := parseWon(raw)
		if errors.Is(err, errNoAmount) {
			return 0, false, nil
		}
		return v, err == nil, err
	}
	cancelAmount, partial, err := optional(in.CancelAmount)
	if err != nil || partial && cancelAmount <= 0 {
		return invalid("cancelAmount")
	}
	refundable, guarded, err := optional(in.RefundableAmount)
	if err != nil {
		return invalid("refundableAmount")
	}
	taxFree, _, err := optional(in.TaxFreeAmount)
	if err != nil {
		return invalid("taxFreeAmount")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	rec := s.payments[c.r.PathValue("paymentKey")]
	if rec == nil {
		return fail(c.lang, "NOT_FOUND_PAYMENT", 0, "")
	}
	s.expireIfDue(rec, now)
	switch rec.Status {
	case statusDone, statusPartialCanceled:
	case statusCanceled:
		return fail(c.lang, "ALREADY_CANCELED_PAYMENT", 0, "")
	default:
		return fail(c.lang, "NOT_CANCELABLE_PAYMENT", 0, "")
	}
	if guarded && refundable != rec.BalanceAmount {
		return fail(c.lang, "NOT_MATCHES_REFUNDABLE_AMOUNT", 0, "")
	}
	if !partial {
		cancelAmount = rec.BalanceAmount
	}
	if cancelAmount > rec.BalanceAmount {
		return fail(c.lang, "NOT_CANCELABLE_AMOUNT", 0, "")
	}
	if taxFree > cancelAmount {
		return invalid("taxFreeAmount")
	}
	rec.BalanceAmount -= cancelAmount
	cr := cancelRecord{
		TransactionKey:   s.newTransactionKey(),
		ReceiptKey:       s.randString(24, keyAlphabet),
		Reason:           in.CancelReason,
		Amount:           cancelAmount,
		TaxFreeAmount:    taxFree,
		RefundableAmount: rec.BalanceAmount,
		CanceledAt:       now,
	}
	rec.Cancels = append(rec.Cancels, cr)
	rec.LastTransactionKey = cr.TransactionKey
	rec.Status = statusPartialCanceled
	if rec.BalanceAmount == 0 {
		rec.Status = statusCanceled
		rec.AcquireStatus = "CANCELED"
	}
	s.txs = append(s.txs, txRecord{
		TransactionKey: cr.TransactionKey, PaymentKey: rec.PaymentKey, OrderID: rec.OrderID,
		Status: rec.Status, At: now, Amount: cancelAmount, ReceiptURL: rec.ReceiptURL,
	})
	s.stats.cancels[rec.OrderID]++
	s.changed(rec)
	return ok(rec.view(c.lang, true))
}

// transactions answers GET /v1/transactions: approvals and cancels with transactionAt in
// [startDate, endDate], oldest first, after startingAfter, at most limit (default 100,
// at most 5000). Dates without an offset are KST, as Toss reads them.
func (s *Simulator) transactions(c *call) answer {
	q := c.r.URL.Query()
	parse := func(v string) (time.Time, bool) {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, true
		}
		t, err := time.ParseInLocation("2006-01-02T15:04:05", v, kst)
		return t, err == nil
	}
	start, ok1 := parse(q.Get("startDate"))
	end, ok2 := parse(q.Get("endDate"))
	if !ok1 || !ok2 || end.Before(start) {
		return fail(c.lang, "INVALID_REQUEST", 0, label(c.lang, "잘못된 요청입니다: startDate, endDate", "Invalid request: startDate, endDate"))
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5000 {
			return fail(c.lang, "INVALID_REQUEST", 0, label(c.lang, "잘못된 요청입니다: limit", "Invalid request: limit"))
		}
		limit = n
	}
	after := q.Get("startingAfter")

	s.mu.Lock()
	defer s.mu.Unlock()
	txs := append([]txRecord{}, s.txs...)
	sort.SliceStable(txs, func(i, j int) bool { return txs[i].At.Before(txs[j].At) })
	out := []Transaction{}
	skipping := after != ""
	for i := range txs {
		t := &txs[i]
		if skipping {
			if t.TransactionKey == after {
				skipping = false
			}
			continue
		}
		if t.At.Before(start) || t.At.After(end) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, t.view())
	}
	return ok(out)
}

// Payment returns the payment as it really is (a tamper_amount fault does not apply here),
// in the Korean labels. It does not count as an API call.
func (s *Simulator) Payment(paymentKey string) (Payment, bool) {
	s.sweep()
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.payments[paymentKey]
	if rec == nil {
		return Payment{}, false
	}
	return rec.view(langKO, false), true
}

// PaymentByOrderID is Payment by orderId.
func (s *Simulator) PaymentByOrderID(orderID string) (Payment, bool) {
	s.mu.Lock()
	key := s.byOrder[orderID]
	s.mu.Unlock()
	return s.Payment(key)
}

// Authorize is POST /sim/v1/authorize for Go callers: it creates an IN_PROGRESS payment as
// if the customer had finished the payment window, and returns its paymentKey.
func (s *Simulator) Authorize(orderID, orderName string, amount int64) (string, error) {
	s.mu.Lock()
	base := s.publicURL
	s.mu.Unlock()
	if base == "" {
		base = "http://tosssim.invalid"
	}
	out, refusal := s.authorize(authorizeInput{
		OrderID: orderID, OrderName: orderName, Amount: json.RawMessage(strconv.FormatInt(amount, 10)),
	}, base, langEN)
	if refusal != nil {
		var body struct{ Code, Message string }
		_ = json.Unmarshal(refusal.body, &body)
		return "", errors.New("tosssim: authorize: " + body.Code + ": " + body.Message)
	}
	return out.PaymentKey, nil
}

func (s *Simulator) handleReceipt(w http.ResponseWriter, r *http.Request) {
	p, found := s.Payment(r.PathValue("paymentKey"))
	if !found || p.ApprovedAt == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = receiptPage.Execute(w, p)
}
