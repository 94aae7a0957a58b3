// Package tosssim is an offline Toss Payments simulator: the core API v1 endpoints paysaga
// uses, with Toss's paths, JSON shapes, error codes and statuses, plus a payment-window page,
// a stand-in for the customer's authentication, exact counters and fault injection. It is an
// http.Handler (New) with a small runner (Start, ListenAndServe). State is in memory, safe
// for concurrent use, optionally kept in a JSON file.
//
// # Endpoints
//
//	POST   /v1/payments/confirm                confirm
//	GET    /v1/payments/{paymentKey}           get
//	GET    /v1/payments/orders/{orderId}       get_by_order
//	POST   /v1/payments/{paymentKey}/cancel    cancel
//	GET    /v1/transactions                    transactions
//	POST   /sim/v1/authorize                   authorize {"orderId","orderName","amount"[,"taxFreeAmount","cardNumber"]}
//	GET    /sim/v1/stats   (DELETE resets the counters)
//	GET|POST|DELETE /sim/v1/faults
//	GET    /window?orderId=&orderName=&amount=&successUrl=&failUrl=   (POST /window is its form)
//	GET    /sim/v1/receipts/{paymentKey}       the receipt.url page
//
// The /v1 endpoints need Basic auth with Config.SecretKey; /sim and /window need none (they
// stand in for the browser and for test control).
//
// # Choices where Toss's documentation is silent
//
// Authentication: no Authorization header, a wrong key, or a non-empty password is
// 401 UNAUTHORIZED_KEY. A header that is not "Basic " + standard base64 of a text containing
// ":" is 403 INCORRECT_BASIC_AUTH_FORMAT (the error table lists the code among the 403s).
//
// Authorize: stands in for the customer finishing the payment window; the payment is
// IN_PROGRESS, with requestedAt = now and no method or card yet. orderId must be 6–64 of
// A-Z a-z 0-9 - _ =, orderName 1–100 characters, amount a positive whole number (a JSON
// number or a numeric string, as everywhere the simulator reads an amount); otherwise
// 400 INVALID_REQUEST. An orderId that already has a payment, in any status, is refused with
// 400 DUPLICATED_ORDER_ID. A cardNumber whose digits end in 9999 is declined at confirm.
//
// Confirm, in this order of checks:
//   - unknown paymentKey, or a paymentKey that belongs to another orderId:
//     404 NOT_FOUND_PAYMENT (the pair names no payment); nothing changes.
//   - 10 minutes or more after authorization: the payment becomes EXPIRED and the answer is
//     404 NOT_FOUND_PAYMENT_SESSION, now and on every later confirm.
//   - DONE, PARTIAL_CANCELED, CANCELED or ABORTED (without a matching Idempotency-Key):
//     400 ALREADY_PROCESSED_PAYMENT.
//   - an amount other than the authorized one: 400 INVALID_REQUEST with a message saying so;
//     the payment stays IN_PROGRESS and can still be confirmed with the right amount.
//   - a decline (the card number, or a "decline" fault): the payment becomes ABORTED with
//     failure {code, message}; the answer is the decline code (403 REJECT_CARD_PAYMENT by
//     default).
//   - otherwise DONE: approvedAt, method 카드 ("CARD" with Accept-Language: en-US), card
//     (masked number, 8-digit approveNo, issuer/acquirer 41, 신용/개인, acquireStatus READY),
//     lastTransactionKey, receipt.url (this server's /sim/v1/receipts page).
//
// Amounts: suppliedAmount and vat follow balanceAmount: vat = round((balance − taxFree) / 11)
// with halves rounded up, suppliedAmount = balance − taxFree − vat; so a fully cancelled
// payment shows 0 and 0. totalAmount never changes. The simulator is KRW-only, whole won.
//
// Cancel: cancelReason 1–200 characters. Only DONE and PARTIAL_CANCELED payments can be
// cancelled: CANCELED is 400 ALREADY_CANCELED_PAYMENT, any other status 403
// NOT_CANCELABLE_PAYMENT. refundableAmount, when sent, must equal balanceAmount, else
// 400 NOT_MATCHES_REFUNDABLE_AMOUNT. No cancelAmount cancels the whole balance; more than the
// balance is 403 NOT_CANCELABLE_AMOUNT. Each cancel appends to cancels[] (refundableAmount
// there is the balance after it, cancelStatus DONE) and sets lastTransactionKey; the status
// is PARTIAL_CANCELED while a balance remains, then CANCELED.
//
// Codes the documentation does not give: rate_limit faults answer 429 TOO_MANY_REQUESTS
// with Retry-After: 1 (Toss documents the status, not a code); unknown paths answer
// 404 NOT_FOUND in Toss's error shape.
//
// Expiry is applied lazily but promptly: every API call, Stats and Payment first expire
// the IN_PROGRESS payments whose 10 minutes (by Config.Now) have passed, so reads report
// EXPIRED and the webhook goes out at that moment.
//
// # Idempotency
//
// POST confirm and cancel honour Idempotency-Key, matched on key + API key + method + path
// and query (not the body), for 15 days by Config.Now. Over 300 characters is
// 400 INVALID_IDEMPOTENCY_KEY. A repeat while the first call runs is
// 409 IDEMPOTENT_REQUEST_PROCESSING. A finished first call's answer is replayed byte for
// byte, with no second effect, and counted as a replay. Only 2xx answers and definite 4xx
// refusals are remembered; 5xx (the conservative choice: the outcome is in doubt, so a retry
// after a 5xx re-executes and finds out), 409 and 429 are forgotten, as are refusals made up
// by fault rules (error, rate_limit, refuse_cancel) and TossPayments-Test-Code answers,
// which never reach the operation. apply_then_fail is different: the operation ran, so its
// real answer is remembered and a retry with the same key replays it.
//
// # Test codes
//
// With a secret key starting "test_", TossPayments-Test-Code: CODE answers that Toss error
// with its documented status (400 for a code not in the table), after authentication and
// before anything takes effect.
//
// # Faults
//
// POST /sim/v1/faults takes a JSON list of FaultRule and replaces the set (GET shows it with
// fire counts, DELETE clears); SetFaults and ClearFaults do the same in Go. See FaultRule
// and the Fault* kinds. Rule order matters: latency rules add up, and of the other kinds the
// first that fires decides the call. Faults fire after the idempotency check, so latency
// keeps a key "running" (a concurrent repeat gets 409) and a replayed answer is not faulted.
// The counters always count what really happened: an apply_then_fail confirm counts as an
// approval even though the caller saw a 500 or a dropped connection.
//
// # Stretch behaviour
//
// GET /v1/transactions lists approvals and cancels. Webhooks: with Config.WebhookURL, a
// PAYMENT_STATUS_CHANGED event {eventType, createdAt, data: Payment} is POSTed on DONE,
// PARTIAL_CANCELED, CANCELED, ABORTED and EXPIRED; any answer but 200 is retried after 1, 4,
// 16, 64, 256, 1024 and 4096 minutes times Config.WebhookRetryScale, then given up. English
// messages and labels with Accept-Language: en-US. Config.StateFile keeps payments,
// transactions and remembered answers across restarts (written atomically, at most every
// 50 ms and on Close); counters and faults start empty.
//
// Simulator.Payment returns the truth (without tamper_amount), for tests.
package tosssim
