package toss

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// FuzzDecodePayment feeds Toss's Payment decoding (times, nullable objects, the two forms
// of easyPay, decimals) with anything: it must never panic, and what it accepts must
// reduce to facts without panicking either.
func FuzzDecodePayment(f *testing.F) {
	for _, name := range []string{"payment_done.json", "payment_partial_canceled.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"status":"DONE","totalAmount":1e400,"approvedAt":"2024-02-30T25:61:00+09:00"}`,
		`{"easyPay":"토스페이","requestedAt":"","approvedAt":null,"cancels":null}`,
		`{"easyPay":{"provider":1},"totalAmount":"12"}`,
		`{"totalAmount":-0.0000000000000000000001,"balanceAmount":123456789012345678901234567890}`,
		`{"requestedAt":"2024-01-01T00:00:00Z","metadata":{"a":1}}`,
		`null`, `[]`, `{`, `"DONE"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var p Payment
		if err := json.Unmarshal(body, &p); err != nil {
			return
		}
		facts := p.Facts()
		if facts.PaymentKey != p.PaymentKey || facts.OrderID != p.OrderID || !facts.TotalAmount.Equal(p.TotalAmount) {
			t.Fatalf("facts differ from the payment: %+v", facts)
		}
		if p.ApprovedAt != nil && (facts.ApprovedAt == nil || !facts.ApprovedAt.Equal(*p.ApprovedAt)) {
			t.Fatalf("approvedAt lost")
		}
	})
}

const fuzzSecret = "test_sk_fuzz_0123456789"

// FuzzDecodeTossError: an error answer is whatever the other side (Toss, or a proxy in
// front of it) sent. The error it becomes must never carry the secret key or its Basic
// header, which a misconfigured proxy may echo back.
func FuzzDecodeTossError(f *testing.F) {
	basic := base64.StdEncoding.EncodeToString([]byte(fuzzSecret + ":"))
	for _, s := range []string{
		`{"code":"NOT_FOUND_PAYMENT","message":"존재하지 않는 결제 정보 입니다."}`,
		`{"code":"UNAUTHORIZED_KEY","message":"key ` + fuzzSecret + ` is not valid"}`,
		`<html>Authorization: Basic ` + basic + `</html>`,
		strings.Repeat("x", 190) + fuzzSecret,
		`{"code":"","message":"` + fuzzSecret + `"}`,
		``, `{"code":1}`,
	} {
		f.Add(500, []byte(s))
	}
	c := NewClient("http://127.0.0.1:1", fuzzSecret, nil)
	f.Fuzz(func(t *testing.T, status int, raw []byte) {
		err := c.decodeError(status, raw)
		if err == nil {
			t.Fatal("no error for an error answer")
		}
		msg := err.Error()
		if strings.Contains(msg, fuzzSecret) || strings.Contains(msg, basic) {
			t.Fatalf("error shows the secret: %q", msg)
		}
	})
}
