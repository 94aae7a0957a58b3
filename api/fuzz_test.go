package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/paysaga/paysaga"
)

// decodeAs runs a body through the API's decoding and field validation, as the handlers
// do before anything else happens.
func decodeAs[T any](t *testing.T, body []byte, valid func(*Server, T) error) (T, error) {
	t.Helper()
	var req T
	c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)), httptest.NewRecorder())
	if err := decodeJSON(c, &req); err != nil {
		return req, err
	}
	return req, valid(&Server{cfg: Config{MaxAmount: DefaultMaxAmount}}, req)
}

// checkRefusal: a refused body gets a client error with a stable code and a message that
// does not echo the body back at length.
func checkRefusal(t *testing.T, body []byte, err error) {
	t.Helper()
	var domain *paysaga.Error
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &domain):
		if domain.Code != paysaga.CodeInvalidRequest || domain.Message == "" {
			t.Fatalf("refusal %q: %v", body, err)
		}
		if len(domain.Message) > 300 || !utf8.ValidString(domain.Message) {
			t.Fatalf("refusal message too long or not UTF-8 for %q: %q", body, domain.Message)
		}
	case errors.As(err, &httpErr):
		if httpErr.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("refusal %q: %v", body, err)
		}
	default:
		t.Fatalf("refusal of %q is not a client error: %T %v", body, err, err)
	}
}

var confirmSeeds = []string{
	`{"orderId":"ord_abcdefgh","paymentKey":"tsim_20240101abc","amount":"78000"}`,
	`{"userId":1,"orderId":"ord_abcdefgh","paymentKey":"tsim_k","amount":78000}`,
	`{"userId":"1","orderId":"ord_abcdefgh","paymentKey":"k","amount":"1e4"}`,
	`{"orderId":"ord_'; DROP TABLE orders;--","paymentKey":"k","amount":1}`,
	`{"orderId":"ord_abcdefgh","paymentKey":"<script>","amount":-1}`,
	`{"orderId":"ord_abcdefgh","paymentKey":"k","amount":1000.5}`,
	`{"orderId":"ord_abcdefgh","paymentKey":"k","amount":99999999999999999999999}`,
	`{"orderId":"ord_abcdefgh","paymentKey":"k","amount":null,"status":"PAID"}`,
	`{"orderId":"ord_\u0000abc","paymentKey":"k","amount":1}`,
	`[1,2]`, `{}`, ``, `{"amount":"0x10"}`, `{"userId":9223372036854775808}`,
}

func FuzzDecodeConfirmRequest(f *testing.F) {
	for _, s := range confirmSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeAs(t, body, (*Server).validConfirm)
		if err != nil {
			checkRefusal(t, body, err)
			return
		}
		// Whatever got through is exactly what the rest of the flow may rely on.
		if !paysaga.ValidOrderID(req.OrderID) || !paysaga.ValidPaymentKey(req.PaymentKey) || req.UserID < 0 {
			t.Fatalf("accepted %q: %+v", body, req)
		}
		if !req.Amount.set || !req.Amount.IsPositive() || !req.Amount.IsInteger() || req.Amount.GreaterThan(DefaultMaxAmount) {
			t.Fatalf("accepted amount %s from %q", req.Amount.Decimal, body)
		}
		if strings.ContainsAny(req.OrderID+req.PaymentKey, "'\";<>\\/ \x00") {
			t.Fatalf("accepted injection-looking field from %q", body)
		}
	})
}

var createSeeds = []string{
	`{"userId":1,"productId":1,"quantity":2,"amount":78000}`,
	`{"productId":1,"quantity":1,"amount":"39000"}`,
	`{"productId":1,"quantity":101,"amount":1}`,
	`{"productId":-1,"quantity":0,"amount":0}`,
	`{"productId":"1 OR 1=1","quantity":1,"amount":1}`,
	`{"productId":1,"quantity":1e9,"amount":1}`,
	`{"productId":1,"quantity":1,"amount":1,"discount":5000}`,
	`{"productId":1,"quantity":1,"amount":1}{}`,
	`{"userId":1,`,
}

func FuzzDecodeCreateOrderRequest(f *testing.F) {
	for _, s := range createSeeds {
		f.Add([]byte(s))
	}
	f.Add(bytes.Repeat([]byte("a"), maxBody+1))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeAs(t, body, (*Server).validCreate)
		if err != nil {
			checkRefusal(t, body, err)
			return
		}
		if req.ProductID <= 0 || req.Quantity < 1 || req.Quantity > paysaga.MaxQuantity || req.UserID < 0 {
			t.Fatalf("accepted %q: %+v", body, req)
		}
		if !req.Amount.IsPositive() || !req.Amount.IsInteger() || req.Amount.GreaterThan(DefaultMaxAmount) {
			t.Fatalf("accepted amount %s from %q", req.Amount.Decimal, body)
		}
	})
}

// Per-address limits count an IPv6 client by its /64: the addresses in it are all theirs.
func TestClientNetwork_IPv6ByItsSlash64(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":               "203.0.113.7",
		"::ffff:203.0.113.7":        "203.0.113.7",
		"2001:db8:1:2:3:4:5:6":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":           "2001:db8:1:3::/64",
		"not an address":            "not an address",
	} {
		if got := clientNetwork(in); got != want {
			t.Errorf("clientNetwork(%q) = %q, want %q", in, got, want)
		}
	}
}
