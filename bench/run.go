package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
)

// Systems under test.
const (
	systemPaysaga  = "paysaga"
	systemBaseline = "baseline"
)

// scenario is a shape of load.
type scenario struct {
	Name string // hot, spread, overhead
	// Buyers is how many shoppers check out at once, each one checkout after another.
	Buyers int
	// Products is how many products they buy: buyer i always buys product i mod Products,
	// so with Products ≥ Buyers no two buyers ever want the same row.
	Products int
	// Latency is the simulator's latency on every Toss API call.
	Latency time.Duration
}

// Label names the scenario in tables: "hot", "overhead 0ms".
func (sc scenario) Label() string {
	if sc.Name == "overhead" {
		return fmt.Sprintf("overhead %s", fmtMS(sc.Latency))
	}
	return sc.Name
}

// runSpec is one measured run: a scenario against one system.
type runSpec struct {
	scenario
	System string
	// Count is how many checkouts to measure; 0 runs for Duration instead.
	Count    int
	Duration time.Duration
	// Warmup checkouts run first, unmeasured: connections opened, caches and pools filled.
	Warmup   int
	Quantity int
	// Progress draws a progress bar on stderr.
	Progress bool
	// CPUProfile, when set, is the file the measured phase's CPU profile goes to.
	CPUProfile string
}

// result is what one run measured.
type result struct {
	Scenario, System, DB string
	Buyers               int
	Latency              time.Duration

	Confirms int // measured checkouts that ended PAID
	Late     int // of them, confirms answered 202 and polled until PAID
	Errors   int
	// ErrorKinds counts errors by step and answer ("confirm: 409 OUT_OF_STOCK").
	ErrorKinds map[string]int
	// Window is the measured wall time: the run's duration, or until the last checkout of a
	// counted run. Throughput counts the confirms that finished inside it.
	Window     time.Duration
	Throughput float64
	// Confirm latency: from sending the confirm to the answer (or, after a 202, to seeing
	// the order PAID).
	P50, P95, P99 time.Duration
	// Added: the confirm latency less the time the simulator spent on the order's Toss calls
	// during the confirm (nil when it cannot be measured: a targeted stack).
	AddedP50, AddedP95, AddedP99 time.Duration
	AddedMeasured                bool
	// SimPerConfirm is the mean simulator time inside one confirm, and TossCalls the mean
	// number of Toss API calls per confirm.
	SimPerConfirm time.Duration
	TossCalls     float64
	// CPUPerConfirm is the CPU time of the whole stack per confirmed payment, over the
	// measured phase (create and authorize included); zero when not measured.
	CPUPerConfirm time.Duration
	CPUMeasured   bool
	// Audit is "ok" when stock, orders and Toss's approvals agree after the run.
	Audit string
}

type sample struct {
	latency, sim time.Duration
	done         time.Time
}

// runOne runs spec against s and measures it.
func runOne(ctx context.Context, s *benchStack, spec runSpec) (result, error) {
	res := result{Scenario: spec.Label(), System: spec.System, DB: s.DBLabel, Buyers: spec.Buyers, Latency: spec.Latency,
		ErrorKinds: map[string]int{}}
	base := s.APIURL
	if spec.System == systemBaseline {
		if s.BaselineURL == "" {
			return res, errors.New("the baseline needs the app database: give -database-url")
		}
		base = s.BaselineURL
	}
	if spec.Quantity < 1 {
		spec.Quantity = 1
	}
	if err := s.setLatency(ctx, spec.Latency); err != nil {
		return res, fmt.Errorf("set the simulator's latency: %w", err)
	}
	products, err := s.products(ctx, spec.Name+" "+spec.System, max(spec.Products, 1))
	if err != nil {
		return res, err
	}
	buyers := make([]*buyer, spec.Buyers)
	for i := range buyers {
		uid := s.users[i%len(s.users)]
		c, err := s.buyerClient(ctx, uid)
		if err != nil {
			return res, err
		}
		buyers[i] = &buyer{stack: s, api: c, sim: s.client, base: base, userID: uid,
			product: products[i%len(products)], quantity: spec.Quantity}
	}
	statsBefore := s.tossCallCount()

	// Warm-up, unmeasured: connections opened, pools and caches filled.
	warm := &collector{kinds: map[string]int{}}
	drive(ctx, buyers, spec.Warmup, 0, nil, warm)
	if warm.errors > 0 {
		return res, fmt.Errorf("warm-up: %d of %d checkouts failed: %v", warm.errors, spec.Warmup, warm.kinds)
	}

	var bar *progressbar.ProgressBar
	if spec.Progress && isTerminal(os.Stderr) {
		bar = newBar(spec)
	}
	cpu0, cpuErr := s.CPU.Sample()
	if spec.CPUProfile != "" {
		f, err := os.Create(spec.CPUProfile)
		if err != nil {
			return res, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return res, err
		}
	}
	start := time.Now()
	var deadline time.Time
	if spec.Count == 0 {
		deadline = start.Add(spec.Duration)
	}
	col := &collector{kinds: map[string]int{}}
	drive(ctx, buyers, spec.Count, spec.Duration, bar, col)
	end := time.Now()
	if spec.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	cpu1, cpuErr1 := s.CPU.Sample()
	if bar != nil {
		_ = bar.Finish()
	}

	res.Errors, res.ErrorKinds, res.Late = col.errors, col.kinds, col.late
	samples := col.samples
	res.Confirms = len(samples)
	res.Window = end.Sub(start)
	inWindow := len(samples)
	if !deadline.IsZero() {
		res.Window = spec.Duration
		inWindow = 0
		for _, sm := range samples {
			if !sm.done.After(deadline) {
				inWindow++
			}
		}
	} else if len(samples) > 0 {
		last := slices.MaxFunc(samples, func(a, b sample) int { return a.done.Compare(b.done) })
		res.Window = last.done.Sub(start)
	}
	if res.Window > 0 {
		res.Throughput = float64(inWindow) / res.Window.Seconds()
	}
	if len(samples) > 0 {
		lat := make([]time.Duration, len(samples))
		added := make([]time.Duration, len(samples))
		var simTotal time.Duration
		for i, sm := range samples {
			lat[i], added[i] = sm.latency, sm.latency-sm.sim
			simTotal += sm.sim
		}
		res.P50, res.P95, res.P99 = percentiles(lat)
		if s.Clock != nil {
			res.AddedMeasured = true
			res.AddedP50, res.AddedP95, res.AddedP99 = percentiles(added)
			res.SimPerConfirm = simTotal / time.Duration(len(samples))
		}
		if cpuErr == nil && cpuErr1 == nil && s.CPU.Enabled() {
			res.CPUMeasured = true
			res.CPUPerConfirm = (cpu1 - cpu0) / time.Duration(len(samples))
		}
		if n := s.tossCallCount() - statsBefore; n > 0 {
			res.TossCalls = float64(n) / float64(len(samples)+spec.Warmup)
		}
	}
	res.Audit = audit(ctx, s, spec, products, warm.paid()+res.Confirms)
	return res, nil
}

// tossCallCount is how many Toss server-API calls the harness's simulator has served (0 when
// the stack calls a simulator of its own).
func (s *benchStack) tossCallCount() int64 {
	if s.Clock == nil {
		return 0
	}
	n, _ := s.Clock.Totals()
	return n
}

// isTerminal reports whether f is a terminal: a progress bar redrawn with carriage returns
// is only noise in a log file or CI output.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newBar(spec runSpec) *progressbar.ProgressBar {
	label := fmt.Sprintf("%-12s %-8s", spec.Label(), spec.System)
	max := int64(spec.Count)
	if spec.Count == 0 {
		max = -1 // a spinner with the count and the rate; the run ends on its clock
		label += fmt.Sprintf(" %s", spec.Duration)
	}
	return progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("confirms"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// collector gathers what the buyers saw.
type collector struct {
	mu      sync.Mutex
	samples []sample
	errors  int
	late    int
	kinds   map[string]int
}

func (c *collector) add(sm sample, late bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.errors++
		c.kinds[errorKind(err)]++
		return
	}
	c.samples = append(c.samples, sm)
	if late {
		c.late++
	}
}

func (c *collector) paid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

// drive has every buyer check out one order after another until count checkouts have been
// started (count > 0) or duration has passed; checkouts under way are always finished — a
// confirm is never abandoned half-way, the baseline's least of all.
func drive(ctx context.Context, buyers []*buyer, count int, duration time.Duration, bar *progressbar.ProgressBar, col *collector) {
	if count == 0 && duration == 0 {
		return
	}
	var deadline time.Time
	if count == 0 {
		deadline = time.Now().Add(duration)
	}
	var started atomic.Int64
	var wg sync.WaitGroup
	n := len(buyers)
	if count > 0 {
		n = min(n, count)
	}
	for _, b := range buyers[:n] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The load generator's goroutines (and the HTTP connections they dial) carry a
			// label, so that a CPU profile can tell its share from the stack's.
			pprof.Do(ctx, pprof.Labels("bench", "loadgen"), func(ctx context.Context) {
				for ctx.Err() == nil {
					if count > 0 && started.Add(1) > int64(count) {
						return
					}
					if count == 0 && time.Now().After(deadline) {
						return
					}
					sm, late, err := b.checkout(ctx)
					col.add(sm, late, err)
					if bar != nil && err == nil {
						_ = bar.Add(1)
					}
				}
			})
		}()
	}
	wg.Wait()
}

// buyer is one shopper going through whole checkouts: create → authorize → confirm.
type buyer struct {
	stack    *benchStack
	api, sim *apiClient
	base     string // the system's API: paysaga's or the baseline's
	userID   int64
	product  product
	quantity int
}

type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func errorKind(err error) string {
	var se *stepError
	step := ""
	if errors.As(err, &se) {
		step = se.step + ": "
	}
	var he *httpError
	switch {
	case errors.As(err, &he):
		return step + he.kind()
	case errors.Is(err, context.DeadlineExceeded):
		return step + "timeout"
	}
	msg := err.Error()
	if se != nil {
		msg = se.err.Error()
	}
	if len(msg) > 60 {
		msg = msg[:60] + "…"
	}
	return step + msg
}

type orderAnswer struct {
	OrderID   string          `json:"orderId"`
	OrderName string          `json:"orderName"`
	Amount    decimal.Decimal `json:"amount"`
	Status    string          `json:"status"`
}

// confirmPollEvery is how often a 202's Location is read until the order is decided.
const confirmPollEvery = 20 * time.Millisecond

// checkout runs one whole checkout and returns the confirm's timing.
func (b *buyer) checkout(ctx context.Context) (sample, bool, error) {
	amount := paysaga.OrderAmount(b.product.Price, b.quantity)
	var o orderAnswer
	if _, err := b.api.call(ctx, http.MethodPost, b.base+"/api/v1/orders", map[string]any{
		"userId": b.userID, "productId": b.product.ID, "quantity": b.quantity, "amount": json.Number(amount.String()),
	}, &o); err != nil {
		return sample{}, false, &stepError{"create", err}
	}
	var auth struct {
		PaymentKey string `json:"paymentKey"`
	}
	if _, err := b.sim.call(ctx, http.MethodPost, b.stack.SimURL+"/sim/v1/authorize", map[string]any{
		"orderId": o.OrderID, "orderName": o.OrderName, "amount": o.Amount,
	}, &auth); err != nil {
		return sample{}, false, &stepError{"authorize", err}
	}
	if b.stack.Clock != nil {
		b.stack.Clock.bind(auth.PaymentKey, o.OrderID)
	}

	start := time.Now()
	var paid orderAnswer
	status, err := b.api.call(ctx, http.MethodPost, b.base+"/api/v1/orders/confirm", map[string]any{
		"userId": b.userID, "orderId": o.OrderID, "paymentKey": auth.PaymentKey, "amount": o.Amount.String(),
	}, &paid)
	if err != nil {
		return sample{}, false, &stepError{"confirm", err}
	}
	late := status == http.StatusAccepted
	if late {
		if paid, err = b.awaitDecision(ctx, o.OrderID); err != nil {
			return sample{}, false, &stepError{"confirm (after 202)", err}
		}
	}
	done := time.Now()
	if paid.Status != string(paysaga.StatusPaid) {
		return sample{}, false, &stepError{"confirm", fmt.Errorf("order is %s, not PAID", paid.Status)}
	}
	sm := sample{latency: done.Sub(start), done: done}
	if b.stack.Clock != nil {
		sm.sim = b.stack.Clock.take(o.OrderID)
	}
	return sm, late, nil
}

// awaitDecision polls the order after a 202 until its saga has decided, for at most two
// minutes.
func (b *buyer) awaitDecision(ctx context.Context, orderID string) (orderAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		var o orderAnswer
		if _, err := b.api.call(ctx, http.MethodGet, b.stack.APIURL+"/api/v1/orders/"+orderID, nil, &o); err != nil {
			return o, err
		}
		if o.Status != string(paysaga.StatusConfirming) && o.Status != string(paysaga.StatusCreated) {
			return o, nil
		}
		select {
		case <-ctx.Done():
			return o, ctx.Err()
		case <-time.After(confirmPollEvery):
		}
	}
}

// percentiles returns p50, p95 and p99 (nearest rank) of ds, which it sorts.
func percentiles(ds []time.Duration) (p50, p95, p99 time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return at(0.50), at(0.95), at(0.99)
}

// audit checks after a run that nothing was lost or counted twice: the stock taken from the
// run's products is exactly the quantity of their PAID orders, no order is left half-way,
// the PAID orders are the confirms the buyers saw, and (with the harness's simulator) Toss
// approved each PAID order once and nothing else.
func audit(ctx context.Context, s *benchStack, spec runSpec, products []product, confirmed int) string {
	if s.Store == nil {
		return "n/a"
	}
	ids := make([]int64, 0, len(products))
	seen := map[int64]bool{}
	taken := 0
	for _, p := range products {
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		ids = append(ids, p.ID)
		now, err := s.Store.GetProduct(ctx, p.ID)
		if err != nil {
			return "read product: " + err.Error()
		}
		taken += p.Stock - now.Stock
	}
	orders, err := s.Store.ListOrders(ctx, paysaga.OrderFilter{ProductIDs: ids})
	if err != nil {
		return "list orders: " + err.Error()
	}
	var problems []string
	paidQty, paid := 0, 0
	approvals := map[string]int{}
	if s.Sim != nil {
		approvals = s.Sim.Stats().Approvals
	}
	approved := 0
	for _, o := range orders {
		approved += approvals[o.ID]
		switch o.Status {
		case paysaga.StatusPaid:
			paid++
			paidQty += o.Quantity
			if s.Sim != nil && approvals[o.ID] != 1 {
				problems = append(problems, fmt.Sprintf("order %s PAID with %d approvals", o.ID, approvals[o.ID]))
			}
		case paysaga.StatusConfirming, paysaga.StatusNeedsAttention:
			problems = append(problems, fmt.Sprintf("order %s left %s", o.ID, o.Status))
		}
	}
	if taken != paidQty {
		problems = append(problems, fmt.Sprintf("stock taken %d ≠ %d sold", taken, paidQty))
	}
	if paid != confirmed {
		problems = append(problems, fmt.Sprintf("%d orders PAID, buyers saw %d", paid, confirmed))
	}
	if s.Sim != nil && approved != paid {
		problems = append(problems, fmt.Sprintf("Toss approved %d, %d PAID", approved, paid))
	}
	if len(problems) == 0 {
		return "ok"
	}
	if len(problems) > 3 {
		problems = append(problems[:3], fmt.Sprintf("… %d more", len(problems)-3))
	}
	return strings.Join(problems, "; ")
}
