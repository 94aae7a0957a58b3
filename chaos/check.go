package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/workflows"
)

// Phase is one check of the invariants and the order statuses it saw.
type Phase struct {
	Name       string
	Statuses   map[paysaga.OrderStatus]int
	Invariants []Invariant
	orders     map[string]paysaga.Order
}

// Invariant is one property checked over the run's orders and products.
type Invariant struct {
	Name    string
	Checked int
	// Violations say exactly which order or product broke it and how.
	Violations []string
}

// drain waits, at most DrainTimeout, until no order of the run is CONFIRMING and no saga of
// the run is running — except the ones parked as NEEDS_ATTENTION, unless parkedToo.
func (r *run) drain(ctx context.Context, parkedToo bool) error {
	deadline := time.Now().Add(r.cfg.DrainTimeout)
	closed := map[string]bool{} // a closed saga stays closed: nothing starts new ones now
	for {
		busy, err := r.busy(ctx, parkedToo, closed)
		if err == nil && busy == "" {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.pool != nil {
			if derr := r.pool.dead(); derr != nil {
				return derr
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("not drained after %s: %w", r.cfg.DrainTimeout, err)
			}
			return fmt.Errorf("not drained after %s: %s", r.cfg.DrainTimeout, busy)
		}
		r.logger.Info("chaos: draining", "waiting for", busy)
		_ = sleep(ctx, time.Second)
	}
}

// busy says what is still going on, or "" when nothing is.
func (r *run) busy(ctx context.Context, parkedToo bool, closed map[string]bool) (string, error) {
	orders, err := r.orders(ctx)
	if err != nil {
		return "", err
	}
	var confirming, parked int
	for _, o := range orders {
		switch o.Status {
		case paysaga.StatusConfirming:
			confirming++
		case paysaga.StatusNeedsAttention:
			parked++
		}
	}
	if confirming > 0 {
		return fmt.Sprintf("%d orders CONFIRMING", confirming), nil
	}
	if parkedToo && parked > 0 {
		return fmt.Sprintf("%d orders NEEDS_ATTENTION", parked), nil
	}
	running := 0
	for _, c := range r.checkouts {
		if c.orderID == "" || len(c.confirms) == 0 || closed[c.orderID] {
			continue
		}
		isRunning, err := r.sagaRunning(ctx, c.orderID)
		if err != nil {
			return "", err
		}
		switch {
		case !isRunning:
			closed[c.orderID] = true
		case parkedToo || orders[c.orderID].Status != paysaga.StatusNeedsAttention:
			running++
		}
	}
	if running > 0 {
		return fmt.Sprintf("%d sagas still running", running), nil
	}
	return "", nil
}

// sagaRunning reports whether the order's workflow is running; an order whose confirm never
// started one has none.
func (r *run) sagaRunning(ctx context.Context, orderID string) (bool, error) {
	saga, err := r.describeSaga(ctx, orderID)
	return saga.running, err
}

// saga is what Temporal says about an order's workflow.
type saga struct {
	running bool
	// stage is its PaymentStatus search attribute (plain even when payloads are encrypted).
	stage paysaga.OrderStatus
	// pendingActivities counts the steps it is waiting on; a parked saga waits on none,
	// only on an operator's signal.
	pendingActivities int
}

func (r *run) describeSaga(ctx context.Context, orderID string) (saga, error) {
	resp, err := r.temporal.DescribeWorkflowExecution(ctx, workflows.WorkflowID(orderID), "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return saga{}, nil
	}
	if err != nil {
		return saga{}, fmt.Errorf("describe %s: %w", workflows.WorkflowID(orderID), err)
	}
	info := resp.GetWorkflowExecutionInfo()
	out := saga{
		running:           info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		pendingActivities: len(resp.GetPendingActivities()),
	}
	if p := info.GetSearchAttributes().GetIndexedFields()[workflows.PaymentStatusKey.GetName()]; p != nil {
		var stage string
		if err := converter.GetDefaultDataConverter().FromPayload(p, &stage); err != nil {
			return saga{}, fmt.Errorf("read %s of %s: %w", workflows.PaymentStatusKey.GetName(), workflows.WorkflowID(orderID), err)
		}
		out.stage = paysaga.OrderStatus(stage)
	}
	return out, nil
}

// orders returns the run's orders by ID.
func (r *run) orders(ctx context.Context) (map[string]paysaga.Order, error) {
	list, err := r.store.ListOrders(ctx, paysaga.OrderFilter{ProductIDs: r.productIDs()})
	if err != nil {
		return nil, err
	}
	out := make(map[string]paysaga.Order, len(list))
	for _, o := range list {
		out[o.ID] = o
	}
	return out, nil
}

// orderFacts is everything the checks look at for one order.
type orderFacts struct {
	order   paysaga.Order
	payment *toss.Payment // nil: Toss has no payment for the order
	events  []paysaga.PaymentEvent
	saga    saga
}

// gather reads every order's payment at Toss, its audit trail and its saga, eight at a time.
func (r *run) gather(ctx context.Context, orders map[string]paysaga.Order) (map[string]*orderFacts, error) {
	out := make(map[string]*orderFacts, len(orders))
	for id, o := range orders {
		out[id] = &orderFacts{order: o}
	}
	ids := make([]string, 0, len(orders))
	for id := range orders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	work := make(chan string)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range work {
				if err := r.gatherOne(ctx, out[id]); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return out, nil
}

func (r *run) gatherOne(ctx context.Context, f *orderFacts) error {
	id := f.order.ID
	p, err := r.toss.GetPaymentByOrderID(ctx, id)
	switch {
	case toss.ErrorCode(err) == "NOT_FOUND_PAYMENT":
	case err != nil:
		return fmt.Errorf("read the payment of %s at Toss: %w", id, err)
	default:
		f.payment = p
	}
	if f.events, err = r.store.Events(ctx, id); err != nil {
		return err
	}
	f.saga, err = r.describeSaga(ctx, id)
	return err
}

// check reads the run's orders, products, reservations, events, sagas and the simulator's
// counters and checks every invariant. parkedAllowed says whether NEEDS_ATTENTION is an
// acceptable end (it is until an operator acts); drainErr is how the drain before it ended.
func (r *run) check(ctx context.Context, name string, drainErr error, parkedAllowed bool) (Phase, error) {
	ph := Phase{Name: name, Statuses: map[paysaga.OrderStatus]int{}}
	orders, err := r.orders(ctx)
	if err != nil {
		return ph, err
	}
	ph.orders = orders
	for _, o := range orders {
		ph.Statuses[o.Status]++
	}
	facts, err := r.gather(ctx, orders)
	if err != nil {
		return ph, err
	}
	stats, err := r.simStats(ctx)
	if err != nil {
		return ph, err
	}
	reservations, err := r.store.Reservations(ctx, r.productIDs()...)
	if err != nil {
		return ph, err
	}
	ids := make([]string, 0, len(orders))
	for _, c := range r.checkouts {
		if _, ok := orders[c.orderID]; ok {
			ids = append(ids, c.orderID)
		}
	}

	tossAgrees := Invariant{Name: "Toss DONE ⇔ order PAID"}
	once := Invariant{Name: "at most one approval and one cancel per order; PAID = approved once, never cancelled"}
	for _, id := range ids {
		f := facts[id]
		tossAgrees.Checked++
		once.Checked++
		done := f.payment != nil && (f.payment.Status == paysaga.PaymentDone || f.payment.Status == paysaga.PaymentPartialCanceled)
		paid := f.order.Status == paysaga.StatusPaid
		tossStatus := "no payment"
		if f.payment != nil {
			tossStatus = f.payment.Status
		}
		switch {
		case f.order.Status == paysaga.StatusNeedsAttention:
			if !parkedAllowed {
				tossAgrees.add("order %s is still NEEDS_ATTENTION (Toss: %s)", id, tossStatus)
			}
		case done != paid:
			tossAgrees.add("order %s is %s but Toss holds it %s", id, f.order.Status, tossStatus)
		}
		approvals, cancels := stats.Approvals[id], stats.Cancels[id]
		if approvals > 1 || cancels > 1 {
			once.add("order %s: %d approvals, %d cancels at Toss", id, approvals, cancels)
		}
		if paid && (approvals != 1 || cancels != 0) {
			once.add("order %s is PAID with %d approvals and %d cancels at Toss", id, approvals, cancels)
		}
	}

	stock := Invariant{Name: "stock + sold = initial stock for every product, never negative"}
	held := map[int64]int{}
	reservedBy := map[string]store.Reservation{}
	for _, res := range reservations {
		reservedBy[res.OrderID] = res
		if res.Released {
			continue
		}
		held[res.ProductID] += res.Quantity
		if st := orders[res.OrderID].Status; st != paysaga.StatusPaid && st != paysaga.StatusNeedsAttention {
			stock.add("order %s is %s but still holds %d of product %d", res.OrderID, st, res.Quantity, res.ProductID)
		}
	}
	sold := map[int64]int{}
	for _, id := range ids {
		o := orders[id]
		if o.Status != paysaga.StatusPaid {
			continue
		}
		sold[o.ProductID] += o.Quantity
		if res, ok := reservedBy[id]; !ok || res.Released || res.Quantity != o.Quantity {
			stock.add("order %s is PAID but its reservation is %+v", id, res)
		}
	}
	for _, p := range r.products {
		stock.Checked++
		now, err := r.store.GetProduct(ctx, p.ID)
		if err != nil {
			return ph, err
		}
		r.stockMu.Lock()
		lowest := min(r.minStock[p.ID], now.Stock)
		r.stockMu.Unlock()
		if lowest < 0 {
			stock.add("product %d went down to %d", p.ID, lowest)
		}
		if now.Stock+held[p.ID] != p.Initial {
			stock.add("product %d: stock %d + held %d ≠ initial %d", p.ID, now.Stock, held[p.ID], p.Initial)
		}
		if parked := held[p.ID] - sold[p.ID]; parked < 0 || (!parkedAllowed && parked != 0) {
			stock.add("product %d: %d sold but %d held", p.ID, sold[p.ID], held[p.ID])
		}
	}

	drained := Invariant{Name: "no order left CONFIRMING after drain; no saga running but the parked ones", Checked: len(ids)}
	if drainErr != nil {
		drained.add("%v", drainErr)
	}
	waiting := Invariant{Name: "every NEEDS_ATTENTION order has a waiting workflow"}
	for _, id := range ids {
		f := facts[id]
		switch {
		case f.order.Status == paysaga.StatusConfirming:
			drained.add("order %s is still CONFIRMING", id)
		case f.order.Status == paysaga.StatusNeedsAttention:
			waiting.Checked++
			if !f.saga.running || f.saga.stage != paysaga.StatusNeedsAttention || f.saga.pendingActivities > 0 {
				waiting.add("order %s is NEEDS_ATTENTION but its saga is %+v", id, f.saga)
			}
		case f.saga.running:
			drained.add("order %s is %s but its saga is still running: %+v", id, f.order.Status, f.saga)
		}
	}

	evidence := Invariant{Name: "every PAID/FAILED order has its evidence events"}
	for _, id := range ids {
		f := facts[id]
		if f.order.Status != paysaga.StatusPaid && f.order.Status != paysaga.StatusFailed {
			continue
		}
		evidence.Checked++
		if problem := evidenceProblem(f); problem != "" {
			evidence.add("order %s (%s): %s", id, f.order.Status, problem)
		}
	}

	answered := Invariant{Name: "every confirm is answered with a decision or 202, never 500 INTERNAL"}
	for _, c := range r.checkouts {
		for _, a := range c.confirms {
			answered.Checked++
			if a.HTTPStatus == 0 || a.HTTPStatus == http.StatusInternalServerError {
				answered.add("order %s: confirm answered %v %s", c.orderID, a, c.failure)
			}
		}
	}

	// Faults are cleared when the checkouts end, so a saga still queued then confirms
	// without its scenario's fault: what counts is what Toss did, not what was planned. A
	// tamper that fired shows in every later read of the payment; a decline leaves it ABORTED.
	verified := Invariant{Name: "a payment Toss reports with another amount never ends PAID"}
	agree := Invariant{Name: "concurrent confirms of one order get the same answer"}
	for _, c := range r.checkouts {
		o, ok := orders[c.orderID]
		if !ok {
			continue
		}
		if p := facts[o.ID].payment; p != nil && o.Status == paysaga.StatusPaid {
			verified.Checked++
			if !p.TotalAmount.Equal(o.Amount) {
				verified.add("order %s (%s) is PAID for %s but Toss reports %s", o.ID, r.cfg.Scenarios[c.scenario].Name, o.Amount, p.TotalAmount)
			}
		}
		if len(c.confirms) > 1 {
			agree.Checked++
			var first *answer
			for i, a := range c.confirms {
				if a.HTTPStatus == http.StatusAccepted || a.HTTPStatus == 0 {
					continue // still running, or not answered: nothing to disagree with
				}
				if first == nil {
					first = &c.confirms[i]
				} else if a != *first {
					agree.add("order %s: answers %v", o.ID, c.confirms)
					break
				}
			}
		}
	}
	ph.Invariants = []Invariant{tossAgrees, once, stock, drained, waiting, evidence, verified, agree, answered}
	return ph, nil
}

// evidenceProblem says what is missing from a settled order's audit trail, or "".
func evidenceProblem(f *orderFacts) string {
	var types []string
	byType := map[string]paysaga.PaymentEvent{}
	for _, e := range f.events {
		types = append(types, e.Type)
		byType[e.Type] = e
	}
	has := func(t string) bool { _, ok := byType[t]; return ok }
	for _, t := range []string{paysaga.EventOrderCreated, paysaga.EventBeginConfirm} {
		if !has(t) {
			return fmt.Sprintf("no %s event in %v", t, types)
		}
	}
	switch f.order.Status {
	case paysaga.StatusPaid:
		e, ok := byType[paysaga.EventPaid]
		if !ok || !has(paysaga.EventStockReserved) || has(paysaga.EventStockReleased) {
			return fmt.Sprintf("events %v", types)
		}
		ev := e.Evidence
		if ev.Client == nil || ev.DB == nil || ev.Toss == nil {
			return "the PAID event lacks the client, database or Toss side"
		}
		if ev.Toss.Status != paysaga.PaymentDone || !ev.Toss.TotalAmount.Equal(f.order.Amount) || ev.Toss.PaymentKey != f.order.PaymentKey {
			return fmt.Sprintf("the PAID event's Toss side %+v does not match the order", *ev.Toss)
		}
	case paysaga.StatusFailed:
		e, ok := byType[paysaga.EventFailed]
		if !ok {
			return fmt.Sprintf("no FAILED event in %v", types)
		}
		if e.Evidence.Code != f.order.FailureCode || e.Evidence.Client == nil || e.Evidence.DB == nil {
			return fmt.Sprintf("the FAILED event's evidence (code %q, client %t, db %t) does not back failure %s",
				e.Evidence.Code, e.Evidence.Client != nil, e.Evidence.DB != nil, f.order.FailureCode)
		}
		if has(paysaga.EventStockReserved) && !has(paysaga.EventStockReleased) {
			return fmt.Sprintf("stock reserved but never released: %v", types)
		}
	}
	return ""
}

func (inv *Invariant) add(format string, args ...any) {
	inv.Violations = append(inv.Violations, fmt.Sprintf(format, args...))
}

// simStats reads the simulator's counters (GET /sim/v1/stats).
func (r *run) simStats(ctx context.Context) (tosssim.Stats, error) {
	var st tosssim.Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.SimURL+"/sim/v1/stats", nil)
	if err != nil {
		return st, err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return st, fmt.Errorf("read simulator stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("read simulator stats: %s", resp.Status)
	}
	return st, decodeBody(resp.Body, &st)
}
