package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/temporalproto"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/internal/stacktest"
	"github.com/paysaga/paysaga/internal/workerpool"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/workflows"
)

// Secrets of the recorded stack: distinctive, so that any trace of them is found.
const (
	recordedTossSecret = "test_sk_recorded_stack_6f1c0d2a9b"
	recordedJWTSecret  = "recorded-stack-jwt-secret-5e8a1b7c3d9f"
)

// recordedLogs collects every log line of the logged stack.
var recordedLogs = &workerpool.Log{}

// loggedStack is a SQLite stack of its own whose every log line, at debug level, lands in
// a buffer, and whose simulator sends its webhooks to the API.
func loggedStack(t *testing.T) (*stacktest.Stack, *workerpool.Log) {
	t.Helper()
	s := stacktest.Shared(t, "logged", stacktest.Config{
		Name: "secrets", ConfirmWait: 20 * time.Second,
		TossSecretKey: recordedTossSecret,
		LogTo:         recordedLogs, JSONLog: true, LogLevel: slog.LevelDebug,
		JWTSecret:   recordedJWTSecret,
		CodecKeys:   codec.FormatKeys(codec.NewKey("e2e-2"), codec.NewKey("e2e-1")),
		SimWebhooks: true,
	})
	return s, recordedLogs
}

// history exports a workflow's history as stored: payloads as the server holds them.
func history(t *testing.T, s *stacktest.Stack, workflowID string) *historypb.History {
	t.Helper()
	iter := s.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	return &h
}

// payloadsOf lists every payload of a history (inputs, results, failure details, signals),
// search attributes aside: those are the index operators search by (OrderId, PaymentStatus).
func payloadsOf(t *testing.T, h *historypb.History) []*commonpb.Payload {
	t.Helper()
	var all []*commonpb.Payload
	err := proxy.VisitPayloads(context.Background(), h, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			all = append(all, p...)
			return p, nil
		},
		SkipSearchAttributes: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	stacktest.Eventually(t, 20*time.Second, what, cond)
}

func eventTypes(evs []paysaga.PaymentEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// TestSecrets_FullCheckout_NoSecretInLogsOrHistories runs a paid and a declined checkout
// (with Toss's webhooks for both) and then searches everything the system recorded: every
// log line at debug level, and both workflow histories as the Temporal server stores them.
// No secret may appear anywhere, and no customer data may appear unencrypted in a history.
func TestSecrets_FullCheckout_NoSecretInLogsOrHistories(t *testing.T) {
	s, logs := loggedStack(t)
	c := &checkout{t: t, stack: s}
	p := c.product(41700, 5)

	paid := c.createOrder(p.ID, 2, 83400)
	paidKey := c.authorize(paid)
	if status, o, e := c.confirm(paid.OrderID, paidKey, "83400"); status != http.StatusOK || o.Status != "PAID" {
		t.Fatalf("confirm: %d %+v", status, e)
	}
	declined := c.createOrder(p.ID, 1, 41700)
	declinedKey := c.authorize(declined)
	if err := s.Simulator.SetFaults([]tosssim.FaultRule{{Endpoint: tosssim.EndpointConfirm, OrderID: declined.OrderID,
		Kind: tosssim.FaultDecline, Code: "REJECT_CARD_PAYMENT", Status: http.StatusForbidden}}); err != nil {
		t.Fatal(err)
	}
	status, _, _ := c.confirm(declined.OrderID, declinedKey, "41700")
	s.Simulator.ClearFaults()
	if status != http.StatusPaymentRequired {
		t.Fatalf("declined confirm: %d", status)
	}
	// Toss's webhooks for both (DONE and ABORTED) arrive, are verified and recorded.
	waitFor(t, "both webhooks recorded", func() bool {
		a, _ := s.Store.Events(context.Background(), paid.OrderID)
		b, _ := s.Store.Events(context.Background(), declined.OrderID)
		return strings.Contains(fmt.Sprint(eventTypes(a)), paysaga.EventTossWebhook) && strings.Contains(fmt.Sprint(eventTypes(b)), paysaga.EventTossWebhook)
	})

	secrets := map[string]string{
		"Toss secret key":         recordedTossSecret,
		"Toss Basic credentials":  base64.StdEncoding.EncodeToString([]byte(recordedTossSecret + ":")),
		"JWT secret":              recordedJWTSecret,
		"a customer's token":      c.bearer(),
		"the token's signature":   c.bearer()[strings.LastIndex(c.bearer(), ".")+1:],
		"payload codec key (new)": strings.Split(strings.Split(s.Security.CodecKeys, ",")[0], ":")[1],
		"payload codec key (old)": strings.Split(strings.Split(s.Security.CodecKeys, ",")[1], ":")[1],
	}
	// What must not show in plain text. The history as JSON is searched for amounts only
	// as JSON values: its timestamps' nanoseconds may hold any five digits.
	customerData := map[string]string{
		"paymentKey":          paidKey,
		"declined paymentKey": declinedKey,
		"userId field":        `"userId"`,
		"claim field":         `"paymentKey"`,
	}
	amounts := []string{"83400", "41700"}

	logText := logs.String()
	if !strings.Contains(logText, paid.OrderID) {
		t.Fatal("the log buffer did not capture the checkout: the search below would prove nothing")
	}
	for name, v := range secrets {
		if strings.Contains(logText, v) {
			t.Errorf("logs contain the %s", name)
		}
	}
	// A paymentKey is what a confirm needs besides the order: logs name orders, not keys.
	for _, key := range []string{paidKey, declinedKey} {
		if strings.Contains(logText, key) {
			t.Errorf("logs contain a paymentKey")
		}
	}

	for _, o := range []order{paid, declined} {
		h := history(t, s, workflows.WorkflowID(o.OrderID))
		text, err := temporalproto.CustomJSONMarshalOptions{}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		payloads := payloadsOf(t, h)
		if len(payloads) < 5 {
			t.Fatalf("%s: only %d payloads in the history", o.OrderID, len(payloads))
		}
		var raw bytes.Buffer // every payload's bytes and metadata
		for _, pl := range payloads {
			if enc := string(pl.GetMetadata()["encoding"]); enc != codec.EncodingEncrypted {
				t.Errorf("%s: a payload is stored as %q, not encrypted", o.OrderID, enc)
			}
			if id := string(pl.GetMetadata()[codec.MetadataKeyID]); id != "e2e-2" {
				t.Errorf("%s: a payload is sealed with key %q, not the first key", o.OrderID, id)
			}
			raw.Write(pl.GetData())
			for k, v := range pl.GetMetadata() {
				raw.WriteString(k)
				raw.Write(v)
			}
		}
		for _, where := range [][]byte{text, raw.Bytes()} {
			for name, v := range secrets {
				if bytes.Contains(where, []byte(v)) {
					t.Errorf("%s: history contains the %s", o.OrderID, name)
				}
			}
			for name, v := range customerData {
				if bytes.Contains(where, []byte(v)) {
					t.Errorf("%s: history shows the %s in plain text", o.OrderID, name)
				}
			}
		}
		for _, a := range amounts {
			for _, form := range []string{`"` + a + `"`, `:` + a, a + `,`, a + `}`, " " + a} {
				if bytes.Contains(text, []byte(form)) {
					t.Errorf("%s: history shows an amount in plain text (%s)", o.OrderID, form)
				}
			}
			if bytes.Contains(raw.Bytes(), []byte(a)) {
				t.Errorf("%s: a payload shows an amount in plain text", o.OrderID)
			}
		}
		// The check can fail: opened with the key, the same history shows the claim.
		opened, err := s.Codec.Decode(payloads)
		if err != nil {
			t.Fatalf("%s: open with the stack's key: %v", o.OrderID, err)
		}
		var plain bytes.Buffer
		for _, pl := range opened {
			plain.Write(pl.GetData())
		}
		if !bytes.Contains(plain.Bytes(), []byte(`"paymentKey"`)) || !bytes.Contains(plain.Bytes(), []byte(`"userId"`)) {
			t.Errorf("%s: opened payloads do not show the claim; the search proves nothing", o.OrderID)
		}
	}
}

// TestWebhook_TossCancelsAPaidOrder_RecordedForReconciliation: a payment cancelled at Toss
// behind the order's back reaches the API as Toss's own webhook. The API verifies it with
// Toss and records it as needing attention; the order itself is not touched (that is the
// reconciliation's job), and Toss gets its 200 every time.
func TestWebhook_TossCancelsAPaidOrder_RecordedForReconciliation(t *testing.T) {
	s, _ := loggedStack(t)
	c := &checkout{t: t, stack: s}
	p := c.product(15000, 3)
	o := c.createOrder(p.ID, 1, 15000)
	key := c.authorize(o)
	if status, paid, e := c.confirm(o.OrderID, key, "15000"); status != http.StatusOK || paid.Status != "PAID" {
		t.Fatalf("confirm: %d %+v", status, e)
	}
	waitFor(t, "the DONE webhook", func() bool {
		evs, _ := s.Store.Events(context.Background(), o.OrderID)
		return strings.Contains(fmt.Sprint(eventTypes(evs)), paysaga.EventTossWebhook)
	})

	// Someone cancels the payment in Toss's merchant console.
	tc := toss.NewClient(s.SimURL, recordedTossSecret, nil)
	if _, err := tc.Cancel(context.Background(), key, toss.CancelRequest{CancelReason: "고객 요청 (콘솔)"}, "console-cancel-"+o.OrderID); err != nil {
		t.Fatal(err)
	}
	var evs []paysaga.PaymentEvent
	waitFor(t, "the CANCELED webhook", func() bool {
		evs, _ = s.Store.Events(context.Background(), o.OrderID)
		return strings.Contains(fmt.Sprint(eventTypes(evs)), paysaga.EventTossCanceledPaidOrder)
	})
	last := evs[len(evs)-1]
	if last.Type != paysaga.EventTossCanceledPaidOrder || last.Evidence.Code != "NEEDS_ATTENTION" || last.Evidence.Toss == nil ||
		last.Evidence.Toss.Status != paysaga.PaymentCanceled || last.Evidence.DB == nil || last.Evidence.DB.Status != paysaga.StatusPaid {
		t.Fatalf("recorded: %+v", last)
	}
	if got := c.getOrder(o.OrderID); got.Status != "PAID" {
		t.Fatalf("the webhook changed the order: %+v", got)
	}
	st := s.Simulator.Stats().Webhooks
	if st.FailedAttempts != 0 || st.Delivered < 2 {
		t.Fatalf("webhook deliveries: %+v", st)
	}
}
