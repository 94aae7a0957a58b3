package toss_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
)

const simKey = tosssim.DefaultSecretKey

type env struct {
	sim    *tosssim.Simulator
	srv    *httptest.Server
	client *toss.Client
	clock  *tosssim.Clock
}

func newEnv(t *testing.T, cfg tosssim.Config, opts ...toss.Option) *env {
	t.Helper()
	clk := tosssim.NewClock(time.Date(2024, 2, 13, 12, 0, 0, 0, toss.KST))
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	sim := tosssim.New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = sim.Close() })
	key := cfg.SecretKey
	if key == "" {
		key = simKey
	}
	return &env{sim: sim, srv: srv, client: toss.NewClient(srv.URL, key, srv.Client(), opts...), clock: clk}
}

func (e *env) authorize(t *testing.T, orderID string, amount int64) string {
	t.Helper()
	key, err := e.sim.Authorize(orderID, "테스트 상품 외 1건", amount)
	if err != nil {
		t.Fatalf("authorize %s: %v", orderID, err)
	}
	return key
}

func won(n int64) decimal.Decimal { return decimal.NewFromInt(n) }

func dec(n int64) *decimal.Decimal { d := won(n); return &d }

// tossErr asserts err is a *toss.Error with status and code.
func tossErr(t *testing.T, err error, status int, code string) *toss.Error {
	t.Helper()
	var te *toss.Error
	if !errors.As(err, &te) {
		t.Fatalf("want *toss.Error %d %s, got %T %v", status, code, err, err)
	}
	if te.HTTPStatus != status || te.Code != code {
		t.Fatalf("want %d %s, got %d %s (%s)", status, code, te.HTTPStatus, te.Code, te.Message)
	}
	if te.Message == "" {
		t.Errorf("%s has no message", code)
	}
	return te
}

func TestConfirm_AuthorizedPayment_EndsDoneWithApprovalData(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	key := e.authorize(t, "order-0001", 15000)

	before, err := e.client.GetPaymentByOrderID(ctx, "order-0001")
	if err != nil {
		t.Fatal(err)
	}
	if before.Status != paysaga.PaymentInProgress || before.PaymentKey != key || !before.TotalAmount.Equal(won(15000)) {
		t.Fatalf("before confirm: %+v", before)
	}
	if before.ApprovedAt != nil || before.Card != nil || before.Method != "" {
		t.Fatalf("IN_PROGRESS payment already has approval data: %+v", before)
	}

	p, err := e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: key, OrderID: "order-0001", Amount: won(15000)}, "confirm:order-0001")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != paysaga.PaymentDone || p.Method != "카드" || p.ApprovedAt == nil || p.LastTransactionKey == "" {
		t.Fatalf("confirm answer: %+v", p)
	}
	if !p.ApprovedAt.Equal(e.clock.Now()) {
		t.Errorf("approvedAt %v, want the simulator's clock %v", p.ApprovedAt, e.clock.Now())
	}
	if p.Card == nil || p.Card.ApproveNo == "" || !strings.Contains(p.Card.Number, "****") || !p.Card.Amount.Equal(won(15000)) {
		t.Errorf("card: %+v", p.Card)
	}
	if p.Receipt == nil || !strings.HasPrefix(p.Receipt.URL, "http") {
		t.Errorf("receipt: %+v", p.Receipt)
	}
	// vat = round(15000/11) = 1364, supplied = 13636.
	if !p.VAT.Equal(won(1364)) || !p.SuppliedAmount.Equal(won(13636)) || !p.BalanceAmount.Equal(won(15000)) {
		t.Errorf("vat %s supplied %s balance %s", p.VAT, p.SuppliedAmount, p.BalanceAmount)
	}
	if p.Version != "2022-11-16" || p.Currency != "KRW" || p.Type != "NORMAL" || p.Secret == "" {
		t.Errorf("payment header fields: %+v", p)
	}

	facts := p.Facts()
	claim := paysaga.ConfirmClaim{OrderID: "order-0001", UserID: 7, PaymentKey: key, Amount: won(15000)}
	order := paysaga.OrderFacts{OrderID: "order-0001", UserID: 7, Quantity: 1, UnitPrice: won(15000), Amount: won(15000)}
	if err := paysaga.VerifyAfterConfirm(order, claim, facts); err != nil {
		t.Errorf("the simulator's approval does not pass the domain check: %v", err)
	}

	got, err := e.client.GetPayment(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != paysaga.PaymentDone || got.LastTransactionKey != p.LastTransactionKey {
		t.Errorf("read after confirm: %+v", got)
	}
	st := e.sim.Stats()
	if st.Approvals["order-0001"] != 1 || st.Calls[tosssim.EndpointConfirm].Outcomes["200"] != 1 {
		t.Errorf("stats: %+v", st)
	}
}

func TestAuth_WrongOrMalformedKey_IsRefused(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	key := e.authorize(t, "order-auth1", 1000)

	wrong := toss.NewClient(e.srv.URL, "test_sk_wrong_secret_0123", e.srv.Client())
	_, err := wrong.GetPayment(ctx, key)
	tossErr(t, err, 401, toss.CodeUnauthorizedKey)
	if strings.Contains(err.Error(), "test_sk_wrong_secret_0123") {
		t.Errorf("error leaks the secret key: %v", err)
	}
	if toss.IsRetryable(err) || toss.IsUnknownOutcome(err) {
		t.Errorf("401 classified as retryable/unknown")
	}

	raw := func(auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/payments/"+key, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Code string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Code
	}
	b64 := base64.StdEncoding.EncodeToString
	cases := []struct {
		name, auth string
		status     int
		code       string
	}{
		{"no header", "", 401, toss.CodeUnauthorizedKey},
		{"no colon", "Basic " + b64([]byte(simKey)), 403, toss.CodeIncorrectBasicAuthFormat},
		{"not base64", "Basic %%%", 403, toss.CodeIncorrectBasicAuthFormat},
		{"bearer", "Bearer " + simKey, 403, toss.CodeIncorrectBasicAuthFormat},
		{"password set", "Basic " + b64([]byte(simKey+":x")), 401, toss.CodeUnauthorizedKey},
		{"right key", "Basic " + b64([]byte(simKey+":")), 200, ""},
	}
	for _, tc := range cases {
		if status, code := raw(tc.auth); status != tc.status || code != tc.code {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, status, code, tc.status, tc.code)
		}
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	_, err := e.client.GetPayment(ctx, "tsim_no_such_key")
	tossErr(t, err, 404, toss.CodeNotFoundPayment)
	_, err = e.client.GetPaymentByOrderID(ctx, "order-none")
	tossErr(t, err, 404, toss.CodeNotFoundPayment)
	_, err = e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: "tsim_nope", OrderID: "order-none", Amount: won(10)}, "k1")
	tossErr(t, err, 404, toss.CodeNotFoundPayment)
	if toss.IsUnknownOutcome(err) || toss.IsRetryable(err) {
		t.Error("404 classified as unknown/retryable")
	}
}

func TestPathSegments_AreEscaped(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	// A key with "/" or "?" must stay one path segment, and find nothing.
	for _, key := range []string{"../orders/order-0001", "a?b=c", "a b#c"} {
		_, err := e.client.GetPayment(context.Background(), key)
		tossErr(t, err, 404, toss.CodeNotFoundPayment)
	}
	if n := e.sim.Stats().Calls[tosssim.EndpointGet].Total; n != 3 {
		t.Errorf("want 3 calls to get by key, got %d", n)
	}
}

func TestConfirm_MismatchedAmountOrOrder_IsRefusedAndChangesNothing(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	key := e.authorize(t, "order-mm01", 10000)
	e.authorize(t, "order-mm02", 10000)

	_, err := e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: key, OrderID: "order-mm01", Amount: won(9000)}, "")
	tossErr(t, err, 400, toss.CodeInvalidRequest)
	_, err = e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: key, OrderID: "order-mm02", Amount: won(10000)}, "")
	tossErr(t, err, 404, toss.CodeNotFoundPayment)

	p, _ := e.sim.Payment(key)
	if p.Status != paysaga.PaymentInProgress {
		t.Fatalf("refused confirm changed the payment: %s", p.Status)
	}
	if _, err := e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: key, OrderID: "order-mm01", Amount: won(10000)}, ""); err != nil {
		t.Fatalf("the right confirm after refused ones: %v", err)
	}
	if n := e.sim.Stats().TotalApprovals(); n != 1 {
		t.Errorf("approvals %d", n)
	}
}

func TestConfirm_AfterTenMinutes_SessionExpired(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	late := e.authorize(t, "order-exp01", 5000)
	inTime := e.authorize(t, "order-exp02", 5000)

	e.clock.Advance(9*time.Minute + 59*time.Second)
	if _, err := e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: inTime, OrderID: "order-exp02", Amount: won(5000)}, ""); err != nil {
		t.Fatalf("confirm just inside the window: %v", err)
	}
	e.clock.Advance(time.Second)
	_, err := e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: late, OrderID: "order-exp01", Amount: won(5000)}, "confirm:order-exp01")
	tossErr(t, err, 404, toss.CodeNotFoundPaymentSession)
	if toss.IsRetryable(err) {
		t.Error("expired session classified retryable")
	}
	p, err := e.client.GetPayment(ctx, late)
	if err != nil || p.Status != paysaga.PaymentExpired {
		t.Fatalf("payment after expiry: %v %+v", err, p)
	}
	// Expired stays expired.
	_, err = e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: late, OrderID: "order-exp01", Amount: won(5000)}, "")
	tossErr(t, err, 404, toss.CodeNotFoundPaymentSession)
	st := e.sim.Stats()
	if st.Expirations["order-exp01"] != 1 || st.Approvals["order-exp01"] != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestConfirm_Twice_WithoutKey_AlreadyProcessed(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	key := e.authorize(t, "order-twice", 3000)
	req := toss.ConfirmRequest{PaymentKey: key, OrderID: "order-twice", Amount: won(3000)}
	if _, err := e.client.Confirm(ctx, req, ""); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.Confirm(ctx, req, "")
	tossErr(t, err, 400, toss.CodeAlreadyProcessedPayment)
	// A different key is a different request: still refused, still one approval.
	_, err = e.client.Confirm(ctx, req, "another-key")
	tossErr(t, err, 400, toss.CodeAlreadyProcessedPayment)
	if n := e.sim.Stats().Approvals["order-twice"]; n != 1 {
		t.Errorf("approvals %d", n)
	}
}

// rawPost sends a POST with the simulator key and returns status and body bytes.
func rawPost(t *testing.T, e *env, path, body string, header map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	req.SetBasicAuth(simKey, "")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestIdempotentReplay_IsByteForByteWithoutSecondEffect(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	key := e.authorize(t, "order-idem1", 12000)
	// The amount as the string from the redirect URL, as Toss's samples send it.
	body := `{"paymentKey":"` + key + `","orderId":"order-idem1","amount":"12000"}`
	hdr := map[string]string{"Idempotency-Key": "confirm:order-idem1"}
	s1, b1 := rawPost(t, e, "/v1/payments/confirm", body, hdr)
	e.clock.Advance(time.Minute) // a re-execution would show a later approvedAt
	s2, b2 := rawPost(t, e, "/v1/payments/confirm", body, hdr)
	if s1 != 200 || s2 != 200 || !bytes.Equal(b1, b2) {
		t.Fatalf("replay differs:\n%d %s\n%d %s", s1, b1, s2, b2)
	}
	// Through the client as well.
	p, err := e.client.Confirm(context.Background(), toss.ConfirmRequest{PaymentKey: key, OrderID: "order-idem1", Amount: won(12000)}, "confirm:order-idem1")
	if err != nil || p.Status != paysaga.PaymentDone {
		t.Fatalf("client replay: %v %+v", err, p)
	}
	st := e.sim.Stats()
	if st.Approvals["order-idem1"] != 1 || st.IdempotentReplays != 2 || st.Calls[tosssim.EndpointConfirm].Replays != 2 {
		t.Errorf("stats: approvals %v replays %d", st.Approvals, st.IdempotentReplays)
	}
	// A definite refusal is remembered too: the same key answers the same refusal.
	other := e.authorize(t, "order-idem2", 1000)
	bad := `{"paymentKey":"` + other + `","orderId":"order-idem2","amount":999}`
	hdr2 := map[string]string{"Idempotency-Key": "confirm:order-idem2"}
	s3, b3 := rawPost(t, e, "/v1/payments/confirm", bad, hdr2)
	good := `{"paymentKey":"` + other + `","orderId":"order-idem2","amount":1000}`
	s4, b4 := rawPost(t, e, "/v1/payments/confirm", good, hdr2) // the body is not compared
	if s3 != 400 || s4 != 400 || !bytes.Equal(b3, b4) {
		t.Errorf("remembered refusal: %d %s / %d %s", s3, b3, s4, b4)
	}
}

func TestIdempotency_RepeatWhileFirstRuns_Gets409(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	key := e.authorize(t, "order-409", 7000)
	if err := e.sim.SetFaults([]tosssim.FaultRule{{Endpoint: "confirm", Kind: tosssim.FaultLatency, LatencyMS: 400, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	req := toss.ConfirmRequest{PaymentKey: key, OrderID: "order-409", Amount: won(7000)}
	first := make(chan error, 1)
	go func() {
		_, err := e.client.Confirm(ctx, req, "confirm:order-409")
		first <- err
	}()
	// The latency rule fires after the key is claimed: once it has fired, the first
	// confirm holds the key.
	deadline := time.Now().Add(3 * time.Second)
	for e.sim.Faults()[0].Fired == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first confirm never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err := e.client.Confirm(ctx, req, "confirm:order-409")
	tossErr(t, err, 409, toss.CodeIdempotentRequestProcessing)
	if !toss.IsUnknownOutcome(err) || !toss.IsRetryable(err) {
		t.Errorf("409 IDEMPOTENT_REQUEST_PROCESSING must be unknown and retryable")
	}
	if err := <-first; err != nil {
		t.Fatalf("first confirm: %v", err)
	}
	p, err := e.client.Confirm(ctx, req, "confirm:order-409")
	if err != nil || p.Status != paysaga.PaymentDone {
		t.Fatalf("after the first finished: %v", err)
	}
	st := e.sim.Stats()
	if st.Approvals["order-409"] != 1 || st.Calls[tosssim.EndpointConfirm].Outcomes["409 IDEMPOTENT_REQUEST_PROCESSING"] != 1 {
		t.Errorf("stats: %+v", st.Calls[tosssim.EndpointConfirm])
	}
}

func TestIdempotencyKey_Over300Characters(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	key := e.authorize(t, "order-long", 1000)
	req := toss.ConfirmRequest{PaymentKey: key, OrderID: "order-long", Amount: won(1000)}

	_, err := e.client.Confirm(ctx, req, strings.Repeat("k", 301))
	if !errors.Is(err, toss.ErrInvalidArgument) || !errors.Is(err, toss.ErrNotSent) || toss.IsUnknownOutcome(err) || toss.IsRetryable(err) {
		t.Fatalf("client should refuse a 301-character key before sending: %v", err)
	}
	if n := e.sim.Stats().Calls[tosssim.EndpointConfirm].Total; n != 0 {
		t.Fatalf("the refused call reached the simulator (%d calls)", n)
	}
	status, body := rawPost(t, e, "/v1/payments/confirm",
		`{"paymentKey":"`+key+`","orderId":"order-long","amount":1000}`,
		map[string]string{"Idempotency-Key": strings.Repeat("k", 301)})
	if status != 400 || !strings.Contains(string(body), toss.CodeInvalidIdempotencyKey) {
		t.Fatalf("simulator: %d %s", status, body)
	}
	if _, err := e.client.Confirm(ctx, req, strings.Repeat("k", 300)); err != nil {
		t.Fatalf("a 300-character key is allowed: %v", err)
	}
}

func TestCancel_PartialThenFull_WithRefundableGuard(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	key := e.authorize(t, "order-cancel", 10000)

	_, err := e.client.Cancel(ctx, key, toss.CancelRequest{CancelReason: "고객 변심"}, "")
	tossErr(t, err, 403, toss.CodeNotCancelablePayment) // not approved yet

	if _, err := e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: key, OrderID: "order-cancel", Amount: won(10000)}, ""); err != nil {
		t.Fatal(err)
	}
	p, err := e.client.Cancel(ctx, key, toss.CancelRequest{CancelReason: "부분 환불", CancelAmount: dec(3000), RefundableAmount: dec(10000)}, "cancel:order-cancel:1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != paysaga.PaymentPartialCanceled || !p.BalanceAmount.Equal(won(7000)) || !p.TotalAmount.Equal(won(10000)) || len(p.Cancels) != 1 {
		t.Fatalf("after partial cancel: %s balance %s cancels %d", p.Status, p.BalanceAmount, len(p.Cancels))
	}
	c := p.Cancels[0]
	if !c.CancelAmount.Equal(won(3000)) || !c.RefundableAmount.Equal(won(7000)) || c.CancelReason != "부분 환불" ||
		c.TransactionKey == "" || c.TransactionKey != p.LastTransactionKey || c.CanceledAt.IsZero() || c.CancelStatus != "DONE" {
		t.Errorf("cancel entry: %+v", c)
	}
	// vat follows the balance: round(7000/11) = 636.
	if !p.VAT.Equal(won(636)) || !p.SuppliedAmount.Equal(won(6364)) {
		t.Errorf("vat %s supplied %s", p.VAT, p.SuppliedAmount)
	}

	// Replaying the same cancel key does not refund twice.
	again, err := e.client.Cancel(ctx, key, toss.CancelRequest{CancelReason: "부분 환불", CancelAmount: dec(3000), RefundableAmount: dec(10000)}, "cancel:order-cancel:1")
	if err != nil || !again.BalanceAmount.Equal(won(7000)) {
		t.Fatalf("replayed cancel: %v", err)
	}
	// The same partial refund under a new key trips the guard: the balance is no longer 10000.
	_, err = e.client.Cancel(ctx, key, toss.CancelRequest{CancelReason: "부분 환불", CancelAmount: dec(3000), RefundableAmount: dec(10000)}, "cancel:order-cancel:2")
	tossErr(t, err, 400, toss.CodeNotMatchesRefundableAmount)
	_, err = e.client.Cancel(ctx, key, toss.CancelRequest{CancelReason: "too much", CancelAmount: dec(8000)}, "")
	tossErr(t, err, 403, toss.CodeNotCancelableAmount)

	p, err = e.client.Cancel(ctx, key, toss.CancelRequest{CancelReason: "전체 취소", RefundableAmount: dec(7000)}, "cancel:order-cancel:3")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != paysaga.PaymentCanceled || !p.BalanceAmount.IsZero() || len(p.Cancels) != 2 || !p.Cancels[1].CancelAmount.Equal(won(7000)) {
		t.Fatalf("after full cancel: %s balance %s cancels %+v", p.Status, p.BalanceAmount, p.Cancels)
	}
	if !p.VAT.IsZero() || !p.SuppliedAmount.IsZero() {
		t.Errorf("cancelled payment vat %s supplied %s", p.VAT, p.SuppliedAmount)
	}
	_, err = e.client.Cancel(ctx, key, toss.CancelRequest{CancelReason: "again"}, "")
	tossErr(t, err, 400, toss.CodeAlreadyCanceledPayment)

	st := e.sim.Stats()
	if st.Cancels["order-cancel"] != 2 || st.IdempotentReplays != 1 {
		t.Errorf("stats cancels %v replays %d", st.Cancels, st.IdempotentReplays)
	}
}

// headerTransport adds headers to every request.
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.header {
		r.Header[k] = v
	}
	return h.base.RoundTrip(r)
}

func TestTestCodeHeader_ForcesErrorWithoutEffect(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	key := e.authorize(t, "order-tcode", 2000)
	forced := func(code string) *toss.Client {
		hc := &http.Client{Transport: headerTransport{http.DefaultTransport, http.Header{"Tosspayments-Test-Code": {code}}}}
		return toss.NewClient(e.srv.URL, simKey, hc)
	}
	req := toss.ConfirmRequest{PaymentKey: key, OrderID: "order-tcode", Amount: won(2000)}
	cases := []struct {
		code   string
		status int
	}{
		{toss.CodeRejectCardPayment, 403},
		{toss.CodeProviderError, 400},
		{toss.CodeNotFoundPaymentSession, 404},
		{toss.CodeFailedInternalSystemProcessing, 500},
		{toss.CodeUnauthorizedKey, 401},
	}
	for _, tc := range cases {
		_, err := forced(tc.code).Confirm(ctx, req, "confirm:order-tcode")
		tossErr(t, err, tc.status, tc.code)
	}
	p, _ := e.sim.Payment(key)
	if p.Status != paysaga.PaymentInProgress || e.sim.Stats().TotalApprovals() != 0 {
		t.Fatalf("test codes had an effect: %s", p.Status)
	}
	// Forced answers are not remembered under the key: the real confirm goes through.
	if _, err := e.client.Confirm(ctx, req, "confirm:order-tcode"); err != nil {
		t.Fatal(err)
	}

	// A live key ignores the header.
	live := newEnv(t, tosssim.Config{SecretKey: "live_sk_docs_sim_paysaga"})
	lkey := live.authorize(t, "order-live1", 2000)
	hc := &http.Client{Transport: headerTransport{http.DefaultTransport, http.Header{"Tosspayments-Test-Code": {"REJECT_CARD_PAYMENT"}}}}
	lc := toss.NewClient(live.srv.URL, "live_sk_docs_sim_paysaga", hc)
	if _, err := lc.Confirm(ctx, toss.ConfirmRequest{PaymentKey: lkey, OrderID: "order-live1", Amount: won(2000)}, ""); err != nil {
		t.Fatalf("live key honoured the test code: %v", err)
	}
}

func TestAcceptLanguage_EnglishLabelsAndMessages(t *testing.T) {
	e := newEnv(t, tosssim.Config{}, toss.WithAcceptLanguage("en-US"))
	ctx := context.Background()
	key := e.authorize(t, "order-en001", 1000)
	p, err := e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: key, OrderID: "order-en001", Amount: won(1000)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Method != "CARD" || p.Card.CardType != "CREDIT" || p.Card.OwnerType != "PERSONAL" {
		t.Errorf("English labels: method %q card %+v", p.Method, p.Card)
	}
	_, err = e.client.GetPayment(ctx, "nope-nope")
	te := tossErr(t, err, 404, toss.CodeNotFoundPayment)
	if te.Message != "The payment does not exist." {
		t.Errorf("English message: %q", te.Message)
	}
}

func TestTransactions_ListApprovalsAndCancels(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	start := e.clock.Now().Add(-time.Hour)
	for _, id := range []string{"order-tx001", "order-tx002"} {
		key := e.authorize(t, id, 5000)
		if _, err := e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: key, OrderID: id, Amount: won(5000)}, ""); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		if id == "order-tx002" {
			if _, err := e.client.Cancel(ctx, key, toss.CancelRequest{CancelReason: "r", CancelAmount: dec(1000)}, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	end := e.clock.Now().Add(time.Hour)
	all, err := e.client.Transactions(ctx, toss.TransactionsQuery{StartDate: start, EndDate: end})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].OrderID != "order-tx001" || all[2].Status != paysaga.PaymentPartialCanceled || !all[2].Amount.Equal(won(1000)) {
		t.Fatalf("transactions: %+v", all)
	}
	if all[0].TransactionAt.IsZero() || all[0].TransactionKey == "" {
		t.Errorf("transaction fields: %+v", all[0])
	}
	page, err := e.client.Transactions(ctx, toss.TransactionsQuery{StartDate: start, EndDate: end, StartingAfter: all[0].TransactionKey, Limit: 1})
	if err != nil || len(page) != 1 || page[0].TransactionKey != all[1].TransactionKey {
		t.Fatalf("page: %v %+v", err, page)
	}
	if _, err := e.client.Transactions(ctx, toss.TransactionsQuery{StartDate: start, EndDate: end, Limit: 5001}); !errors.Is(err, toss.ErrInvalidArgument) {
		t.Errorf("limit 5001: %v", err)
	}
}

func TestDecline_LeavesPaymentAborted(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	// The payment window takes any card number; one ending in 9999 is declined at confirm.
	resp, err := e.srv.Client().Post(e.srv.URL+"/sim/v1/authorize", "application/json",
		strings.NewReader(`{"orderId":"order-decl1","orderName":"신발","amount":"8000","cardNumber":"4111-1111-1111-9999"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ PaymentKey string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	_, err = e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: out.PaymentKey, OrderID: "order-decl1", Amount: won(8000)}, "confirm:order-decl1")
	tossErr(t, err, 403, toss.CodeRejectCardPayment)
	if toss.IsRetryable(err) {
		t.Error("a decline is not retryable")
	}
	p, err := e.client.GetPayment(ctx, out.PaymentKey)
	if err != nil || p.Status != paysaga.PaymentAborted || p.Failure == nil || p.Failure.Code != toss.CodeRejectCardPayment {
		t.Fatalf("after decline: %v %+v", err, p)
	}
	st := e.sim.Stats()
	if st.Aborts["order-decl1"] != 1 || st.TotalApprovals() != 0 {
		t.Errorf("stats %+v", st)
	}
}
