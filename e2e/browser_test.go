package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/internal/stacktest"
	"github.com/paysaga/paysaga/internal/workerpool"
	"github.com/paysaga/paysaga/tosssim"
)

// The checkout in a real browser: Debian's Chromium, headless, driven over the DevTools
// protocol. A shopper opens the shop, buys, pays (or fails to) in the simulator's payment
// window and lands on the success or fail page; the database and the simulator's counters
// then say what really happened. Every page is saved as a PNG under artifacts/screenshots.
//
// PAYSAGA_UPDATE_SCREENSHOTS=1 also rewrites the README's pictures in docs/screenshots:
// the shop on a desktop and the success page on a phone.

const (
	phoneWidth, phoneHeight     = 390, 844
	desktopWidth, desktopHeight = 1280, 800
	// browserConfirmWait is the browser stack's ConfirmWait: short, so that a slow Toss
	// answer turns into 202 CONFIRMING and the success page's polling.
	browserConfirmWait = 3 * time.Second
)

// chromiumPath is Debian's Chromium, or PAYSAGA_CHROMIUM.
func chromiumPath() string {
	if p := os.Getenv("PAYSAGA_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// browserStack is a stack of its own, shared by the browser tests: the shop then lists the
// demo products alone (as `make dev` does), and its short ConfirmWait lets a test reach the
// 202 path.
func browserStack(t *testing.T) *stacktest.Stack {
	t.Helper()
	return stacktest.Shared(t, "browser", stacktest.Config{
		Name: "browser", ConfirmWait: browserConfirmWait, LogLevel: slog.LevelWarn,
	})
}

// browser is one headless Chromium with a fresh profile, on one tab.
type browser struct {
	t     *testing.T
	ctx   context.Context
	stack *stacktest.Stack

	mu         sync.Mutex
	exceptions []string
}

// newBrowser starts Chromium on the browser tests' stack (starting the stack on first use).
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromiumPath()
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("the browser tests need Chromium at %s (%v): install Debian's packages with "+
			"`apt-get install chromium chromium-driver` (.ci/run does), or set PAYSAGA_CHROMIUM", exe, err)
	}
	stack := browserStack(t)
	output := &workerpool.Log{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(phoneWidth, phoneHeight),
		chromedp.CombinedOutput(output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// Everything a test does in the browser ends within this bound, whatever happens.
	ctx, cancelAll := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() {
		cancelAll()
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, stack: stack}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateScale(2))); err != nil {
		t.Fatalf("start Chromium (%s): %v\n%s", exe, err, output.Tail(64<<10))
	}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Exception.Description
			}
			b.mu.Lock()
			b.exceptions = append(b.exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listen to the page: %v", err)
	}
	t.Cleanup(b.checkNoExceptions)
	return b
}

// checkNoExceptions fails the test when a page threw: a script error can leave a page
// looking right while a button does nothing.
func (b *browser) checkNoExceptions() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.exceptions {
		b.t.Errorf("uncaught JavaScript exception: %s", e)
	}
}

// do runs steps within 45 s; on failure it saves what the page showed and says where it was.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	name := "failed-" + strings.NewReplacer("/", "-", " ", "-").Replace(b.t.Name())
	if png, serr := chromedp.Run(ctx, chromedp.FullScreenshot(100)); serr == nil {
		b.save(name, png)
	}
	b.t.Fatalf("%s: %v\npage %s (screenshot %s.png):\n%s", what, err, loc, name, body)
}

// text is the visible text of the element.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.fail("read "+sel, err)
	}
	return s
}

func (b *browser) location() *url.URL {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.fail("read the location", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("location %q: %v", loc, err)
	}
	return u
}

// waitText waits until the element is shown and its text contains want. It asks the page
// again and again rather than waiting inside it, because the page may be replaced by a
// redirect meanwhile (success → fail).
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.offsetParent !== null && e.innerText.includes(%q); })()`, sel, want)
	deadline := time.Now().Add(45 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		if b.ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil {
		err = errors.New("not there after 45 s")
	}
	b.fail(fmt.Sprintf("wait for %q in %s", want, sel), err)
}

// screenshot saves the whole page at phone width as name.png, and at desktop width as
// name-desktop.png when desktop is set. It returns the pictures (phone, desktop).
func (b *browser) screenshot(name string, desktop bool) (phone, wide []byte) {
	b.t.Helper()
	phone = b.shoot(phoneWidth, phoneHeight)
	b.save(name, phone)
	if desktop {
		wide = b.shoot(desktopWidth, desktopHeight)
		b.save(name+"-desktop", wide)
	}
	b.resize(phoneWidth, phoneHeight) // the rest of the test runs on the phone
	return phone, wide
}

// docs rewrites the README's picture docs/screenshots/<name>.png when
// PAYSAGA_UPDATE_SCREENSHOTS=1.
func docs(t *testing.T, name string, png []byte) {
	if os.Getenv("PAYSAGA_UPDATE_SCREENSHOTS") == "1" {
		writeFile(t, filepath.Join("..", "docs", "screenshots", name+".png"), png)
	}
}

// shoot takes the whole page at the given screen width. The screen is made as tall as the
// page, so that what sticks to the bottom of a phone's screen is drawn where it sits at the
// end of the page.
func (b *browser) shoot(width, height int64) []byte {
	b.t.Helper()
	b.resize(width, height)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	full, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
	if err != nil {
		b.fail("measure the page", err)
	}
	b.resize(width, max(full, height))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.fail("screenshot", err)
	}
	return png
}

func (b *browser) resize(width, height int64) {
	b.t.Helper()
	b.do("resize the screen", chromedp.EmulateViewport(width, height, chromedp.EmulateScale(2)))
	// Let the layout settle (no transition runs longer).
	time.Sleep(150 * time.Millisecond)
}

func (b *browser) save(name string, png []byte) {
	dir := os.Getenv("PAYSAGA_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	writeFile(b.t, filepath.Join(dir, "screenshots", name+".png"), png)
}

func writeFile(t *testing.T, path string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Errorf("save %s: %v", path, err)
		return
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Errorf("save %s: %v", path, err)
	}
}

// demoProduct is one of the stack's demo products, by name.
func demoProduct(t *testing.T, s *stacktest.Stack, name string) paysaga.Product {
	t.Helper()
	products, err := s.Store.ListProducts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range products {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no demo product %q", name)
	return paysaga.Product{}
}

func stockOf(t *testing.T, s *stacktest.Stack, productID int64) int {
	t.Helper()
	p, err := s.Store.GetProduct(context.Background(), productID)
	if err != nil {
		t.Fatal(err)
	}
	return p.Stock
}

func orderIn(t *testing.T, s *stacktest.Stack, orderID string) paysaga.Order {
	t.Helper()
	o, err := s.Store.GetOrder(context.Background(), orderID)
	if err != nil {
		t.Fatalf("order %s: %v", orderID, err)
	}
	return o
}

// openShop opens the shop and waits for its products.
func (b *browser) openShop() {
	b.t.Helper()
	b.do("open the shop",
		chromedp.Navigate(b.stack.APIURL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`label[data-product-name]`)),
		chromedp.WaitEnabled(chromedp.ID("pay")),
	)
}

// chooseWithMouse picks the product and raises the quantity with the + button.
func (b *browser) chooseWithMouse(product string, quantity int) {
	b.t.Helper()
	b.do("choose "+product, chromedp.Click(chromedp.CSS(fmt.Sprintf(`label[data-product-name=%q]`, product)), chromedp.NodeVisible))
	for i := 1; i < quantity; i++ {
		b.do("raise the quantity", chromedp.Click(chromedp.ID("quantity-up"), chromedp.NodeVisible))
	}
}

// toWindow submits the shop's form and waits for the simulator's payment window.
func (b *browser) toWindow() {
	b.t.Helper()
	b.do("pay", chromedp.Click(chromedp.ID("pay"), chromedp.NodeVisible))
	b.do("reach the payment window", chromedp.WaitVisible(chromedp.ID("cardNumber")))
	if got := b.location(); !strings.HasPrefix(got.String(), b.stack.SimURL+"/window?") {
		b.t.Fatalf("the pay button went to %s, want the simulator's window at %s", got, b.stack.SimURL)
	}
}

func (b *browser) payWithCard(card string) {
	b.t.Helper()
	b.do("pay in the window",
		chromedp.SendKeys(chromedp.ID("cardNumber"), card),
		chromedp.Click(chromedp.CSS(`button.pay`), chromedp.NodeVisible),
	)
}

// orderIDFrom reads the orderId the window redirected with.
func (b *browser) orderIDFrom() string {
	b.t.Helper()
	id := b.location().Query().Get("orderId")
	if !paysaga.ValidOrderID(id) {
		b.t.Fatalf("no orderId in %s", b.location())
	}
	return id
}

func TestBrowser_PayInTheWindow_SuccessPageShowsThePaidOrder(t *testing.T) {
	b := newBrowser(t)
	s := b.stack
	earphones := demoProduct(t, s, "무선 이어폰")
	stockBefore := stockOf(t, s, earphones.ID)

	b.openShop()
	b.chooseWithMouse("무선 이어폰", 2)
	b.waitText("#total", "78,000원")
	_, shop := b.screenshot("1-shop", true)
	docs(t, "shop", shop)
	b.toWindow()
	b.do("type a card number", chromedp.SendKeys(chromedp.ID("cardNumber"), "4242 4242 4242 4242"))
	b.screenshot("1-payment-window", false)
	b.do("pay", chromedp.Click(chromedp.CSS(`button.pay`), chromedp.NodeVisible))

	b.waitText("#paid", "결제 완료")
	if b.location().Path != "/success" {
		t.Fatalf("landed on %s, want /success", b.location())
	}
	orderID := b.orderIDFrom()
	successURL := b.location().String()
	paid := b.text("#paid")
	for _, want := range []string{"결제 완료", "PAID", "78,000원", orderID, "무선 이어폰 2개", "카드"} {
		if !strings.Contains(paid, want) {
			t.Errorf("success page lacks %q:\n%s", want, paid)
		}
	}
	success, _ := b.screenshot("1-success", true)
	docs(t, "success", success)

	o := orderIn(t, s, orderID)
	if o.Status != paysaga.StatusPaid || o.Amount.IntPart() != 78000 || o.Quantity != 2 {
		t.Fatalf("order in the database: %s %s × %d", o.Status, o.Amount, o.Quantity)
	}
	if got := s.Simulator.Stats().Approvals[orderID]; got != 1 {
		t.Fatalf("approvals at the simulator: want 1, got %d", got)
	}
	if got := stockOf(t, s, earphones.ID); got != stockBefore-2 {
		t.Fatalf("stock: want %d, got %d", stockBefore-2, got)
	}

	// The success page links to the order's status page, which reads it from the API.
	b.do("open the order page", chromedp.Click(chromedp.ID("paid-order-link"), chromedp.NodeVisible))
	b.waitText("#order-status", "PAID")
	b.waitText("#order-rows", orderID)
	if got := b.location().Path; got != "/orders/"+orderID {
		t.Fatalf("order link went to %s", got)
	}
	b.screenshot("1-order", false)

	// Opening the success page again confirms again: the answer comes from the database,
	// and Toss is not asked twice.
	b.do("open the success page again", chromedp.Navigate(successURL))
	b.waitText("#paid", "PAID")
	if got := s.Simulator.Stats().Approvals[orderID]; got != 1 {
		t.Fatalf("approvals after a reload: want 1, got %d", got)
	}
}

func TestBrowser_DeclinedCard_FailPageShowsTheReason(t *testing.T) {
	b := newBrowser(t)
	s := b.stack
	tumbler := demoProduct(t, s, "텀블러")
	stockBefore := stockOf(t, s, tumbler.ID)

	b.openShop()
	b.chooseWithMouse("텀블러", 1)
	b.waitText("#total", "18,000원")
	b.toWindow()
	b.payWithCard("4000 1234 5678 9999") // declined at confirm

	b.waitText("#fail-reason", "한도초과 혹은 잔액부족")
	if got := b.location(); got.Path != "/fail" {
		t.Fatalf("landed on %s, want /fail", got)
	}
	orderID := b.orderIDFrom()
	b.waitText("#fail-code", "REJECT_CARD_PAYMENT")
	b.waitText("#fail-rows", "FAILED") // the order's state, as the API holds it
	b.waitText("#fail-note", "결제된 금액은 없어요")
	b.screenshot("2-fail-declined", true)

	o := orderIn(t, s, orderID)
	if o.Status != paysaga.StatusFailed || o.FailureCode != "REJECT_CARD_PAYMENT" {
		t.Fatalf("order in the database: %s %s", o.Status, o.FailureCode)
	}
	st := s.Simulator.Stats()
	if st.Approvals[orderID] != 0 || st.Aborts[orderID] != 1 {
		t.Fatalf("at the simulator: %d approvals, %d declines; want 0 and 1", st.Approvals[orderID], st.Aborts[orderID])
	}
	if got := stockOf(t, s, tumbler.ID); got != stockBefore {
		t.Fatalf("stock after the decline: want %d (restored), got %d", stockBefore, got)
	}
}

// This shopper uses only the keyboard on the shop: arrow keys pick the product, the
// quantity is typed, Enter submits.
func TestBrowser_CancelInTheWindow_FailPageAndNothingCharged(t *testing.T) {
	b := newBrowser(t)
	s := b.stack
	keyboard := demoProduct(t, s, "한정판 키보드")
	stockBefore := stockOf(t, s, keyboard.ID)
	confirmsBefore := s.Simulator.Stats().Calls[tosssim.EndpointConfirm].Total

	b.openShop()
	b.do("pick the product with the keyboard",
		chromedp.Focus(chromedp.CSS(`input[name="product"]:checked`)),
		chromedp.KeyEvent(kb.ArrowDown), // 무선 이어폰 → 텀블러
		chromedp.KeyEvent(kb.ArrowDown), // → 한정판 키보드
	)
	b.waitText("#selected-name", "한정판 키보드")
	b.do("type the quantity",
		chromedp.Focus(chromedp.ID("quantity")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('quantity').select()`),
		chromedp.KeyEvent("1"),
	)
	b.waitText("#total", "129,000원")
	b.do("submit with Enter", chromedp.KeyEvent(kb.Enter))
	b.do("reach the payment window", chromedp.WaitVisible(chromedp.ID("cardNumber")))
	b.do("cancel in the window", chromedp.Click(chromedp.CSS(`button.cancel`), chromedp.NodeVisible))

	b.waitText("#fail-title", "결제를 취소했어요")
	if got := b.location(); got.Path != "/fail" {
		t.Fatalf("landed on %s, want /fail", got)
	}
	orderID := b.orderIDFrom()
	b.waitText("#fail-code", "PAY_PROCESS_CANCELED")
	b.waitText("#fail-rows", "CREATED")
	b.screenshot("3-fail-canceled", false)

	if o := orderIn(t, s, orderID); o.Status != paysaga.StatusCreated {
		t.Fatalf("order in the database: %s, want CREATED", o.Status)
	}
	if _, ok := s.Simulator.PaymentByOrderID(orderID); ok {
		t.Fatal("a cancelled window left a payment at the simulator")
	}
	if got := s.Simulator.Stats().Calls[tosssim.EndpointConfirm].Total; got != confirmsBefore {
		t.Fatalf("confirm calls at the simulator: %d → %d", confirmsBefore, got)
	}
	if got := stockOf(t, s, keyboard.ID); got != stockBefore {
		t.Fatalf("stock: want %d, got %d", stockBefore, got)
	}
}

// A confirm that outlasts ConfirmWait answers 202 CONFIRMING: the success page shows its
// spinner and polls the order until the saga has finished.
func TestBrowser_SlowConfirm_SpinnerThenPaid(t *testing.T) {
	b := newBrowser(t)
	s := b.stack
	if err := s.Simulator.SetFaults([]tosssim.FaultRule{{
		Endpoint: tosssim.EndpointConfirm, Kind: tosssim.FaultLatency, Count: 1,
		LatencyMS: int((browserConfirmWait + 4*time.Second) / time.Millisecond),
	}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Simulator.ClearFaults)

	b.openShop()
	b.chooseWithMouse("텀블러", 1)
	b.toWindow()
	b.payWithCard("4242 4242 4242 4242")

	// The polling text appears only after the API answered 202.
	b.waitText("#confirming-text", "결제사 응답을 기다리고 있어요")
	b.screenshot("4-success-confirming", false)
	orderID := b.orderIDFrom()
	b.waitText("#paid", "PAID")
	if o := orderIn(t, s, orderID); o.Status != paysaga.StatusPaid {
		t.Fatalf("order in the database: %s", o.Status)
	}
	if got := s.Simulator.Stats().Approvals[orderID]; got != 1 {
		t.Fatalf("approvals: want 1, got %d", got)
	}
}

// tossSDKStub stands in for Toss's SDK v2 (the tests have no internet): the same calls the
// shop makes on the real one, recorded in sessionStorage; requestPayment goes to the
// simulator's payment window with the widget's amount, as Toss's window would come back.
const tossSDKStub = `(() => {
  const calls = [];
  const record = (...c) => { calls.push(c); sessionStorage.setItem('tossCalls', JSON.stringify(calls)); };
  window.TossPayments = function (clientKey) {
    record('TossPayments', clientKey);
    return {
      widgets(opts) {
        record('widgets', opts.customerKey);
        let amount = null;
        return {
          async setAmount(a) { amount = a; record('setAmount', a.currency, a.value); },
          async renderPaymentMethods(o) {
            record('renderPaymentMethods', o.selector, o.variantKey);
            document.querySelector(o.selector).textContent = '카드 · 간편결제 (stub)';
          },
          async renderAgreement(o) { record('renderAgreement', o.selector, o.variantKey); },
          async requestPayment(p) {
            record('requestPayment', p.orderId, p.orderName, amount.value, p.successUrl, p.failUrl);
            const u = new URL(%q);
            for (const [k, v] of Object.entries({ orderId: p.orderId, orderName: p.orderName,
              amount: String(amount.value), successUrl: p.successUrl, failUrl: p.failUrl })) u.searchParams.set(k, v);
            location.assign(u.href);
          },
        };
      },
    };
  };
  window.TossPayments.ANONYMOUS = '@@ANONYMOUS';
})();`

// With a Toss client key configured the shop uses Toss's payment widget: it loads the SDK
// from Toss, renders the widget with the selected amount and requests the payment with the
// server's orderId. The server's flow after the redirect is the same as with the simulator.
func TestBrowser_TossWidgetMode_PaysTheServersOrder(t *testing.T) {
	b := newBrowser(t)
	s := b.stack
	const clientKey = "test_gck_browser_stub"

	// The browser answers two requests itself: Toss's SDK, and the config endpoint in
	// toss mode (api's tests cover the endpoint's own toss answer).
	paused := chromedp.Events(b.ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "https://js.tosspayments.com/*"},
		{URLPattern: "*/api/v1/checkout/config"},
	}}); err != nil {
		t.Fatalf("intercept requests: %v", err)
	}
	var sdkLoads sync.WaitGroup
	sdkLoads.Add(1)
	var once sync.Once
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			answer := fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: 200}
			switch {
			case ev.Request.URL == "https://js.tosspayments.com/v2/standard":
				answer.ResponseHeaders = []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/javascript"}}
				answer.Body = []byte(fmt.Sprintf(tossSDKStub, s.SimURL+"/window"))
				once.Do(sdkLoads.Done)
			case strings.HasSuffix(ev.Request.URL, "/api/v1/checkout/config"):
				answer.ResponseHeaders = []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}}
				answer.Body = []byte(`{"mode":"toss","clientKey":"` + clientKey + `"}`)
			default:
				answer.ResponseCode = 404
			}
			_, _ = chromedp.Call(b.ctx, fetch.FulfillRequest, answer)
		}
	}()

	b.openShop()
	b.waitText("#payment-method", "(stub)") // the widget rendered
	b.chooseWithMouse("무선 이어폰", 2)
	b.waitText("#total", "78,000원")
	b.screenshot("5-shop-toss-widget", false)
	b.do("pay", chromedp.Click(chromedp.ID("pay"), chromedp.NodeVisible))
	b.do("reach the payment window", chromedp.WaitVisible(chromedp.ID("cardNumber")))
	b.payWithCard("4242 4242 4242 4242")
	b.waitText("#paid", "PAID")
	orderID := b.orderIDFrom()
	sdkLoads.Wait()

	if o := orderIn(t, s, orderID); o.Status != paysaga.StatusPaid || o.Amount.IntPart() != 78000 {
		t.Fatalf("order in the database: %s %s", o.Status, o.Amount)
	}
	if got := s.Simulator.Stats().Approvals[orderID]; got != 1 {
		t.Fatalf("approvals: want 1, got %d", got)
	}

	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('tossCalls') || '[]'`))
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]any
	if err := json.Unmarshal([]byte(raw), &calls); err != nil {
		t.Fatalf("recorded SDK calls %q: %v", raw, err)
	}
	var names []string
	var lastAmount any
	for _, c := range calls {
		names = append(names, fmt.Sprint(c[0]))
		switch c[0] {
		case "TossPayments":
			if c[1] != clientKey {
				t.Errorf("TossPayments(%v), want the configured client key", c[1])
			}
		case "widgets":
			if c[1] != "@@ANONYMOUS" {
				t.Errorf("widgets customerKey %v", c[1])
			}
		case "setAmount":
			if c[1] != "KRW" {
				t.Errorf("setAmount currency %v", c[1])
			}
			lastAmount = c[2]
		case "renderPaymentMethods", "renderAgreement":
			if want := map[string]string{"renderPaymentMethods": "#payment-method", "renderAgreement": "#agreement"}[c[0].(string)]; c[1] != want {
				t.Errorf("%s into %v, want %s", c[0], c[1], want)
			}
		case "requestPayment":
			if c[1] != orderID || c[2] != "무선 이어폰 2개" || c[3] != float64(78000) || lastAmount != float64(78000) ||
				c[4] != s.APIURL+"/success" || c[5] != s.APIURL+"/fail" {
				t.Errorf("requestPayment%v (widget amount %v), want the server's order %s for 78000", c[1:], lastAmount, orderID)
			}
		}
	}
	if got := strings.Join(names, " "); !strings.HasPrefix(got, "TossPayments widgets setAmount") ||
		!strings.Contains(got, "renderPaymentMethods") || !strings.Contains(got, "renderAgreement") ||
		!strings.HasSuffix(got, "requestPayment") {
		t.Errorf("SDK calls in order: %s", got)
	}
}
