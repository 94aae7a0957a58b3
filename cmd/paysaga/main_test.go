package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/devstack"
	"github.com/paysaga/paysaga/internal/stacktest"
	"github.com/paysaga/paysaga/tosssim"
)

// runMainEnv makes the test binary run main() instead of the tests: the production
// scenarios start `paysaga api` and `paysaga worker` as real processes of this very binary
// and send them real signals.
const runMainEnv = "PAYSAGA_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	stacktest.Main(m)
}

// prodStack is what production processes of the tests run against: a Temporal server, a
// PostgreSQL database and the Toss simulator, from the dev stack with no worker and no use
// of its API. The processes under test are `paysaga api` and `paysaga worker`.
type prodStack struct {
	*stacktest.Stack
	auth *api.Auth
}

var (
	prodOnce sync.Once
	prodAuth *api.Auth
	prodErr  error
)

func productionStack(t *testing.T) *prodStack {
	t.Helper()
	s := stacktest.Shared(t, "production", stacktest.Config{
		Name: "production", DB: "postgres", Workers: stacktest.NoWorkers, LogLevel: slog.LevelError,
		JWTSecret: jwtSecret, CodecKeys: "k1:" + randomBase64(32),
	})
	// The API processes verify tokens as production does: the secret, and the issuers and
	// audience stacktest.ProcessEnv gives them.
	prodOnce.Do(func() {
		prodAuth, prodErr = api.NewAuth(context.Background(), api.AuthConfig{HS256Secret: []byte(jwtSecret),
			Issuer: devstack.TokenIssuer, Audience: devstack.TokenAudience,
			OperatorIssuer: devstack.OperatorTokenIssuer, OperatorAudience: devstack.TokenAudience})
	})
	if prodErr != nil {
		t.Fatal(prodErr)
	}
	return &prodStack{Stack: s, auth: prodAuth}
}

// jwtSecret signs the tokens the production processes accept.
var jwtSecret = randomBase64(32)

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// env is the production configuration of a process on this stack, as the compose file
// gives it; extra (KEY=value) overrides.
func (p *prodStack) env(extra ...string) []string { return p.ProcessEnv(extra...) }

// start runs `paysaga args…` (this very test binary, running main) with env and waits until
// it logs ready (a log message).
func start(t *testing.T, ready string, env []string, args ...string) *stacktest.Process {
	t.Helper()
	return stacktest.StartProcess(t, ready, append([]string{runMainEnv + "=1"}, env...), append([]string{os.Args[0]}, args...)...)
}

// shopper is user 1 of the demo data, with a token the API accepts.
type shopper struct {
	*stacktest.Shopper
	t     *testing.T
	stack *prodStack
}

func (p *prodStack) shopper(t *testing.T, apiURL string) *shopper {
	t.Helper()
	token, err := p.auth.IssueToken("1", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sh := stacktest.NewShopper(apiURL, p.SimURL, 0)
	sh.API = sh.API.WithToken(token)
	return &shopper{Shopper: sh, t: t, stack: p}
}

// product adds a product so that each test owns its stock.
func (s *shopper) product(price int64, stock int) paysaga.Product {
	s.t.Helper()
	return s.stack.NewProduct(s.t, "상품 "+s.t.Name(), price, stock)
}

// orderAnswer is an answer about an order: the order, or the error's code and message.
type orderAnswer struct {
	stacktest.Order
	stacktest.APIError
}

// order creates an order and authorizes its payment at the simulator: what a shopper has
// done when the payment window redirects back with a paymentKey.
func (s *shopper) order(productID int64, quantity int, amount int64) (orderAnswer, string) {
	s.t.Helper()
	r, err := s.CreateOrder(context.Background(), productID, quantity, amount)
	if err != nil {
		s.t.Fatalf("create order: %v", err)
	}
	if r.Status != http.StatusCreated {
		s.t.Fatalf("create order: %d %s %s", r.Status, r.Err.Code, r.Err.Message)
	}
	key, err := s.stack.Simulator.Authorize(r.Order.OrderID, r.Order.OrderName, amount)
	if err != nil {
		s.t.Fatalf("authorize at the simulator: %v", err)
	}
	return orderAnswer{Order: r.Order, APIError: r.Err}, key
}

// confirmLater sends the confirm and delivers its answer on the channel.
func (s *shopper) confirmLater(o orderAnswer, paymentKey string) <-chan orderAnswer {
	out := make(chan orderAnswer, 1)
	go func() {
		r := <-s.ConfirmInBackground(o.OrderID, paymentKey, o.Amount.String())
		a := orderAnswer{Order: r.Order, APIError: r.Err}
		if r.Status < 0 {
			a.Status, a.Message = "TRANSPORT_ERROR", string(r.Raw)
		} else if r.Status != http.StatusOK {
			a.Status = fmt.Sprintf("HTTP %d %s", r.Status, a.Status)
		}
		out <- a
	}()
	return out
}

var testClient = &http.Client{Timeout: time.Minute}

// faults sets the simulator's faults for the rest of the test.
func (p *prodStack) faults(t *testing.T, rules ...tosssim.FaultRule) {
	t.Helper()
	if err := p.Simulator.SetFaults(rules); err != nil {
		t.Fatalf("set faults: %v", err)
	}
	t.Cleanup(p.Simulator.ClearFaults)
}

// eventually polls cond every 20 ms until it holds, failing after timeout.
var eventually = stacktest.Eventually

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := testClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
