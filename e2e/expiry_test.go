package e2e

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/paysaga/paysaga/tosssim"

	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/workflows"
)

// The expiry Schedule runs the ExpireOrders sweep every minute with a 45-minute age. The
// test checks that the stack created the Schedule, then runs the same sweep workflow itself
// with a short age instead of waiting three quarters of an hour.
func TestExpiry_OldCreatedOrderExpires_ConfirmThenRefused_PaidOrderUntouched(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		ctx := context.Background()
		desc, err := c.stack.Temporal.ScheduleClient().GetHandle(ctx, workflows.ExpireOrdersScheduleID).Describe(ctx)
		if err != nil {
			t.Fatalf("the expiry schedule: %v", err)
		}
		if iv := desc.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != time.Minute {
			t.Fatalf("expiry schedule intervals: %+v", iv)
		}

		p := c.product(10000, 5)
		stale := c.createOrder(p.ID, 1, 10000)
		key := c.authorize(stale)
		_, paid := c.paidOrder(10000, 1, 5)
		time.Sleep(1500 * time.Millisecond) // both are now older than the sweep's age
		fresh := c.createOrder(p.ID, 1, 10000)

		run, err := c.stack.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: "expire-orders-test-" + stale.OrderID, TaskQueue: workflows.TaskQueue,
		}, workflows.ExpireOrders, activities.ExpireInput{MaxAge: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := run.Get(ctx, &n); err != nil || n < 1 {
			t.Fatalf("sweep: %d expired, %v", n, err)
		}
		if got := c.getOrder(stale.OrderID); got.Status != "EXPIRED" {
			t.Fatalf("stale order: %+v", got)
		}
		if got := c.getOrder(fresh.OrderID); got.Status != "CREATED" {
			t.Fatalf("fresh order: %+v", got)
		}
		if got := c.getOrder(paid.OrderID); got.Status != "PAID" {
			t.Fatalf("paid order: %+v", got)
		}
		if types := c.eventTypes(stale.OrderID); !slices.Contains(types, "ORDER_EXPIRED") {
			t.Fatalf("events: %v", types)
		}
		c.recordHistory(run.GetID(), "expiry")
		status, _, e := c.confirm(stale.OrderID, key, "10000")
		if status != http.StatusConflict || e.Code != "ORDER_NOT_CONFIRMABLE" {
			t.Fatalf("confirm of an expired order: %d %+v", status, e)
		}
		if n := c.stack.Simulator.Stats().Approvals[stale.OrderID]; n != 0 {
			t.Fatalf("an expired order was approved at Toss %d times", n)
		}
		// An expired order is closed already; cancelling it is refused.
		if a := c.cancel(stale.OrderID, map[string]any{"cancelReason": "만료"}, "", ""); a.status != http.StatusConflict {
			t.Fatalf("cancel of an expired order: %d %s", a.status, a.raw)
		}
	})
}

// A customer may take Toss's whole 30-minute payment window and the shop its 10 minutes to
// confirm: an order created at T, authenticated at T+29 min and confirmed at T+39 min is
// paid, and the expiry sweep that runs in between, with the default age, leaves it alone.
// Time moves on two clocks instead of 39 minutes passing: the order's creation is moved back
// in the database (the sweep's clock) and the simulator's clock is moved forward (Toss's).
func TestExpiry_CustomerUsesTossWindowsToTheEnd_PaidNotExpired(t *testing.T) {
	fs := stackForFailures(t)
	c := fs.shopper(t)
	ctx := context.Background()
	p := c.product(10000, 5)
	late := c.createOrder(p.ID, 1, 10000)
	// A second order, older than the default age, shows that the sweep does sweep.
	abandoned := c.createOrder(p.ID, 1, 10000)
	backdateOrder(t, c, abandoned.OrderID, workflows.DefaultOrderExpiry+time.Minute)

	// The worker first: starting it (and building the binary) takes real time, which the
	// simulator's clock counts too.
	fs.startWorker(t)
	backdateOrder(t, c, late.OrderID, 29*time.Minute)
	key := c.authorize(late) // at T+29 min
	fs.clock.Advance(tosssim.SessionTimeout - 30*time.Second)
	backdateOrder(t, c, late.OrderID, 39*time.Minute-30*time.Second)

	run, err := c.stack.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "expire-orders-windows-" + late.OrderID, TaskQueue: workflows.TaskQueue,
	}, workflows.ExpireOrders, activities.ExpireInput{MaxAge: workflows.DefaultOrderExpiry})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := run.Get(ctx, &n); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if got := c.getOrder(abandoned.OrderID); got.Status != "EXPIRED" {
		t.Fatalf("an order older than the default age: %+v", got)
	}
	if got := c.getOrder(late.OrderID); got.Status != "CREATED" {
		t.Fatalf("the order at T+39 min after the sweep: %+v", got)
	}
	status, paid, e := c.confirm(late.OrderID, key, "10000") // at T+39 min
	if status != http.StatusOK || paid.Status != "PAID" {
		t.Fatalf("confirm at T+39 min: %d %+v %+v", status, paid, e)
	}
}

// backdateOrder makes the order look created age ago to everything that reads the database.
func backdateOrder(t *testing.T, c *checkout, orderID string, age time.Duration) {
	t.Helper()
	updateOrderRow(t, c, "UPDATE orders SET created_at = $2 WHERE order_id = $1", orderID, time.Now().UTC().Add(-age))
}
