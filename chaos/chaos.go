// Package chaos drives many checkouts against a running paysaga stack while Toss misbehaves
// and worker processes crash, then drains and checks that no money and no stock went
// astray. `paysaga-dev chaos` runs it; docs/chaos.md shows a run.
//
// The run owns what it measures: it creates its own shopper and products (so stock
// arithmetic is exact), arms simulator faults per order through POST /sim/v1/faults, and
// starts, SIGKILLs and restarts its own `paysaga worker` processes. Everything it checks is
// read through the store's read methods, the simulator's stats and Toss's payment API.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/workflows"
)

// Config says which stack to run against and how hard.
type Config struct {
	// APIURL and SimURL are the paysaga API and the Toss simulator (http://host:port).
	APIURL, SimURL string
	// DatabaseURL is the app database the stack uses; the run reads it (and adds its own
	// shopper and products), and the workers it starts use it.
	DatabaseURL string
	// TemporalAddress and TemporalNamespace are the Temporal frontend the stack uses.
	TemporalAddress, TemporalNamespace string
	// TossSecretKey is the simulator's secret key: for the workers, and for reading payments.
	TossSecretKey string

	// Checkouts is how many checkouts to drive; Buyers how many run at once.
	Checkouts, Buyers int
	// Seed makes the schedule (scenarios, products, quantities, kills) repeatable.
	Seed uint64
	// Scenarios is the rotation; empty means DefaultScenarios.
	Scenarios []Scenario

	// Workers is how many worker processes the run starts, kills and restarts; 0 starts
	// none and leaves the stack's own workers alone (nothing is killed then).
	Workers int
	// WorkerCommand runs one worker; empty means this executable's `worker` subcommand.
	WorkerCommand []string
	// WorkerEnv is added to the workers' environment, after this process's own and the
	// connection settings above (e.g. the payload codec's keys).
	WorkerEnv []string
	// WorkerOutput receives the workers' logs; nil discards them.
	WorkerOutput io.Writer
	// KillEvery is the mean time between two SIGKILLs while checkouts run; 0 kills nothing.
	KillEvery time.Duration

	// DrainTimeout bounds each wait for the sagas to finish.
	DrainTimeout time.Duration
	// Settle, after the first check, finishes every payment parked as NEEDS_ATTENTION as an
	// operator would, half by retry-compensation (the faults are cleared by then), half by
	// a refund by hand and a resolve signal; then drains and checks again, now with nothing
	// parked allowed.
	Settle bool

	Logger *slog.Logger
}

func (c *Config) defaults() error {
	for name, v := range map[string]string{"API URL": c.APIURL, "simulator URL": c.SimURL,
		"database URL": c.DatabaseURL, "Temporal address": c.TemporalAddress, "Toss secret key": c.TossSecretKey} {
		if v == "" {
			return fmt.Errorf("chaos: the %s is required", name)
		}
	}
	c.APIURL, c.SimURL = strings.TrimRight(c.APIURL, "/"), strings.TrimRight(c.SimURL, "/")
	if c.TemporalNamespace == "" {
		c.TemporalNamespace = "default"
	}
	if c.Checkouts < 1 {
		return fmt.Errorf("chaos: checkouts must be at least 1, got %d", c.Checkouts)
	}
	if c.Buyers < 1 {
		c.Buyers = 1
	}
	if c.Workers < 0 {
		return fmt.Errorf("chaos: workers must not be negative, got %d", c.Workers)
	}
	if len(c.Scenarios) == 0 {
		c.Scenarios = DefaultScenarios()
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// run is one chaos run in progress.
type run struct {
	cfg       Config
	logger    *slog.Logger
	store     *store.Store
	temporal  client.Client
	toss      *toss.Client
	http      *http.Client
	faults    *faultBook
	pool      *workerPool
	userID    int64
	token     string // the shopper's bearer token, when the API wants one
	products  []product
	checkouts []*checkout

	stockMu  sync.Mutex
	minStock map[int64]int
}

// product is one of the run's own products, with the stock it started with.
type product struct {
	paysaga.Product
	Initial int
	Hot     bool
}

// checkout is one shopper's attempt and what the API answered.
type checkout struct {
	scenario  int
	product   int // index into run.products
	quantity  int
	orderID   string
	createdAs answer // the create request's answer
	confirms  []answer
	failure   string // a step that could not even be sent
}

// answer is one HTTP answer of the API: its status and the status or code in its body.
type answer struct {
	HTTPStatus int
	Status     string // order status in the body
	Code       string // error code in the body
}

func (a answer) String() string {
	if a.Code != "" {
		return fmt.Sprintf("%d %s", a.HTTPStatus, a.Code)
	}
	return fmt.Sprintf("%d %s", a.HTTPStatus, a.Status)
}

// Run drives cfg.Checkouts checkouts with faults and worker crashes, drains, checks the
// invariants and reports. The error is for a run that could not be carried out (the stack
// is unreachable); violations are in the report (Report.Violations).
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.defaults(); err != nil {
		return Report{}, err
	}
	r := &run{
		cfg:      cfg,
		logger:   cfg.Logger,
		http:     &http.Client{Timeout: 90 * time.Second},
		minStock: map[int64]int{},
	}
	r.toss = toss.NewClient(cfg.SimURL, cfg.TossSecretKey, nil)
	r.faults = &faultBook{simURL: cfg.SimURL, http: r.http}
	rep := Report{Checkouts: cfg.Checkouts, Buyers: cfg.Buyers, Workers: cfg.Workers, Seed: cfg.Seed, KillEvery: cfg.KillEvery}

	st, err := store.Open(ctx, cfg.DatabaseURL, slog.New(slog.DiscardHandler))
	if err != nil {
		return rep, err
	}
	defer st.Close()
	r.store = st
	opts := client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	}
	// The run signals parked sagas as an operator does, and the workers take only signals
	// sealed with their keys: the run seals with the keys it gives them.
	if dc, err := workersConverter(append(os.Environ(), cfg.WorkerEnv...)); err != nil {
		return rep, err
	} else if dc != nil {
		opts.DataConverter, opts.FailureConverter = dc, codec.FailureConverter(dc)
	}
	tc, err := client.Dial(opts)
	if err != nil {
		return rep, fmt.Errorf("connect to temporal at %s: %w", cfg.TemporalAddress, err)
	}
	defer tc.Close()
	r.temporal = tc

	if err := r.setUp(ctx); err != nil {
		return rep, err
	}
	if cfg.Workers > 0 {
		command, err := workerCommand(cfg.WorkerCommand)
		if err != nil {
			return rep, err
		}
		r.pool = newWorkerPool(cfg.Workers, command, r.workerEnv(), cfg.WorkerOutput, r.logger)
		defer r.pool.stop(15 * time.Second)
		if err := r.pool.startAll(); err != nil {
			return rep, err
		}
	}
	if err := r.waitForWorkers(ctx); err != nil {
		return rep, err
	}
	// Leave the simulator as we found it, whatever happens below.
	defer func() {
		clearCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = r.faults.clear(clearCtx)
	}()
	if err := r.faults.start(ctx, noise()); err != nil {
		return rep, err
	}

	began := time.Now()
	if err := r.drive(ctx); err != nil {
		return rep, err
	}
	rep.DriveTime = time.Since(began)
	if err := r.someOrderCreated(); err != nil {
		return rep, err
	}
	rep.Answers = map[string]int{}
	for _, c := range r.checkouts {
		for _, a := range c.confirms {
			rep.Answers[a.String()]++
		}
	}
	if r.pool != nil {
		rep.Kills, rep.Restarts = r.pool.counts()
	}

	// The faults stop here: from now on the run only watches the sagas finish.
	if err := r.faults.clear(ctx); err != nil {
		return rep, err
	}
	began = time.Now()
	drainErr := r.drain(ctx, false)
	rep.DrainTime = time.Since(began)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	first, err := r.check(ctx, "after drain", drainErr, true)
	if err != nil {
		return rep, err
	}
	rep.Phases = append(rep.Phases, first)
	rep.Scenarios = r.outcomes(first.orders)

	if cfg.Settle {
		began = time.Now()
		retried, resolved, err := r.settleParked(ctx, first.orders)
		if err != nil {
			return rep, err
		}
		settleErr := r.drain(ctx, true)
		rep.SettleTime = time.Since(began)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		second, err := r.check(ctx, fmt.Sprintf("after settling the parked payments (%d retry-compensation, %d refunded by hand + resolve)",
			retried, resolved), settleErr, false)
		if err != nil {
			return rep, err
		}
		rep.Phases = append(rep.Phases, second)
	}
	rep.Toss, err = r.simStats(ctx)
	if err != nil {
		return rep, err
	}
	for _, c := range r.checkouts {
		rep.Scenarios[c.scenario].Approvals += rep.Toss.Approvals[c.orderID]
		rep.Scenarios[c.scenario].Cancels += rep.Toss.Cancels[c.orderID]
	}
	return rep, nil
}

// setUp creates the run's shopper and products: a plentiful one, and a hot one with far
// less stock than demand, so buyers race for it.
func (r *run) setUp(ctx context.Context) error {
	u, err := r.store.CreateUser(ctx, "카오스 고객")
	if err != nil {
		return err
	}
	r.userID = u.ID
	if err := r.signIn(ctx); err != nil {
		return err
	}
	stamp := time.Now().Format("0102-150405")
	plans := []product{
		{Product: paysaga.Product{Name: "카오스 상품 " + stamp, Price: decimal.NewFromInt(12000), Stock: 3*r.cfg.Checkouts + 10}},
		{Product: paysaga.Product{Name: "카오스 한정판 " + stamp, Price: decimal.NewFromInt(39000), Stock: max(5, r.cfg.Checkouts/10)}, Hot: true},
	}
	for _, p := range plans {
		created, err := r.store.CreateProduct(ctx, p.Product)
		if err != nil {
			return err
		}
		p.Product, p.Initial = created, created.Stock
		r.products = append(r.products, p)
		r.minStock[created.ID] = created.Stock
	}
	return nil
}

// signIn gets the run's shopper a token from the dev stack's token endpoint. An API that
// has no such endpoint (404) is taken to need none.
func (r *run) signIn(ctx context.Context) error {
	var tok struct {
		Token string `json:"token"`
	}
	a, err := r.postJSON(ctx, r.cfg.APIURL+"/api/v1/dev/token", map[string]any{"userId": r.userID}, &tok)
	switch {
	case err != nil:
		return fmt.Errorf("get a token for the shopper: %w", err)
	case a.HTTPStatus == http.StatusNotFound || a.HTTPStatus == http.StatusMethodNotAllowed:
		return nil
	case a.HTTPStatus != http.StatusOK || tok.Token == "":
		return fmt.Errorf("get a token for the shopper: POST /api/v1/dev/token answered %v", a)
	}
	r.token = tok.Token
	return nil
}

func (r *run) productIDs() []int64 {
	ids := make([]int64, len(r.products))
	for i, p := range r.products {
		ids[i] = p.ID
	}
	return ids
}

// workerEnv is the environment of a worker process: ours, plus the stack's connections.
func (r *run) workerEnv() []string {
	env := append(os.Environ(),
		"DATABASE_URL="+r.cfg.DatabaseURL,
		"TEMPORAL_ADDRESS="+r.cfg.TemporalAddress,
		"TEMPORAL_NAMESPACE="+r.cfg.TemporalNamespace,
		"TOSS_API_URL="+r.cfg.SimURL,
		"TOSS_SECRET_KEY="+r.cfg.TossSecretKey,
	)
	if os.Getenv("LOG_LEVEL") == "" {
		env = append(env, "LOG_LEVEL=warn")
	}
	return append(env, r.cfg.WorkerEnv...)
}

// waitForWorkers waits until some worker polls the payment task queue: without one, every
// saga would wait and the drain could only time out.
func (r *run) waitForWorkers(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := r.temporal.DescribeTaskQueue(ctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil && len(resp.GetPollers()) > 0 {
			return nil
		}
		if r.pool != nil {
			if derr := r.pool.dead(); derr != nil {
				return derr
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no worker polls task queue %s after a minute (last error: %v)", workflows.TaskQueue, err)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// drive runs the checkouts with cfg.Buyers at once, crashing workers meanwhile.
func (r *run) drive(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 1))
	plan := schedule(r.cfg.Scenarios, r.cfg.Checkouts, rng)
	r.checkouts = make([]*checkout, r.cfg.Checkouts)
	for i := range r.checkouts {
		c := &checkout{scenario: plan[i], quantity: 1 + rng.IntN(3)}
		if rng.IntN(4) == 0 {
			c.product = 1 // the hot one
		}
		r.checkouts[i] = c
	}

	driveCtx, stopDriving := context.WithCancel(ctx)
	defer stopDriving()
	var background sync.WaitGroup
	background.Go(func() { r.watchStock(driveCtx) })
	background.Go(func() { r.sweepFaults(driveCtx) })
	crashErr := make(chan error, 1)
	if r.pool != nil && r.cfg.KillEvery > 0 {
		background.Go(func() { crashErr <- r.crashWorkers(driveCtx) })
	}

	queue := make(chan *checkout)
	var done sync.WaitGroup
	var finished int
	var mu sync.Mutex
	for range r.cfg.Buyers {
		done.Go(func() {
			for c := range queue {
				r.checkout(driveCtx, c)
				mu.Lock()
				finished++
				mu.Unlock()
			}
		})
	}
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	var err error
feed:
	for _, c := range r.checkouts {
		for {
			select {
			case queue <- c:
				continue feed
			case <-ctx.Done():
				err = ctx.Err()
				break feed
			case err = <-crashErr:
				if err != nil {
					break feed
				}
			case <-progress.C:
				mu.Lock()
				n := finished
				mu.Unlock()
				r.logger.Info("chaos: driving", "checkouts", n, "of", len(r.checkouts))
				if r.pool != nil {
					if derr := r.pool.dead(); derr != nil {
						err = derr
						break feed
					}
				}
			}
		}
	}
	close(queue)
	done.Wait()
	stopDriving()
	background.Wait()
	if err != nil {
		return err
	}
	select {
	case err = <-crashErr:
	default:
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	// Every worker runs again for the drain.
	if r.pool != nil {
		return r.pool.startAll()
	}
	return nil
}

// someOrderCreated fails a run in which no checkout got as far as an order: every
// invariant would hold over nothing, which proves nothing.
func (r *run) someOrderCreated() error {
	for _, c := range r.checkouts {
		if c.orderID != "" {
			return nil
		}
	}
	c := r.checkouts[0]
	return fmt.Errorf("no checkout could create an order; the first got %v %s", c.createdAs, c.failure)
}

// crashWorkers SIGKILLs a random worker every KillEvery on average and starts it again a
// moment later, until ctx ends.
func (r *run) crashWorkers(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 2))
	for {
		wait := r.cfg.KillEvery/2 + time.Duration(rng.Int64N(int64(r.cfg.KillEvery)))
		if sleep(ctx, wait) != nil {
			return nil
		}
		i := rng.IntN(r.cfg.Workers)
		r.pool.kill(i)
		down := 200*time.Millisecond + time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
		_ = sleep(ctx, down) // restart even when the drive just ended
		if err := r.pool.restart(i); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// watchStock samples the products' stock while checkouts run: it must never go below zero,
// not only at the end.
func (r *run) watchStock(ctx context.Context) {
	for {
		for _, p := range r.products {
			got, err := r.store.GetProduct(ctx, p.ID)
			if err != nil {
				continue
			}
			r.stockMu.Lock()
			r.minStock[p.ID] = min(r.minStock[p.ID], got.Stock)
			r.stockMu.Unlock()
		}
		if sleep(ctx, 250*time.Millisecond) != nil {
			return
		}
	}
}

// sweepFaults disarms the faults of orders whose confirm has ended, so the rule set the
// simulator checks on every call stays small.
func (r *run) sweepFaults(ctx context.Context) {
	for sleep(ctx, time.Second) == nil {
		mark := r.faults.mark() // orders armed after this may not be in the list below yet
		open, err := r.store.ListOrders(ctx, paysaga.OrderFilter{
			ProductIDs: r.productIDs(),
			Statuses:   []paysaga.OrderStatus{paysaga.StatusCreated, paysaga.StatusConfirming},
		})
		if err != nil {
			continue
		}
		keep := make(map[string]bool, len(open))
		for _, o := range open {
			keep[o.ID] = true
		}
		if err := r.faults.disarmAllBut(ctx, mark, keep); err != nil && ctx.Err() == nil {
			r.logger.Warn("chaos: disarm faults", "error", err)
		}
	}
}

// checkout is one shopper: create the order, pay in the (simulated) payment window, confirm.
func (r *run) checkout(ctx context.Context, c *checkout) {
	p := r.products[c.product]
	sc := r.cfg.Scenarios[c.scenario]
	amount := paysaga.OrderAmount(p.Price, c.quantity)
	var created struct {
		OrderID   string `json:"orderId"`
		OrderName string `json:"orderName"`
	}
	a, err := r.postJSON(ctx, r.cfg.APIURL+"/api/v1/orders",
		map[string]any{"userId": r.userID, "productId": p.ID, "quantity": c.quantity, "amount": amount}, &created)
	c.createdAs = a
	if err != nil {
		c.failure = "create: " + err.Error()
		return
	}
	if a.HTTPStatus != http.StatusCreated {
		return
	}
	c.orderID = created.OrderID

	var authorized struct {
		PaymentKey string `json:"paymentKey"`
	}
	a, err = r.postJSON(ctx, r.cfg.SimURL+"/sim/v1/authorize",
		map[string]any{"orderId": created.OrderID, "orderName": created.OrderName, "amount": amount}, &authorized)
	if err != nil || a.HTTPStatus != http.StatusOK || authorized.PaymentKey == "" {
		c.failure = fmt.Sprintf("authorize: %v %v", a, err)
		return
	}
	if len(sc.Rules) > 0 {
		if err := r.faults.arm(ctx, c.orderID, sc.Rules); err != nil {
			c.failure = "arm faults: " + err.Error()
			return
		}
	}

	// The values come back from the payment window's redirect as strings.
	body := map[string]any{"userId": r.userID, "orderId": c.orderID, "paymentKey": authorized.PaymentKey, "amount": amount.String()}
	n := max(1, sc.Confirms)
	answers := make([]answer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { answers[i], errs[i] = r.postJSON(ctx, r.cfg.APIURL+"/api/v1/orders/confirm", body, nil) })
	}
	wg.Wait()
	c.confirms = answers
	if err := errors.Join(errs...); err != nil {
		c.failure = "confirm: " + err.Error()
	}
}

// workersConverter is the data converter of the payload codec keys the workers get (the
// last PAYLOAD_CODEC_KEYS in their environment), or nil when they get none.
func workersConverter(env []string) (converter.DataConverter, error) {
	spec := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PAYLOAD_CODEC_KEYS="); ok {
			spec = v
		}
	}
	if spec != "" {
		keys, err := codec.ParseKeys(spec)
		if err != nil {
			return nil, fmt.Errorf("PAYLOAD_CODEC_KEYS of the workers: %w", err)
		}
		c, err := codec.New(keys...)
		if err != nil {
			return nil, err
		}
		return codec.SealedOnlyDataConverter(c, nil), nil
	}
	return nil, nil
}

// settleParked finishes every payment parked as NEEDS_ATTENTION the two ways an operator
// does (docs/operations.md), alternately: signal retry-compensation now that Toss cancels
// again, or refund the payment by hand (a cancel at Toss, as from its console) and signal
// resolve with a note.
func (r *run) settleParked(ctx context.Context, orders map[string]paysaga.Order) (retried, resolved int, err error) {
	for _, c := range r.checkouts {
		o, ok := orders[c.orderID]
		if !ok || o.Status != paysaga.StatusNeedsAttention {
			continue
		}
		id := workflows.WorkflowID(o.ID)
		if (retried+resolved)%2 == 0 {
			if err := r.temporal.SignalWorkflow(ctx, id, "", workflows.SignalRetryCompensation, nil); err != nil {
				return retried, resolved, fmt.Errorf("signal %s to %s: %w", workflows.SignalRetryCompensation, id, err)
			}
			retried++
			continue
		}
		_, err := r.toss.Cancel(ctx, o.PaymentKey, toss.CancelRequest{CancelReason: "운영자 수동 환불"}, "chaos-manual-refund-"+o.ID)
		if err != nil {
			return retried, resolved, fmt.Errorf("refund %s by hand: %w", o.ID, err)
		}
		note := workflows.ResolveRequest{Operator: "chaos", Note: "refunded by hand at Toss"}
		if err := r.temporal.SignalWorkflow(ctx, id, "", workflows.SignalResolve, note); err != nil {
			return retried, resolved, fmt.Errorf("signal %s to %s: %w", workflows.SignalResolve, id, err)
		}
		resolved++
	}
	return retried, resolved, nil
}
