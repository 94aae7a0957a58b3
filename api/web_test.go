package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(t *testing.T, cfg Config, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	New(nil, nil, cfg).Handler().ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestCheckoutPages_ServedFromTheBinary(t *testing.T) {
	cases := []struct{ path, contentType, contains string }{
		{"/", "text/html", "결제하기"},
		{"/success", "text/html", "결제를 승인하고 있어요"},
		{"/success?paymentKey=k&orderId=ord_123456&amount=1000", "text/html", "결제 완료"},
		{"/fail?code=PAY_PROCESS_CANCELED", "text/html", "결제에 실패했어요"},
		{"/orders/ord_123456", "text/html", "주문 상세"},
		{"/assets/app.js", "javascript", "function api("},
		{"/assets/app.css", "text/css", "--blue"},
	}
	for _, tc := range cases {
		rec := serve(t, Config{}, http.MethodGet, tc.path)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), tc.contentType) ||
			!strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s: %d %q, want 200 %s containing %q", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.contentType, tc.contains)
		}
		if rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", tc.path, rec.Header().Get("Cache-Control"))
		}
	}
	// The success page's address carries the paymentKey: it must not leak as a Referer.
	if rec := serve(t, Config{}, http.MethodGet, "/success"); rec.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("success page Referrer-Policy %q", rec.Header().Get("Referrer-Policy"))
	}
}

// The pages sit beside the API: unknown API paths, unknown assets and wrong methods still
// get the API's JSON errors.
func TestCheckoutPages_DoNotShadowTheAPI(t *testing.T) {
	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/api/v1/nope", http.StatusNotFound, "NOT_FOUND"},
		{http.MethodGet, "/api/v1/orders", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
		{http.MethodGet, "/api/nope", http.StatusNotFound, "NOT_FOUND"},
		{http.MethodGet, "/api/v1/checkout", http.StatusNotFound, "NOT_FOUND"},
		{http.MethodGet, "/assets/nope.js", http.StatusNotFound, "NOT_FOUND"},
		{http.MethodGet, "/assets/../index.html", http.StatusNotFound, "NOT_FOUND"},
		{http.MethodGet, "/orders/", http.StatusNotFound, "NOT_FOUND"},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
	}
	for _, tc := range cases {
		rec := serve(t, Config{}, tc.method, tc.path)
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tc.status || body.Code != tc.code {
			t.Errorf("%s %s: %d %s, want %d {code: %s}", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.code)
		}
	}
}

func TestCheckoutConfig_SaysHowThePageTakesPayment(t *testing.T) {
	const window = "http://127.0.0.1:8090/window"
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"nothing configured", Config{}, `{"mode":"none"}`},
		{"simulator", Config{CheckoutWindowURL: window}, `{"mode":"simulator","windowUrl":"` + window + `"}`},
		{"toss client key wins", Config{CheckoutWindowURL: window, TossClientKey: "test_gck_docs"},
			`{"mode":"toss","clientKey":"test_gck_docs"}`},
	}
	for _, tc := range cases {
		rec := serve(t, tc.cfg, http.MethodGet, "/api/v1/checkout/config")
		if got := strings.TrimSpace(rec.Body.String()); rec.Code != http.StatusOK || got != tc.want {
			t.Errorf("%s: %d %s, want 200 %s", tc.name, rec.Code, got, tc.want)
		}
	}
}
