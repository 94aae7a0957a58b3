package store

import (
	"context"
	"time"

	"github.com/paysaga/paysaga"
)

// ExpireOrders moves up to limit orders that have been CREATED since before cutoff to
// EXPIRED, each in its own conditional update with an ORDER_EXPIRED event, and returns their
// IDs. An order whose confirm began in the meantime is left alone: BeginConfirm's
// CREATED → CONFIRMING and this CREATED → EXPIRED cannot both happen.
func (s *Store) ExpireOrders(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&orderRow{}).
		Where("status = ? AND created_at < ?", string(paysaga.StatusCreated), cutoff.UTC()).
		Order("created_at").Limit(limit).Pluck("order_id", &ids).Error
	if err != nil {
		return nil, fail(err, "find orders to expire")
	}
	expired := make([]string, 0, len(ids))
	for _, id := range ids {
		_, err := s.transition(ctx, id, change{
			event: paysaga.EventOrderExpired,
			to:    paysaga.StatusExpired,
		}, paysaga.Evidence{Note: "not paid within the order expiry", Extra: map[string]any{"createdBefore": cutoff.UTC().Format(time.RFC3339)}})
		if paysaga.ErrorCode(err) == paysaga.CodeOrderNotConfirmable {
			continue // its confirm began first
		}
		if err != nil {
			return expired, fail(err, "expire order %s", id)
		}
		expired = append(expired, id)
	}
	return expired, nil
}
