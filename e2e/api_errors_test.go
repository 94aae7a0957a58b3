package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Every bad input gets a clear error with a stable code, and never a 500.
func TestAPI_BadInput_ClearErrors(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(10000, 2)
		pid := fmt.Sprint(p.ID)
		tests := []struct {
			name, method, path, body string
			status                   int
			code                     string
		}{
			{"malformed JSON", "POST", "/api/v1/orders", `{"userId":1,`, 400, "INVALID_REQUEST"},
			{"empty body", "POST", "/api/v1/orders", ``, 400, "INVALID_REQUEST"},
			{"array instead of object", "POST", "/api/v1/orders", `[1,2]`, 400, "INVALID_REQUEST"},
			{"unknown field", "POST", "/api/v1/orders", `{"userId":1,"productId":` + pid + `,"quantity":1,"amount":10000,"discount":5000}`, 400, "INVALID_REQUEST"},
			{"two objects", "POST", "/api/v1/orders", `{"userId":1,"productId":1,"quantity":1,"amount":10000}{}`, 400, "INVALID_REQUEST"},
			{"quantity zero", "POST", "/api/v1/orders", `{"userId":1,"productId":` + pid + `,"quantity":0,"amount":0}`, 400, "INVALID_REQUEST"},
			{"quantity too large", "POST", "/api/v1/orders", `{"userId":1,"productId":` + pid + `,"quantity":101,"amount":1010000}`, 400, "INVALID_REQUEST"},
			{"quantity as string", "POST", "/api/v1/orders", `{"userId":1,"productId":` + pid + `,"quantity":"1","amount":10000}`, 400, "INVALID_REQUEST"},
			{"amount not a number", "POST", "/api/v1/orders", `{"userId":1,"productId":` + pid + `,"quantity":1,"amount":"lots"}`, 400, "INVALID_REQUEST"},
			{"negative amount", "POST", "/api/v1/orders", `{"userId":1,"productId":` + pid + `,"quantity":1,"amount":-10000}`, 400, "INVALID_REQUEST"},
			{"fractional won", "POST", "/api/v1/orders", `{"userId":1,"productId":` + pid + `,"quantity":1,"amount":10000.5}`, 400, "INVALID_REQUEST"},
			{"amount not price × quantity", "POST", "/api/v1/orders", `{"userId":1,"productId":` + pid + `,"quantity":2,"amount":10000}`, 400, "AMOUNT_MISMATCH"},
			{"numeric string amount is fine but wrong", "POST", "/api/v1/orders", `{"userId":1,"productId":` + pid + `,"quantity":1,"amount":"9000"}`, 400, "AMOUNT_MISMATCH"},
			{"unknown product", "POST", "/api/v1/orders", `{"userId":1,"productId":999999,"quantity":1,"amount":10000}`, 404, "PRODUCT_NOT_FOUND"},
			{"another user's userId in the body", "POST", "/api/v1/orders", `{"userId":424242,"productId":` + pid + `,"quantity":1,"amount":10000}`, 403, "FORBIDDEN"},
			{"more than in stock", "POST", "/api/v1/orders", `{"userId":1,"productId":` + pid + `,"quantity":3,"amount":30000}`, 409, "OUT_OF_STOCK"},
			{"confirm: orderId with a quote", "POST", "/api/v1/orders/confirm", `{"userId":1,"orderId":"ord_'; DROP TABLE orders;--","paymentKey":"k","amount":1000}`, 400, "INVALID_REQUEST"},
			{"confirm: paymentKey too long", "POST", "/api/v1/orders/confirm", `{"userId":1,"orderId":"ord_abcdefgh","paymentKey":"` + strings.Repeat("k", 201) + `","amount":1000}`, 400, "INVALID_REQUEST"},
			{"confirm: no amount", "POST", "/api/v1/orders/confirm", `{"userId":1,"orderId":"ord_abcdefgh","paymentKey":"k"}`, 400, "INVALID_REQUEST"},
			{"confirm: userId not a number", "POST", "/api/v1/orders/confirm", `{"userId":"admin","orderId":"ord_abcdefgh","paymentKey":"k","amount":1000}`, 400, "INVALID_REQUEST"},
			{"body over 16 KiB", "POST", "/api/v1/orders", `{"userId":1,"x":"` + strings.Repeat("a", 17<<10) + `"}`, 413, "REQUEST_TOO_LARGE"},
			{"unknown route", "GET", "/api/v1/nope", ``, 404, "NOT_FOUND"},
			{"wrong method", "DELETE", "/api/v1/products", ``, 405, "METHOD_NOT_ALLOWED"},
			{"unknown order", "GET", "/api/v1/orders/ord_missing_123", ``, 404, "ORDER_NOT_FOUND"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, err := http.NewRequest(tt.method, c.stack.APIURL+tt.path, bytes.NewBufferString(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+c.bearer())
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				var e apiError
				if err := json.Unmarshal(raw, &e); err != nil {
					t.Fatalf("body is not an error object: %q", raw)
				}
				if resp.StatusCode != tt.status || e.Code != tt.code || e.Message == "" {
					t.Fatalf("want %d %s, got %d %s (%q)", tt.status, tt.code, resp.StatusCode, e.Code, e.Message)
				}
			})
		}
		if got := c.stock(p.ID); got != 2 {
			t.Fatalf("stock changed by refused requests: %d", got)
		}
	})
}
