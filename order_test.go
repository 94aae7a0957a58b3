package paysaga

import (
	"slices"
	"testing"
)

func TestStatusesBefore_FollowsTheTransitions(t *testing.T) {
	cases := []struct {
		to   OrderStatus
		want []OrderStatus
	}{
		{StatusConfirming, []OrderStatus{StatusCreated}},
		{StatusPaid, []OrderStatus{StatusCreated, StatusConfirming, StatusExpired, StatusNeedsAttention}},
		{StatusFailed, []OrderStatus{StatusConfirming, StatusNeedsAttention}},
		{StatusNeedsAttention, []OrderStatus{StatusConfirming, StatusPaid, StatusPartialCanceled}},
		{StatusCanceled, []OrderStatus{StatusCreated, StatusPaid, StatusPartialCanceled, StatusNeedsAttention}},
		{StatusPartialCanceled, []OrderStatus{StatusPaid, StatusPartialCanceled, StatusNeedsAttention}},
		{StatusExpired, []OrderStatus{StatusCreated}},
		{StatusCreated, nil},
	}
	for _, c := range cases {
		if got := StatusesBefore(c.to); !slices.Equal(got, c.want) {
			t.Errorf("StatusesBefore(%s) = %v, want %v", c.to, got, c.want)
		}
	}
}
