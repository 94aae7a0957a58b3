package paysaga

import "encoding/json"

// WebhookPaymentStatusChanged is the eventType of the only Toss webhook the service acts
// on: a payment moved to another status. Toss sends others (deposit callbacks, payouts) to
// the same URL; they are acknowledged and ignored.
const WebhookPaymentStatusChanged = "PAYMENT_STATUS_CHANGED"

// WebhookEvent is the body Toss POSTs to the webhook URL. Data stays raw until EventType
// says what it holds.
type WebhookEvent struct {
	EventType string          `json:"eventType"`
	CreatedAt string          `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

// WebhookPayment is all the service reads of a PAYMENT_STATUS_CHANGED event's data: which
// payment to look up, and the secret to compare. Toss does not sign its webhooks, so
// everything else is read back from Toss itself.
type WebhookPayment struct {
	PaymentKey string  `json:"paymentKey"`
	OrderID    string  `json:"orderId"`
	Secret     *string `json:"secret"`
}

// WebhookStatus reports whether Toss sends PAYMENT_STATUS_CHANGED for a payment in status.
// A webhook whose payment Toss holds in any other status claims a change that did not
// happen.
func WebhookStatus(status string) bool {
	switch status {
	case PaymentDone, PaymentCanceled, PaymentPartialCanceled, PaymentAborted, PaymentExpired:
		return true
	}
	return false
}

// Events a verified webhook writes to an order's audit trail. They change no state: the
// saga owns the order's transitions, reconciliation acts on what these record.
const (
	// EventTossWebhook records a payment state Toss confirmed after a webhook.
	EventTossWebhook = "TOSS_WEBHOOK"
	// EventTossCanceledPaidOrder records that Toss holds a PAID order's payment as
	// cancelled: money went back without the order knowing, and a person or the
	// reconciliation job has to look at it.
	EventTossCanceledPaidOrder = "TOSS_CANCELED_PAID_ORDER"
)
