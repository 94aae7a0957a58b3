package chaos

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/paysaga/paysaga/tosssim"
)

// A sweep disarms only orders armed before it looked at the database: an order armed
// after that look keeps its faults even though the look did not list it.
func TestFaultBook_SweepKeepsOrdersArmedAfterItsLook(t *testing.T) {
	sim := tosssim.New(tosssim.Config{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ctx := context.Background()
	book := &faultBook{simURL: srv.URL, http: http.DefaultClient}
	noise := []tosssim.FaultRule{{Endpoint: tosssim.EndpointAny, Kind: tosssim.FaultLatency, LatencyMS: 1}}
	if err := book.start(ctx, noise); err != nil {
		t.Fatal(err)
	}
	decline := []tosssim.FaultRule{{Endpoint: tosssim.EndpointConfirm, Kind: tosssim.FaultDecline}}
	for _, id := range []string{"order-settled", "order-open"} {
		if err := book.arm(ctx, id, decline); err != nil {
			t.Fatal(err)
		}
	}
	mark := book.mark()
	if err := book.arm(ctx, "order-new", decline); err != nil { // created after the sweep's look
		t.Fatal(err)
	}
	if err := book.disarmAllBut(ctx, mark, map[string]bool{"order-open": true}); err != nil {
		t.Fatal(err)
	}

	var orders []string
	for _, f := range sim.Faults() {
		orders = append(orders, f.OrderID)
	}
	if want := []string{"order-open", "order-new", ""}; !slices.Equal(orders, want) {
		t.Fatalf("simulator fault rules are for %q, want %q (armed orders in arming order, then the noise)", orders, want)
	}
	if err := book.clear(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.Faults()); n != 0 {
		t.Fatalf("%d fault rules left after clear", n)
	}
}
