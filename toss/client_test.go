package toss_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
)

func readGolden(t *testing.T, name string) *toss.Payment {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var p toss.Payment
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return &p
}

func kst(s string) time.Time {
	t, err := time.Parse(toss.TimeLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestGoldenPayment_DocumentationShapeDecodes(t *testing.T) {
	p := readGolden(t, "payment_done.json")
	approved := kst("2024-02-13T12:18:14+09:00")
	want := &toss.Payment{
		Version:             "2022-11-16",
		MID:                 "tosspayments",
		PaymentKey:          "5EnNZRJGvaBX7zk2yd8ydw26XvwXkLrx9POLqKQjmAw4b0e1",
		Type:                "NORMAL",
		OrderID:             "MC4wODU4ODQwMzg4NDk0",
		OrderName:           "토스 티셔츠 외 2건",
		Status:              "DONE",
		RequestedAt:         kst("2024-02-13T12:17:57+09:00"),
		ApprovedAt:          &approved,
		Currency:            "KRW",
		Method:              "카드",
		TotalAmount:         won(1000),
		BalanceAmount:       won(1000),
		SuppliedAmount:      won(909),
		VAT:                 won(91),
		TaxFreeAmount:       won(0),
		TaxExemptionAmount:  won(0),
		IsPartialCancelable: true,
		LastTransactionKey:  "9C62B18EEF0DE3EB7F4422EB6D14BC5E",
		Secret:              "ps_Z1aOwX7K8mYwePPoqKmM8yQxzvNP",
		Country:             "KR",
		Card: &toss.Card{
			Amount: won(1000), IssuerCode: "71", AcquirerCode: "71", Number: "12345678****000*",
			ApproveNo: "00000000", CardType: "신용", OwnerType: "개인", AcquireStatus: "READY",
		},
		EasyPay:  &toss.EasyPay{Provider: "토스페이", Amount: won(0), DiscountAmount: won(0)},
		Receipt:  &toss.Receipt{URL: "https://dashboard.tosspayments.com/receipt/redirection?transactionId=tviva20240213121757MvuS8&ref=PX"},
		Checkout: &toss.Checkout{URL: "https://api.tosspayments.com/v1/payments/5EnNZRJGvaBX7zk2yd8ydw26XvwXkLrx9POLqKQjmAw4b0e1/checkout"},
	}
	if diff := diffPayments(want, p); diff != "" {
		t.Fatal(diff)
	}
	if got := p.ApprovedAt.In(time.UTC); got != time.Date(2024, 2, 13, 3, 18, 14, 0, time.UTC) {
		t.Errorf("approvedAt in UTC %v", got)
	}
	f := p.Facts()
	if f.PaymentKey != want.PaymentKey || f.OrderID != want.OrderID || f.Status != "DONE" ||
		!f.TotalAmount.Equal(won(1000)) || f.Method != "카드" || f.ApprovedAt == nil || !f.ApprovedAt.Equal(approved) {
		t.Errorf("facts %+v", f)
	}
	if f.ApprovedAt == p.ApprovedAt {
		t.Error("Facts shares the ApprovedAt pointer with the payment")
	}
}

func TestGoldenPayment_PartialCancelWithBareStringEasyPay(t *testing.T) {
	p := readGolden(t, "payment_partial_canceled.json")
	if p.Status != paysaga.PaymentPartialCanceled || !p.BalanceAmount.Equal(won(700)) || p.Card != nil || p.Secret != "" {
		t.Fatalf("%+v", p)
	}
	if p.EasyPay == nil || p.EasyPay.Provider != "토스페이" || !p.EasyPay.Amount.IsZero() {
		t.Errorf("bare-string easyPay: %+v", p.EasyPay)
	}
	if len(p.Cancels) != 1 {
		t.Fatalf("cancels %+v", p.Cancels)
	}
	c := p.Cancels[0]
	if !c.CancelAmount.Equal(won(300)) || !c.RefundableAmount.Equal(won(700)) || c.CanceledAt != kst("2024-02-13T12:20:23+09:00") ||
		c.TransactionKey != p.LastTransactionKey || c.CancelStatus != "DONE" || c.CancelRequestID != "" {
		t.Errorf("cancel %+v", c)
	}
	if p.Metadata["cartId"] != "cart-42" {
		t.Errorf("metadata %v", p.Metadata)
	}
}

func TestPayment_DecodesNullsAndOtherTimeForms(t *testing.T) {
	var p toss.Payment
	err := json.Unmarshal([]byte(`{"status":"IN_PROGRESS","requestedAt":"2024-02-13T12:17:57.123+09:00",
		"approvedAt":null,"method":null,"totalAmount":"1000","card":null,"easyPay":null,"vat":null}`), &p)
	if err != nil {
		t.Fatal(err)
	}
	if p.ApprovedAt != nil || p.Card != nil || p.EasyPay != nil || p.Method != "" || !p.TotalAmount.Equal(won(1000)) {
		t.Errorf("%+v", p)
	}
	if p.RequestedAt.Nanosecond() != 123_000_000 {
		t.Errorf("fractional seconds lost: %v", p.RequestedAt)
	}
	if err := json.Unmarshal([]byte(`{"requestedAt":"yesterday"}`), &p); err == nil {
		t.Error("a malformed time decoded")
	}
	// A round trip through the client's own JSON keeps the values.
	src := readGolden(t, "payment_done.json")
	raw, _ := json.Marshal(src)
	var back toss.Payment
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if diff := diffPayments(src, &back); diff != "" {
		t.Error(diff)
	}
}

// diffPayments compares field by field, decimals by value and times by instant.
func diffPayments(want, got *toss.Payment) string {
	var b strings.Builder
	compare(&b, "Payment", reflect.ValueOf(want).Elem(), reflect.ValueOf(got).Elem())
	return b.String()
}

var (
	decimalType = reflect.TypeOf(decimal.Decimal{})
	timeType    = reflect.TypeOf(time.Time{})
)

func compare(b *strings.Builder, path string, w, g reflect.Value) {
	switch {
	case w.Type() == decimalType:
		if !w.Interface().(decimal.Decimal).Equal(g.Interface().(decimal.Decimal)) {
			fmt.Fprintf(b, "%s: want %v, got %v\n", path, w.Interface(), g.Interface())
		}
	case w.Type() == timeType:
		if !w.Interface().(time.Time).Equal(g.Interface().(time.Time)) {
			fmt.Fprintf(b, "%s: want %v, got %v\n", path, w.Interface(), g.Interface())
		}
	case w.Kind() == reflect.Pointer:
		if w.IsNil() != g.IsNil() {
			fmt.Fprintf(b, "%s: want nil=%v, got nil=%v\n", path, w.IsNil(), g.IsNil())
		} else if !w.IsNil() {
			compare(b, path, w.Elem(), g.Elem())
		}
	case w.Kind() == reflect.Struct:
		for i := 0; i < w.NumField(); i++ {
			compare(b, path+"."+w.Type().Field(i).Name, w.Field(i), g.Field(i))
		}
	case w.Kind() == reflect.Slice:
		if w.Len() != g.Len() {
			fmt.Fprintf(b, "%s: want %d entries, got %d\n", path, w.Len(), g.Len())
			return
		}
		for i := 0; i < w.Len(); i++ {
			compare(b, fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i))
		}
	default:
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			fmt.Fprintf(b, "%s: want %v, got %v\n", path, w.Interface(), g.Interface())
		}
	}
}

// jsonKeys lists the JSON names of a struct type's fields.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

func missingKeys(obj map[string]json.RawMessage, t reflect.Type) []string {
	var missing []string
	for _, k := range jsonKeys(t) {
		if _, ok := obj[k]; !ok {
			missing = append(missing, k)
		}
	}
	return missing
}

// The simulator must emit every field the client reads, so that nothing the spine relies on
// is silently zero in development and set in production.
func TestSimulatorPayment_HasEveryFieldTheClientReads(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	key := e.authorize(t, "order-fields", 10000)
	if _, err := e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: key, OrderID: "order-fields", Amount: won(10000)}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Cancel(ctx, key, toss.CancelRequest{CancelReason: "부분", CancelAmount: dec(1000)}, ""); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/payments/"+key, nil)
	req.SetBasicAuth(simKey, "")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var obj map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil {
		t.Fatal(err)
	}
	if m := missingKeys(obj, reflect.TypeOf(toss.Payment{})); len(m) > 0 {
		t.Errorf("payment lacks %v", m)
	}
	var card map[string]json.RawMessage
	_ = json.Unmarshal(obj["card"], &card)
	if m := missingKeys(card, reflect.TypeOf(toss.Card{})); len(m) > 0 {
		t.Errorf("card lacks %v", m)
	}
	var cancels []map[string]json.RawMessage
	_ = json.Unmarshal(obj["cancels"], &cancels)
	if len(cancels) != 1 {
		t.Fatalf("cancels %s", obj["cancels"])
	}
	if m := missingKeys(cancels[0], reflect.TypeOf(toss.Cancel{})); len(m) > 0 {
		t.Errorf("cancel lacks %v", m)
	}
	for _, k := range []string{"totalAmount", "balanceAmount", "vat"} {
		var n json.Number
		if err := json.Unmarshal(obj[k], &n); err != nil || strings.HasPrefix(string(obj[k]), `"`) {
			t.Errorf("%s is not a JSON number: %s", k, obj[k])
		}
	}
	for _, k := range []string{"requestedAt", "approvedAt"} {
		var s string
		_ = json.Unmarshal(obj[k], &s)
		if _, err := time.Parse(toss.TimeLayout, s); err != nil || !strings.HasSuffix(s, "+09:00") {
			t.Errorf("%s %q is not in Toss's form", k, s)
		}
	}
}

// recorder is a fake Toss that records the last request and answers what it is told.
type recorder struct {
	mu     sync.Mutex
	req    *http.Request
	body   []byte
	status int
	answer string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.req, r.body = req, b
	status, answer := r.status, r.answer
	r.mu.Unlock()
	if status == 0 {
		status = 200
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

func newRecorder(t *testing.T, status int, answer string) (*recorder, *httptest.Server) {
	rec := &recorder{status: status, answer: answer}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv
}

const secret = "test_sk_docs_example_0000000000"

func TestClient_SendsTossHeadersAndNumbers(t *testing.T) {
	rec, srv := newRecorder(t, 200, `{"status":"DONE","totalAmount":15000,"unknownNewField":{"x":1}}`)
	c := toss.NewClient(srv.URL+"/", secret, nil, toss.WithAcceptLanguage("en-US"))
	p, err := c.Confirm(context.Background(), toss.ConfirmRequest{PaymentKey: "pk", OrderID: "order-1", Amount: won(15000)}, "confirm:order-1")
	if err != nil || p.Status != "DONE" || !p.TotalAmount.Equal(won(15000)) {
		t.Fatalf("%v %+v", err, p)
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(secret+":"))
	h := rec.req.Header
	if h.Get("Authorization") != wantAuth || h.Get("Idempotency-Key") != "confirm:order-1" ||
		h.Get("Content-Type") != "application/json" || h.Get("Accept-Language") != "en-US" {
		t.Errorf("headers %v", h)
	}
	if rec.req.Method != http.MethodPost || rec.req.URL.Path != "/v1/payments/confirm" {
		t.Errorf("%s %s", rec.req.Method, rec.req.URL.Path)
	}
	if string(rec.body) != `{"paymentKey":"pk","orderId":"order-1","amount":15000}` {
		t.Errorf("body %s", rec.body)
	}
	if rec.req.ContentLength != int64(len(rec.body)) || len(rec.req.TransferEncoding) > 0 {
		t.Errorf("body sent with length %d / %v", rec.req.ContentLength, rec.req.TransferEncoding)
	}

	// No key, no header; GETs carry neither key nor body.
	if _, err := c.GetPayment(context.Background(), "a/b?c"); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.req.Header["Idempotency-Key"]; ok {
		t.Error("GET sent an Idempotency-Key")
	}
	if rec.req.URL.EscapedPath() != "/v1/payments/a%2Fb%3Fc" {
		t.Errorf("path not escaped: %s", rec.req.URL.EscapedPath())
	}
	if _, err := c.GetPaymentByOrderID(context.Background(), "order 1"); err != nil {
		t.Fatal(err)
	}
	if rec.req.URL.EscapedPath() != "/v1/payments/orders/order%201" {
		t.Errorf("path %s", rec.req.URL.EscapedPath())
	}
}

func TestClient_CancelOmitsNilFields(t *testing.T) {
	rec, srv := newRecorder(t, 200, `{"status":"CANCELED"}`)
	c := toss.NewClient(srv.URL, secret, srv.Client())
	if _, err := c.Cancel(context.Background(), "pk", toss.CancelRequest{CancelReason: "변심"}, ""); err != nil {
		t.Fatal(err)
	}
	if string(rec.body) != `{"cancelReason":"변심"}` {
		t.Errorf("full cancel body %s", rec.body)
	}
	if _, ok := rec.req.Header["Idempotency-Key"]; ok {
		t.Error("empty key sent as a header")
	}
	tf := won(0)
	if _, err := c.Cancel(context.Background(), "pk", toss.CancelRequest{CancelReason: "r", CancelAmount: dec(1500), RefundableAmount: dec(9000), TaxFreeAmount: &tf}, "k"); err != nil {
		t.Fatal(err)
	}
	if string(rec.body) != `{"cancelReason":"r","cancelAmount":1500,"refundableAmount":9000,"taxFreeAmount":0}` {
		t.Errorf("partial cancel body %s", rec.body)
	}
	if rec.req.URL.Path != "/v1/payments/pk/cancel" {
		t.Errorf("path %s", rec.req.URL.Path)
	}
}

func TestClient_ErrorAnswers(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		code       string
		inMessage  string
	}{
		{"toss error", `{"code":"NOT_FOUND_PAYMENT","message":"존재하지 않는 결제 정보 입니다."}`, 404, "NOT_FOUND_PAYMENT", "존재하지"},
		{"html from a proxy", `<html><body>502 Bad Gateway</body></html>`, 502, "", "502 Bad Gateway"},
		{"empty body", ``, 503, "", "non-JSON"},
		{"json without code", `{"error":"nope"}`, 400, "", "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newRecorder(t, tc.status, tc.body)
			c := toss.NewClient(srv.URL, secret, srv.Client())
			_, err := c.GetPayment(context.Background(), "pk")
			var te *toss.Error
			if !errors.As(err, &te) || te.HTTPStatus != tc.status || te.Code != tc.code || !strings.Contains(te.Message, tc.inMessage) {
				t.Fatalf("got %#v (%v)", te, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tc.status)) {
				t.Errorf("error text lacks the status: %v", err)
			}
		})
	}
}

func TestClient_NeverPutsTheSecretInErrors(t *testing.T) {
	// A hostile or broken proxy echoing the request's Authorization header and the key.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		user, _, _ := r.BasicAuth()
		if strings.HasSuffix(r.URL.Path, "json") {
			w.WriteHeader(401)
			_ = json.NewEncoder(w).Encode(map[string]string{"code": "UNAUTHORIZED_KEY", "message": "bad key " + user})
			return
		}
		w.WriteHeader(500)
		fmt.Fprintf(w, "<pre>Authorization: %s\nuser=%s</pre>", auth, user)
	}))
	defer srv.Close()
	c := toss.NewClient(srv.URL, secret, srv.Client())
	encoded := base64.StdEncoding.EncodeToString([]byte(secret + ":"))
	for _, key := range []string{"html", "json"} {
		_, err := c.GetPayment(context.Background(), key)
		if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), encoded) {
			t.Errorf("error leaks the secret: %v", err)
		}
		if s := fmt.Sprintf("%+v %#v", err, err); strings.Contains(s, secret) {
			t.Errorf("formatted error leaks the secret: %s", s)
		}
	}
	// Transport failures name the host, never the secret or the paymentKey in the path.
	dead := toss.NewClient("http://127.0.0.1:1", secret, nil)
	const paymentKey = "tsim_20240101abcdefPAYMENTKEY"
	_, err := dead.GetPayment(context.Background(), paymentKey)
	if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), paymentKey) || !toss.IsUnknownOutcome(err) {
		t.Errorf("transport error: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("transport error does not say where the call went: %v", err)
	}
	_, err = dead.Cancel(context.Background(), paymentKey, toss.CancelRequest{CancelReason: "r"}, "k")
	if err == nil || strings.Contains(fmt.Sprintf("%+v", err), paymentKey) {
		t.Errorf("cancel's transport error: %v", err)
	}
}

// A secret that an error page puts across the 200th byte, where the message is cut, is
// scrubbed whole: no prefix of it is left.
func TestClient_ScrubsTheSecretBeforeCuttingTheMessage(t *testing.T) {
	for pad := 185; pad <= 200; pad++ {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			fmt.Fprint(w, strings.Repeat("x", pad)+secret+" trailing")
		}))
		c := toss.NewClient(srv.URL, secret, srv.Client())
		_, err := c.GetPayment(context.Background(), "pk")
		srv.Close()
		if err == nil {
			t.Fatal("a 502 was not an error")
		}
		// Any 8 bytes of the secret in the message is a leak.
		for i := 0; i+8 <= len(secret); i++ {
			if strings.Contains(err.Error(), secret[i:i+8]) {
				t.Fatalf("pad %d: the message keeps part of the secret: %v", pad, err)
			}
		}
	}
}

func TestClient_UndecodableSuccessIsAnUnknownOutcome(t *testing.T) {
	_, srv := newRecorder(t, 200, `{"status":"DONE","totalAmount":`)
	c := toss.NewClient(srv.URL, secret, srv.Client())
	_, err := c.Confirm(context.Background(), toss.ConfirmRequest{PaymentKey: "pk", OrderID: "o", Amount: won(1)}, "k")
	if err == nil || !toss.IsUnknownOutcome(err) {
		t.Fatalf("a 200 we cannot read may be an approval: %v", err)
	}
}

func TestClient_RefusesBeforeSending(t *testing.T) {
	rec, srv := newRecorder(t, 200, `{}`)
	c := toss.NewClient(srv.URL, secret, srv.Client())
	ctx := context.Background()
	done, cancel := context.WithCancel(ctx)
	cancel()
	calls := []func() error{
		func() error { _, err := c.GetPayment(ctx, ""); return err },
		func() error { _, err := c.GetPaymentByOrderID(ctx, ""); return err },
		func() error { _, err := c.Confirm(ctx, toss.ConfirmRequest{OrderID: "o"}, ""); return err },
		func() error { _, err := c.Cancel(ctx, "pk", toss.CancelRequest{}, ""); return err },
		func() error {
			_, err := c.Cancel(ctx, "pk", toss.CancelRequest{CancelReason: "r"}, strings.Repeat("x", 301))
			return err
		},
		func() error { _, err := c.Transactions(ctx, toss.TransactionsQuery{}); return err },
		func() error { _, err := c.GetPayment(done, "pk"); return err },
	}
	for i, call := range calls {
		err := call()
		if !errors.Is(err, toss.ErrNotSent) || toss.IsUnknownOutcome(err) || toss.IsRetryable(err) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if rec.req != nil {
		t.Errorf("a refused call reached the server: %s", rec.req.URL)
	}
}

// A POST whose connection breaks after it was sent must surface as an unknown outcome; the
// client must not quietly send it again (net/http would, for a request with an
// Idempotency-Key on a reused connection).
func TestClient_DoesNotResendAPostByItself(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	posts := 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, `{"status":"DONE"}`)
			return
		}
		mu.Lock()
		posts++
		mu.Unlock()
		_, _ = io.ReadAll(r.Body)
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	c := toss.NewClient("http://"+ln.Addr().String(), secret, &http.Client{Timeout: 5 * time.Second})
	ctx := context.Background()
	// Warm a keep-alive connection so the POST goes over a reused one.
	if _, err := c.GetPayment(ctx, "pk"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Confirm(ctx, toss.ConfirmRequest{PaymentKey: "pk", OrderID: "order-1", Amount: won(100)}, "confirm:order-1")
	if err == nil || !toss.IsUnknownOutcome(err) {
		t.Fatalf("dropped connection: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if posts != 1 {
		t.Errorf("the POST was sent %d times", posts)
	}
}

func TestClient_TimeoutIsAnUnknownOutcome(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := toss.NewClient(srv.URL, secret, srv.Client())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Confirm(ctx, toss.ConfirmRequest{PaymentKey: "pk", OrderID: "o", Amount: won(1)}, "k")
	if !errors.Is(err, context.DeadlineExceeded) || !toss.IsUnknownOutcome(err) || !toss.IsRetryable(err) {
		t.Fatalf("timeout: %v", err)
	}
}

// Under load a client keeps its connections to Toss: a second burst of concurrent calls
// reuses the first burst's instead of dialling (with Go's default transport, which keeps
// two idle connections per host, nearly every call of the second burst dialled again).
func TestNewClient_ConcurrentCallsReuseTheirConnections(t *testing.T) {
	const burst = 32
	var mu sync.Mutex
	opened := 0
	arrived := make(chan struct{}, burst)
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"paymentKey":"pk","orderId":"ord_abcdef","status":"DONE","totalAmount":1000}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			opened++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	c := toss.NewClient(srv.URL, "test_sk_transport", nil)

	round := func() {
		var calls sync.WaitGroup
		for range burst {
			calls.Go(func() {
				if _, err := c.GetPayment(context.Background(), "pk"); err != nil {
					t.Error(err)
				}
			})
		}
		for range burst { // all in flight at once: each needs a connection of its own
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the calls did not all arrive")
			}
		}
		for range burst {
			release <- struct{}{}
		}
		calls.Wait()
	}
	round()
	mu.Lock()
	first := opened
	mu.Unlock()
	round()
	mu.Lock()
	defer mu.Unlock()
	if first != burst || opened != first {
		t.Errorf("connections opened: %d in the first burst of %d calls (want %d), %d more in the second (want 0)",
			first, burst, burst, opened-first)
	}
}
