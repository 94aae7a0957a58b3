package tosssim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
)

func TestAuthorize_Validation(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	cases := []struct {
		body   string
		status int
		code   string
	}{
		{`{"orderId":"order-ok-01","orderName":"셔츠","amount":15000}`, 200, ""},
		{`{"orderId":"order-ok-02","orderName":"셔츠","amount":"15000"}`, 200, ""},
		{`{"orderId":"Az09-_=x","orderName":"셔츠","amount":1}`, 200, ""},
		{`{"orderId":"short","orderName":"셔츠","amount":1}`, 400, "INVALID_REQUEST"},
		{`{"orderId":"` + strings.Repeat("a", 65) + `","orderName":"x","amount":1}`, 400, "INVALID_REQUEST"},
		{`{"orderId":"order/slash","orderName":"x","amount":1}`, 400, "INVALID_REQUEST"},
		{`{"orderId":"order-ok-03","orderName":"","amount":1}`, 400, "INVALID_REQUEST"},
		{`{"orderId":"order-ok-03","orderName":"` + strings.Repeat("가", 101) + `","amount":1}`, 400, "INVALID_REQUEST"},
		{`{"orderId":"order-ok-03","orderName":"` + strings.Repeat("가", 100) + `","amount":1}`, 200, ""},
		{`{"orderId":"order-ok-04","orderName":"x","amount":0}`, 400, "INVALID_REQUEST"},
		{`{"orderId":"order-ok-04","orderName":"x","amount":-5}`, 400, "INVALID_REQUEST"},
		{`{"orderId":"order-ok-04","orderName":"x","amount":1.5}`, 400, "INVALID_REQUEST"},
		{`{"orderId":"order-ok-04","orderName":"x","amount":"abc"}`, 400, "INVALID_REQUEST"},
		{`{"orderId":"order-ok-04","orderName":"x"}`, 400, "INVALID_REQUEST"},
		{`not json`, 400, "INVALID_REQUEST"},
		{`{"orderId":"order-ok-01","orderName":"셔츠","amount":15000}`, 400, "DUPLICATED_ORDER_ID"},
	}
	for _, tc := range cases {
		status, body := e.do(t, "POST", "/sim/v1/authorize", tc.body, nil)
		if status != tc.status || codeOf(body) != tc.code {
			t.Errorf("%.60s: got %d %s", tc.body, status, body)
		}
	}
	_, body := e.do(t, "POST", "/sim/v1/authorize", `{"orderId":"order-ok-05","orderName":"x","amount":"2500"}`, nil)
	var out struct {
		PaymentKey string
		OrderID    string
		Amount     json.Number
	}
	if err := json.Unmarshal(body, &out); err != nil || out.PaymentKey == "" || out.OrderID != "order-ok-05" || out.Amount != "2500" {
		t.Fatalf("authorize answer %s", body)
	}
	p, ok := e.sim.Payment(out.PaymentKey)
	if !ok || p.Status != "IN_PROGRESS" || p.TotalAmount != 2500 || p.ApprovedAt != nil || p.Method != nil || p.Checkout == nil {
		t.Errorf("authorized payment %+v", p)
	}
}

func TestConfirm_AmountAsStringAndMissingFields(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-str01", 4500)
	for _, body := range []string{
		`{"orderId":"order-str01","amount":4500}`,
		`{"paymentKey":"` + pk + `","amount":4500}`,
		`{"paymentKey":"` + pk + `","orderId":"order-str01"}`,
		`{"paymentKey":"` + pk + `","orderId":"order-str01","amount":"45OO"}`,
	} {
		if status, b := e.do(t, "POST", "/v1/payments/confirm", body, nil); status != 400 || codeOf(b) != "INVALID_REQUEST" {
			t.Errorf("%s: %d %s", body, status, b)
		}
	}
	status, b := e.do(t, "POST", "/v1/payments/confirm", `{"paymentKey":"`+pk+`","orderId":"order-str01","amount":"4500"}`, nil)
	if status != 200 {
		t.Fatalf("%d %s", status, b)
	}
	// Amounts in a cancel may be strings too.
	status, b = e.do(t, "POST", "/v1/payments/"+pk+"/cancel", `{"cancelReason":"r","cancelAmount":"500","refundableAmount":"4500"}`, nil)
	if status != 200 || !bytes.Contains(b, []byte(`"balanceAmount":4000`)) {
		t.Fatalf("%d %s", status, b)
	}
	for _, body := range []string{`{}`, `{"cancelReason":""}`, `{"cancelReason":"` + strings.Repeat("x", 201) + `"}`, `{"cancelReason":"r","cancelAmount":0}`, `{"cancelReason":"r","currency":"USD"}`} {
		if status, b := e.do(t, "POST", "/v1/payments/"+pk+"/cancel", body, nil); status != 400 || codeOf(b) != "INVALID_REQUEST" {
			t.Errorf("cancel %s: %d %s", body, status, b)
		}
	}
}

func TestUnknownRoute_AnswersTossShapedNotFound(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	status, body := e.do(t, "DELETE", "/v1/payments/x", "", nil)
	if status != 404 || codeOf(body) != "NOT_FOUND" {
		t.Errorf("%d %s", status, body)
	}
}

func TestConcurrentConfirms_SameKey_ExactlyOneApproval(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-race1", 10000)
	// Slow the confirm so the callers overlap.
	e.setFaults(t, tosssim.FaultRule{Endpoint: "confirm", Kind: tosssim.FaultLatency, LatencyMS: 50})
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.confirm("order-race1", pk, 10000, "confirm:order-race1")
		}()
	}
	wg.Wait()
	ok, busy := 0, 0
	for _, err := range errs {
		var te *toss.Error
		switch {
		case err == nil:
			ok++
		case errors.As(err, &te) && te.Code == toss.CodeIdempotentRequestProcessing:
			busy++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	st := e.sim.Stats()
	c := st.Calls["confirm"]
	if st.Approvals["order-race1"] != 1 || ok+busy != n || c.Total != n || c.Outcomes["200"] != ok || c.Outcomes["409 IDEMPOTENT_REQUEST_PROCESSING"] != busy {
		t.Errorf("ok %d busy %d stats %+v approvals %v", ok, busy, c, st.Approvals)
	}
}

func TestConcurrentConfirms_NoKey_ExactlyOneApproval(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-race2", 10000)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.confirm("order-race2", pk, 10000, "")
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var te *toss.Error
		if err == nil {
			ok++
		} else if !errors.As(err, &te) || te.Code != toss.CodeAlreadyProcessedPayment {
			t.Errorf("unexpected: %v", err)
		}
	}
	if st := e.sim.Stats(); ok != 1 || st.Approvals["order-race2"] != 1 || st.Calls["confirm"].Outcomes["400 ALREADY_PROCESSED_PAYMENT"] != n-1 {
		t.Errorf("ok %d, stats %+v", ok, st.Calls["confirm"])
	}
}

func TestStatsAPI_MatchesStatsAndResets(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-stat1", 1000)
	if _, err := e.confirm("order-stat1", pk, 1000, "k"); err != nil {
		t.Fatal(err)
	}
	_, _ = e.client.GetPayment(context.Background(), "missing-key")
	status, body := e.do(t, "GET", "/sim/v1/stats", "", nil)
	var st tosssim.Stats
	if err := json.Unmarshal(body, &st); err != nil || status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if st.Approvals["order-stat1"] != 1 || st.Calls["confirm"].Outcomes["200"] != 1 || st.Calls["get"].Outcomes["404 NOT_FOUND_PAYMENT"] != 1 {
		t.Errorf("stats %s", body)
	}
	e.do(t, "DELETE", "/sim/v1/stats", "", nil)
	if st := e.sim.Stats(); st.TotalApprovals() != 0 || st.Calls["confirm"].Total != 0 {
		t.Errorf("after reset %+v", st)
	}
	// Payments survive a stats reset.
	if _, ok := e.sim.Payment(pk); !ok {
		t.Error("reset dropped the payment")
	}
}

func TestTransactions_Validation(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	for _, q := range []string{"", "?startDate=2024-01-01T00:00:00", "?startDate=x&endDate=y",
		"?startDate=2024-01-01T00:00:00&endDate=2024-01-02T00:00:00&limit=5001",
		"?startDate=2024-01-02T00:00:00&endDate=2024-01-01T00:00:00"} {
		if status, body := e.do(t, "GET", "/v1/transactions"+q, "", nil); status != 400 || codeOf(body) != "INVALID_REQUEST" {
			t.Errorf("%q: %d %s", q, status, body)
		}
	}
	status, body := e.do(t, "GET", "/v1/transactions?startDate=2024-01-01T00:00:00&endDate=2024-01-02T00:00:00", "", nil)
	if status != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("empty list: %d %s", status, body)
	}
}

// noRedirect returns a client that does not follow redirects.
func noRedirect(srv *httptest.Server) *http.Client {
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func TestWindow_PageLooksLikeAPaymentWindow(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	q := url.Values{
		"orderId": {"order-win01"}, "orderName": {"<b>토스 티셔츠</b> 외 2건"}, "amount": {"15000"},
		"successUrl": {"http://127.0.0.1:8080/success?from=sim"}, "failUrl": {"https://shop.example/fail"},
	}
	resp, err := e.srv.Client().Get(e.srv.URL + "/window?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"15,000원", "&lt;b&gt;토스 티셔츠&lt;/b&gt; 외 2건", "결제하기", "취소", `name="cardNumber"`, "카드 번호", `method="post"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "<b>토스", "src=\"http", "href=\"http", "@import"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q (needs JavaScript, the internet, or is not escaped)", banned)
		}
	}
}

func TestWindow_PayRedirectsToSuccessWithAuthorizedPayment(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	form := url.Values{
		"orderId": {"order-win02"}, "orderName": {"모자"}, "amount": {"8000"}, "cardNumber": {"1234 5678 1234 5678"},
		"successUrl": {"http://127.0.0.1:8080/success?from=sim"}, "failUrl": {"http://127.0.0.1:8080/fail"}, "action": {"pay"},
	}
	resp, err := noRedirect(e.srv).PostForm(e.srv.URL+"/window", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	got := loc.Query()
	if loc.Host != "127.0.0.1:8080" || loc.Path != "/success" || got.Get("from") != "sim" || got.Get("paymentType") != "NORMAL" ||
		got.Get("orderId") != "order-win02" || got.Get("amount") != "8000" || got.Get("paymentKey") == "" {
		t.Fatalf("redirect %s", loc)
	}
	p, ok := e.sim.Payment(got.Get("paymentKey"))
	if !ok || p.Status != "IN_PROGRESS" || p.OrderID != "order-win02" {
		t.Fatalf("payment %+v", p)
	}
	// The redirect's values confirm through the client, amount string and all.
	pay, err := e.client.Confirm(context.Background(), toss.ConfirmRequest{
		PaymentKey: got.Get("paymentKey"), OrderID: got.Get("orderId"), Amount: won(8000)}, "")
	if err != nil || pay.Card.Number != "12345678****567*" {
		t.Fatalf("confirm: %v %+v", err, pay)
	}

	// Paying again for the same order goes to failUrl.
	resp, err = noRedirect(e.srv).PostForm(e.srv.URL+"/window", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Path != "/fail" || loc.Query().Get("code") != "PAY_PROCESS_ABORTED" || loc.Query().Get("message") == "" {
		t.Errorf("duplicate pay: %d %s", resp.StatusCode, loc)
	}
}

func TestWindow_CancelRedirectsToFail(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	form := url.Values{
		"orderId": {"order-win03"}, "orderName": {"모자"}, "amount": {"8000"},
		"successUrl": {"http://127.0.0.1:8080/success"}, "failUrl": {"http://127.0.0.1:8080/fail?lang=ko"}, "action": {"cancel"},
	}
	resp, err := noRedirect(e.srv).PostForm(e.srv.URL+"/window", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if resp.StatusCode != http.StatusFound || loc.Path != "/fail" || q.Get("lang") != "ko" || q.Get("code") != "PAY_PROCESS_CANCELED" ||
		q.Get("orderId") != "order-win03" || q.Get("message") == "" {
		t.Fatalf("%d %s", resp.StatusCode, loc)
	}
	if _, ok := e.sim.PaymentByOrderID("order-win03"); ok {
		t.Error("a cancelled window created a payment")
	}
}

func TestWindow_RefusesNonHTTPRedirectTargets(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	for _, target := range []string{"javascript:alert(1)", "/relative", "data:text/html,x", "ftp://x/y", "//evil.example/x", ""} {
		q := url.Values{"orderId": {"order-win04"}, "orderName": {"x"}, "amount": {"100"}, "successUrl": {target}, "failUrl": {"http://127.0.0.1/fail"}}
		resp, err := e.srv.Client().Get(e.srv.URL + "/window?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("successUrl %q: %d", target, resp.StatusCode)
		}
		form := url.Values{"orderId": {"order-win04"}, "orderName": {"x"}, "amount": {"100"}, "successUrl": {"http://127.0.0.1/ok"}, "failUrl": {target}, "action": {"cancel"}}
		resp, err = noRedirect(e.srv).PostForm(e.srv.URL+"/window", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("failUrl %q: %d", target, resp.StatusCode)
		}
	}
	q := url.Values{"orderId": {"bad"}, "orderName": {"x"}, "amount": {"100"}, "successUrl": {"http://a/b"}, "failUrl": {"http://a/c"}}
	resp, _ := e.srv.Client().Get(e.srv.URL + "/window?" + q.Encode())
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("bad orderId: %d", resp.StatusCode)
	}
}

// hook is a webhook receiver that fails its first failures answers.
type hook struct {
	mu       sync.Mutex
	failures int
	attempts int
	events   []tosssim.WebhookEvent
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev tosssim.WebhookEvent
	_ = json.NewDecoder(r.Body).Decode(&ev)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	if h.failures > 0 {
		h.failures--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.events = append(h.events, ev)
}

func (h *hook) statuses() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s []string
	for _, ev := range h.events {
		s = append(s, ev.Data.Status)
	}
	return s
}

func TestWebhooks_StatusChangesAreSentAndRetried(t *testing.T) {
	h := &hook{failures: 2}
	recv := httptest.NewServer(h)
	defer recv.Close()
	e := newEnv(t, tosssim.Config{WebhookURL: recv.URL, WebhookRetryScale: 1e-5}) // 1 min → 0.6 ms
	pk := e.authorize(t, "order-hook1", 10000)
	if _, err := e.confirm("order-hook1", pk, 10000, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "DONE webhook after two failures", func() bool { return len(h.statuses()) == 1 })
	h.mu.Lock()
	ev := h.events[0]
	h.mu.Unlock()
	if ev.EventType != "PAYMENT_STATUS_CHANGED" || ev.Data.Status != "DONE" || ev.Data.OrderID != "order-hook1" || ev.Data.Secret == nil || ev.CreatedAt == "" {
		t.Errorf("event %+v", ev)
	}
	for _, amount := range []string{"1000", ""} {
		body := `{"cancelReason":"r"}`
		if amount != "" {
			body = `{"cancelReason":"r","cancelAmount":` + amount + `}`
		}
		if status, b := e.do(t, "POST", "/v1/payments/"+pk+"/cancel", body, nil); status != 200 {
			t.Fatalf("%d %s", status, b)
		}
	}
	e.authorize(t, "order-hook2", 10000)
	e.clock.Advance(tosssim.SessionTimeout)
	e.sim.Stats() // anything after the deadline expires the session
	waitFor(t, "four events", func() bool { return len(h.statuses()) == 4 })
	got := strings.Join(h.statuses(), ",")
	for _, want := range []string{"DONE", "PARTIAL_CANCELED", "CANCELED", "EXPIRED"} {
		if !strings.Contains(got, want) {
			t.Errorf("events %s lack %s", got, want)
		}
	}
	waitFor(t, "four deliveries counted", func() bool { return e.sim.Stats().Webhooks.Delivered == 4 })
	st := e.sim.Stats()
	if st.Webhooks.Delivered != 4 || st.Webhooks.FailedAttempts != 2 || st.Webhooks.Events["EXPIRED"] != 1 {
		t.Errorf("webhook stats %+v", st.Webhooks)
	}
}

func TestWebhooks_GiveUpAfterSevenRetries(t *testing.T) {
	h := &hook{failures: 100}
	recv := httptest.NewServer(h)
	defer recv.Close()
	e := newEnv(t, tosssim.Config{WebhookURL: recv.URL, WebhookRetryScale: 1e-6}) // 4096 min → 0.25 s
	pk := e.authorize(t, "order-hook3", 1000)
	if _, err := e.confirm("order-hook3", pk, 1000, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "giving up", func() bool { return e.sim.Stats().Webhooks.GivenUp == 1 })
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.attempts != 8 {
		t.Errorf("attempts %d, want 1 + 7 retries", h.attempts)
	}
}

func TestStateFile_PaymentsAndRememberedAnswersSurviveARestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sim.json")
	clk := tosssim.NewClock(time.Now())
	sim, err := tosssim.Open(tosssim.Config{StateFile: file, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	c := toss.NewClient(srv.URL, key, srv.Client())
	pk, _ := sim.Authorize("order-state1", "상태", 6000)
	pending, _ := sim.Authorize("order-state2", "대기", 1000)
	req := toss.ConfirmRequest{PaymentKey: pk, OrderID: "order-state1", Amount: won(6000)}
	first, err := c.Confirm(context.Background(), req, "confirm:order-state1")
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}

	sim2, err := tosssim.Open(tosssim.Config{StateFile: file, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer sim2.Close()
	srv2 := httptest.NewServer(sim2)
	defer srv2.Close()
	c2 := toss.NewClient(srv2.URL, key, srv2.Client())
	again, err := c2.Confirm(context.Background(), req, "confirm:order-state1")
	if err != nil || again.LastTransactionKey != first.LastTransactionKey {
		t.Fatalf("replay after restart: %v", err)
	}
	st := sim2.Stats()
	if st.TotalApprovals() != 0 || st.IdempotentReplays != 1 {
		t.Errorf("restart re-executed: %+v", st)
	}
	if p, ok := sim2.Payment(pending); !ok || p.Status != "IN_PROGRESS" {
		t.Fatalf("pending payment: %+v", p)
	}
	if _, err := sim2.Authorize("order-state1", "x", 1); err == nil {
		t.Error("the orderId index was not restored")
	}
	// Sessions still expire after a restart.
	clk.Advance(tosssim.SessionTimeout)
	if p, _ := sim2.Payment(pending); p.Status != "EXPIRED" {
		t.Errorf("after restart and 10 minutes: %s", p.Status)
	}
	if _, err := tosssim.Open(tosssim.Config{StateFile: filepath.Join(t.TempDir(), "missing.json")}); err != nil {
		t.Errorf("a missing state file is an empty state: %v", err)
	}
}

func TestStateFile_CorruptFileIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sim.json")
	if err := writeFile(file, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := tosssim.Open(tosssim.Config{StateFile: file}); err == nil {
		t.Fatal("corrupt state loaded")
	}
}

func TestServer_StartServeShutdown(t *testing.T) {
	srv, err := tosssim.Start("127.0.0.1:0", tosssim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := toss.NewClient(srv.URL(), key, nil)
	pk, err := srv.Sim.Authorize("order-srv01", "x", 100)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.GetPayment(context.Background(), pk); err != nil || p.Checkout == nil || !strings.HasPrefix(p.Checkout.URL, srv.URL()) {
		t.Fatalf("%v %+v", err, p)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := c.GetPayment(context.Background(), pk); err == nil {
		t.Error("server still answers after Close")
	}
}

func TestListenAndServe_StopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// Find a free port, then serve on it.
	probe, err := tosssim.Start("127.0.0.1:0", tosssim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr()
	_ = probe.Close()
	go func() { done <- tosssim.ListenAndServe(ctx, addr, tosssim.Config{}) }()
	waitFor(t, "the server to answer", func() bool {
		resp, err := http.Get("http://" + addr + "/sim/v1/stats")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenAndServe: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenAndServe did not return")
	}
	if _, err := http.Get("http://" + addr + "/sim/v1/stats"); err == nil {
		t.Error("still serving")
	}
}

func TestEnglishMessages(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	status, body := e.do(t, "GET", "/v1/payments/nope", "", map[string]string{"Accept-Language": "en-US"})
	if status != 404 || !bytes.Contains(body, []byte("The payment does not exist.")) {
		t.Errorf("%d %s", status, body)
	}
	status, body = e.do(t, "GET", "/v1/payments/nope", "", nil)
	if status != 404 || !bytes.Contains(body, []byte("존재하지 않는 결제 정보 입니다.")) {
		t.Errorf("%d %s", status, body)
	}
}

func TestIdempotency_KeyScopeIsURLAndMethod(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	a := e.authorize(t, "order-scope1", 1000)
	if _, err := e.confirm("order-scope1", a, 1000, "shared-key"); err != nil {
		t.Fatal(err)
	}
	// The same key on another URL (a cancel) is a different request.
	p, err := e.client.Cancel(context.Background(), a, toss.CancelRequest{CancelReason: "r"}, "shared-key")
	if err != nil || p.Status != paysaga.PaymentCanceled {
		t.Fatalf("%v", err)
	}
	if st := e.sim.Stats(); st.IdempotentReplays != 0 || st.Cancels["order-scope1"] != 1 {
		t.Errorf("%+v", st)
	}
	// Remembered answers expire after 15 days.
	b := e.authorize(t, "order-scope2", 1000)
	if _, err := e.confirm("order-scope2", b, 1000, "k2"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(tosssim.IdempotencyTTL)
	_, err = e.confirm("order-scope2", b, 1000, "k2")
	tossErr(t, err, 400, toss.CodeAlreadyProcessedPayment)
}

func TestPayment_ReceiptPage(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-rcpt1", 3300)
	p, err := e.confirm("order-rcpt1", pk, 3300, "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.srv.Client().Get(p.Receipt.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "3300원") || !strings.Contains(string(b), p.Card.ApproveNo) {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
	if !strings.Contains(string(b), fmt.Sprint(p.ApprovedAt.Format("2006-01-02T15:04:05"))) {
		t.Errorf("receipt lacks approvedAt: %s", b)
	}
}
