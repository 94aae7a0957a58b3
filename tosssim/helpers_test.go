package tosssim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
)

const key = tosssim.DefaultSecretKey

type env struct {
	sim    *tosssim.Simulator
	srv    *httptest.Server
	client *toss.Client
	clock  *tosssim.Clock
}

func newEnv(t *testing.T, cfg tosssim.Config) *env {
	t.Helper()
	clk := tosssim.NewClock(time.Date(2024, 2, 13, 12, 0, 0, 0, time.FixedZone("KST", 9*3600)))
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	sim := tosssim.New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = sim.Close() })
	return &env{sim: sim, srv: srv, client: toss.NewClient(srv.URL, key, srv.Client()), clock: clk}
}

func (e *env) authorize(t *testing.T, orderID string, amount int64) string {
	t.Helper()
	pk, err := e.sim.Authorize(orderID, "테스트 주문", amount)
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func (e *env) confirm(orderID, paymentKey string, amount int64, idemKey string) (*toss.Payment, error) {
	return e.client.Confirm(context.Background(), toss.ConfirmRequest{PaymentKey: paymentKey, OrderID: orderID, Amount: won(amount)}, idemKey)
}

func (e *env) setFaults(t *testing.T, rules ...tosssim.FaultRule) {
	t.Helper()
	if err := e.sim.SetFaults(rules); err != nil {
		t.Fatal(err)
	}
}

// do sends a request and returns status and body.
func (e *env) do(t *testing.T, method, path, body string, header map[string]string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, r)
	req.SetBasicAuth(key, "")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
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

func codeOf(body []byte) string {
	var b struct{ Code string }
	_ = json.Unmarshal(body, &b)
	return b.Code
}

func won(n int64) decimal.Decimal { return decimal.NewFromInt(n) }

func tossErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	var te *toss.Error
	if !errors.As(err, &te) || te.HTTPStatus != status || te.Code != code {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
