package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/devstack"
	"github.com/paysaga/paysaga/internal/pgtest"
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
	code := m.Run()
	cleanupMu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanupMu.Unlock()
	os.Exit(code)
}

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// afterAll runs f when every test has finished, newest first.
func afterAll(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

// prodStack is what production processes of the tests run against: a Temporal server, a
// PostgreSQL database and the Toss simulator, from the dev stack with no worker and no use
// of its API. The processes under test are `paysaga api` and `paysaga worker`.
type prodStack struct {
	*devstack.Stack
	databaseURL string
	jwtSecret   string
	codecKeys   string
	auth        *api.Auth
}

var (
	prodOnce sync.Once
	prod     *prodStack
	prodErr  error
)

func productionStack(t *testing.T) *prodStack {
	t.Helper()
	prodOnce.Do(func() { prod, prodErr = startProdStack() })
	if prodErr != nil {
		t.Fatalf("start the stack: %v", prodErr)
	}
	return prod
}

func startProdStack() (*prodStack, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := pgtest.Start(ctx)
	if err != nil {
		return nil, err
	}
	afterAll(func() { _ = pg.Close() })
	url, err := pg.CreateDatabase(ctx, "production")
	if err != nil {
		return nil, err
	}
	cfg := devstack.Ephemeral()
	if cfg.DataDir, err = os.MkdirTemp("", "paysaga-cmd-test-"); err != nil {
		return nil, err
	}
	afterAll(func() { _ = os.RemoveAll(cfg.DataDir) })
	cfg.DatabaseURL = url
	cfg.Workers = 0
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	st, err := devstack.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	afterAll(st.Close)
	p := &prodStack{Stack: st, databaseURL: url, jwtSecret: randomBase64(32), codecKeys: "k1:" + randomBase64(32)}
	if p.auth, err = api.NewAuth(context.Background(), api.AuthConfig{HS256Secret: []byte(p.jwtSecret)}); err != nil {
		return nil, err
	}
	return p, nil
}

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// env is the production configuration of a process on this stack, as the compose file
// gives it; extra (KEY=value) overrides.
func (p *prodStack) env(extra ...string) []string {
	return append([]string{
		"DATABASE_URL=" + p.databaseURL,
		"TEMPORAL_ADDRESS=" + p.TemporalAddr,
		"TEMPORAL_NAMESPACE=default",
		"TOSS_API_URL=" + p.SimURL,
		"TOSS_SECRET_KEY=" + p.TossSecretKey,
		"JWT_HS256_SECRET=" + p.jwtSecret,
		"PAYLOAD_CODEC_KEYS=" + p.codecKeys,
		"API_ADDR=127.0.0.1:0",
		"WORKER_HEALTH_ADDR=127.0.0.1:0",
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
	}, extra...)
}

// process is one `paysaga <command>` process.
type process struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// start runs `paysaga args…` with env and waits until it logs ready (a log message).
func start(t *testing.T, ready string, env []string, args ...string) *process {
	t.Helper()
	p := &process{t: t, name: strings.Join(args, " "), out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(append(os.Environ(), runMainEnv+"=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Never outlive the test binary, even one that is killed.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start paysaga %s: %v", p.name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("paysaga %s log:\n%s", p.name, p.out.String())
		}
	})
	if ready != "" {
		p.waitLog(ready, 30*time.Second)
	}
	return p
}

// waitLog waits for a JSON log line whose msg is msg and returns its fields.
func (p *process) waitLog(msg string, timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if line := p.logLine(msg); line != nil {
			return line
		}
		select {
		case <-p.exited:
			if line := p.logLine(msg); line != nil {
				return line
			}
			p.t.Fatalf("paysaga %s exited (%v) before logging %q:\n%s", p.name, p.err, msg, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("paysaga %s did not log %q within %s:\n%s", p.name, msg, timeout, p.out.String())
		}
	}
}

func (p *process) logLine(msg string) map[string]any {
	for _, line := range bytes.Split([]byte(p.out.String()), []byte("\n")) {
		var fields map[string]any
		if json.Unmarshal(line, &fields) == nil && fields["msg"] == msg {
			return fields
		}
	}
	return nil
}

// addr is the address the process logged it listens on with msg.
func (p *process) addr(msg string) string {
	p.t.Helper()
	a, _ := p.waitLog(msg, 30*time.Second)["addr"].(string)
	if a == "" {
		p.t.Fatalf("paysaga %s logged %q without an address", p.name, msg)
	}
	return "http://" + a
}

func (p *process) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal paysaga %s: %v", p.name, err)
	}
}

// wait waits for the process to exit and returns Wait's error.
func (p *process) wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		p.t.Fatalf("paysaga %s still runs %s later", p.name, timeout)
		return nil
	}
}

func (p *process) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.t.Errorf("paysaga %s did not die after SIGKILL", p.name)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shopper is user 1 of the demo data, with a token the API accepts.
type shopper struct {
	t     *testing.T
	stack *prodStack
	api   string
	token string
}

func (p *prodStack) shopper(t *testing.T, apiURL string) *shopper {
	t.Helper()
	token, err := p.auth.IssueToken("1", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &shopper{t: t, stack: p, api: apiURL, token: token}
}

// product adds a product so that each test owns its stock.
func (s *shopper) product(price int64, stock int) paysaga.Product {
	s.t.Helper()
	prod, err := s.stack.Store.CreateProduct(context.Background(), paysaga.Product{
		Name: "상품 " + s.t.Name(), Price: decimal.NewFromInt(price), Stock: stock,
	})
	if err != nil {
		s.t.Fatalf("create product: %v", err)
	}
	return prod
}

type orderAnswer struct {
	OrderID    string          `json:"orderId"`
	OrderName  string          `json:"orderName"`
	Status     string          `json:"status"`
	Amount     decimal.Decimal `json:"amount"`
	PaymentKey string          `json:"paymentKey"`
	Code       string          `json:"code"`
	Message    string          `json:"message"`
}

// order creates an order and authorizes its payment at the simulator: what a shopper has
// done when the payment window redirects back with a paymentKey.
func (s *shopper) order(productID int64, quantity int, amount int64) (orderAnswer, string) {
	s.t.Helper()
	status, o := s.call(http.MethodPost, "/api/v1/orders",
		map[string]any{"productId": productID, "quantity": quantity, "amount": amount})
	if status != http.StatusCreated {
		s.t.Fatalf("create order: %d %s %s", status, o.Code, o.Message)
	}
	key, err := s.stack.Simulator.Authorize(o.OrderID, o.OrderName, amount)
	if err != nil {
		s.t.Fatalf("authorize at the simulator: %v", err)
	}
	return o, key
}

// confirmLater sends the confirm and delivers its answer on the channel.
func (s *shopper) confirmLater(o orderAnswer, paymentKey string) <-chan orderAnswer {
	out := make(chan orderAnswer, 1)
	go func() {
		status, a, err := s.try(http.MethodPost, "/api/v1/orders/confirm",
			map[string]any{"orderId": o.OrderID, "paymentKey": paymentKey, "amount": o.Amount.String()})
		if err != nil {
			a.Status, a.Message = "TRANSPORT_ERROR", err.Error()
		} else if status != http.StatusOK {
			a.Status = fmt.Sprintf("HTTP %d %s", status, a.Status)
		}
		out <- a
	}()
	return out
}

func (s *shopper) call(method, path string, body any) (int, orderAnswer) {
	s.t.Helper()
	status, a, err := s.try(method, path, body)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, a
}

var testClient = &http.Client{Timeout: time.Minute}

func (s *shopper) try(method, path string, body any) (int, orderAnswer, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.api+path, r)
	if err != nil {
		return 0, orderAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := testClient.Do(req)
	if err != nil {
		return 0, orderAnswer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, orderAnswer{}, err
	}
	var a orderAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return resp.StatusCode, a, fmt.Errorf("decode %q: %w", raw, err)
	}
	return resp.StatusCode, a, nil
}

// faults sets the simulator's faults for the rest of the test.
func (p *prodStack) faults(t *testing.T, rules ...tosssim.FaultRule) {
	t.Helper()
	if err := p.Simulator.SetFaults(rules); err != nil {
		t.Fatalf("set faults: %v", err)
	}
	t.Cleanup(p.Simulator.ClearFaults)
}

// eventually polls cond every 20 ms until it holds, failing after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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
