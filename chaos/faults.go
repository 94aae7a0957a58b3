package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/paysaga/paysaga/tosssim"
)

// faultBook keeps the simulator's fault rules: the rules of each armed order, in the order
// they were armed, then the background noise. The simulator takes the whole set on every
// change (POST /sim/v1/faults replaces it), so the book is the one source of the set.
type faultBook struct {
	simURL string
	http   *http.Client

	mu     sync.Mutex
	noise  []tosssim.FaultRule
	orders []string
	rules  map[string][]tosssim.FaultRule
	// armedAt is the arming's sequence number per order: a sweep may only disarm orders
	// armed before it looked at the database, or it would take the faults off an order
	// created (and armed) after its look, before that order's confirm.
	armedAt map[string]uint64
	seq     uint64
}

// start sets the background noise and no order's rules.
func (b *faultBook) start(ctx context.Context, noise []tosssim.FaultRule) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.noise, b.orders, b.rules, b.armedAt = noise, nil, map[string][]tosssim.FaultRule{}, map[string]uint64{}
	return b.postLocked(ctx)
}

// arm adds rules limited to orderID.
func (b *faultBook) arm(ctx context.Context, orderID string, rules []tosssim.FaultRule) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	mine := make([]tosssim.FaultRule, len(rules))
	for i, r := range rules {
		r.OrderID = orderID
		mine[i] = r
	}
	if _, ok := b.rules[orderID]; !ok {
		b.orders = append(b.orders, orderID)
	}
	b.rules[orderID] = mine
	b.seq++
	b.armedAt[orderID] = b.seq
	return b.postLocked(ctx)
}

// mark returns a point in the arming sequence, to pass to disarmAllBut.
func (b *faultBook) mark() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// disarmAllBut removes the rules of every order armed up to mark that is not in keep.
func (b *faultBook) disarmAllBut(ctx context.Context, mark uint64, keep map[string]bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	before := len(b.orders)
	b.orders = slices.DeleteFunc(b.orders, func(id string) bool {
		if keep[id] || b.armedAt[id] > mark {
			return false
		}
		delete(b.rules, id)
		delete(b.armedAt, id)
		return true
	})
	if len(b.orders) == before {
		return nil
	}
	return b.postLocked(ctx)
}

// clear removes every rule, the noise included.
func (b *faultBook) clear(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.noise, b.orders, b.rules, b.armedAt = nil, nil, map[string][]tosssim.FaultRule{}, map[string]uint64{}
	return b.send(ctx, http.MethodDelete, nil)
}

func (b *faultBook) postLocked(ctx context.Context) error {
	var set []tosssim.FaultRule
	for _, id := range b.orders {
		set = append(set, b.rules[id]...)
	}
	set = append(set, b.noise...)
	if set == nil {
		set = []tosssim.FaultRule{}
	}
	body, err := json.Marshal(set)
	if err != nil {
		return err
	}
	return b.send(ctx, http.MethodPost, body)
}

func (b *faultBook) send(ctx context.Context, method string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, b.simURL+"/sim/v1/faults", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s simulator faults: %w", method, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s simulator faults: %d %s", method, resp.StatusCode, msg)
	}
	return nil
}
