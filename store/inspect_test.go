package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/paysaga/paysaga"
)

func TestListOrders_FiltersByProductAndStatus(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p1 := fixture(t, s, won(1000), 10)
		p2, err := s.CreateProduct(ctx, paysaga.Product{Name: "다른 상품", Price: won(2000), Stock: 10})
		if err != nil {
			t.Fatal(err)
		}
		created := newOrder(t, s, u, p1, 1)
		confirmingOrder := confirming(t, s, u, p1, 2)
		other := newOrder(t, s, u, p2, 1)

		ids := func(orders []paysaga.Order) string {
			out := make([]string, len(orders))
			for i, o := range orders {
				out[i] = o.ID
			}
			return fmt.Sprint(out)
		}
		cases := []struct {
			name string
			f    paysaga.OrderFilter
			want []paysaga.Order
		}{
			{"everything", paysaga.OrderFilter{}, []paysaga.Order{created, confirmingOrder, other}},
			{"one product", paysaga.OrderFilter{ProductIDs: []int64{p1.ID}}, []paysaga.Order{created, confirmingOrder}},
			{"one status", paysaga.OrderFilter{Statuses: []paysaga.OrderStatus{paysaga.StatusConfirming}}, []paysaga.Order{confirmingOrder}},
			{"product and status", paysaga.OrderFilter{ProductIDs: []int64{p2.ID}, Statuses: []paysaga.OrderStatus{paysaga.StatusConfirming}}, nil},
			{"two statuses", paysaga.OrderFilter{Statuses: []paysaga.OrderStatus{paysaga.StatusCreated, paysaga.StatusConfirming}}, []paysaga.Order{created, confirmingOrder, other}},
		}
		for _, c := range cases {
			got, err := s.ListOrders(ctx, c.f)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if ids(got) != ids(c.want) {
				t.Errorf("%s: got %s, want %s", c.name, ids(got), ids(c.want))
			}
		}
		got, err := s.ListOrders(ctx, paysaga.OrderFilter{Statuses: []paysaga.OrderStatus{paysaga.StatusConfirming}})
		if err != nil || len(got) != 1 || got[0].PaymentKey != confirmingOrder.PaymentKey || got[0].Quantity != 2 {
			t.Fatalf("listed order does not carry its columns: %+v, %v", got, err)
		}
	})
}

func TestReservations_ShowHeldAndReleasedStock(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 10)
		_, other := fixture(t, s, won(1000), 10)
		held := confirming(t, s, u, p, 2)
		given := confirming(t, s, u, p, 3)
		elsewhere := confirming(t, s, u, other, 1)
		for _, o := range []paysaga.Order{held, given, elsewhere} {
			if err := s.ReserveStock(ctx, o.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.ReleaseStock(ctx, given.ID); err != nil {
			t.Fatal(err)
		}

		got, err := s.Reservations(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Reservation{
			held.ID:  {OrderID: held.ID, ProductID: p.ID, Quantity: 2, Released: false},
			given.ID: {OrderID: given.ID, ProductID: p.ID, Quantity: 3, Released: true},
		}
		if len(got) != len(want) {
			t.Fatalf("reservations of product %d: %+v", p.ID, got)
		}
		for _, r := range got {
			if r != want[r.OrderID] {
				t.Errorf("reservation %+v; want %+v", r, want[r.OrderID])
			}
		}
		all, err := s.Reservations(ctx)
		if err != nil || len(all) != 3 {
			t.Fatalf("all reservations: %+v, %v", all, err)
		}
	})
}
