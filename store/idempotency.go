package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/paysaga/paysaga"
)

// Idempotency records: a client's Idempotency-Key, the hash of the request it was first sent
// with, and the answer that request got.
const (
	idemInProgress = "IN_PROGRESS"
	idemDone       = "DONE"
)

type idempotencyRow struct {
	Scope          string `gorm:"primaryKey"`
	IdemKey        string `gorm:"primaryKey"`
	RequestHash    string
	Status         string
	LockedUntil    time.Time
	ResponseStatus int
	ResponseBody   string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// IdempotentResponse is the first answer to a request, kept for its repeats.
type IdempotentResponse struct {
	Status int
	Body   []byte
}

// ClaimIdempotencyKey claims key in scope (the caller: "user:7", "operator:alice") for a
// request whose canonical form hashes to requestHash. It returns (nil, nil) when the caller
// now owns the key and must run the request, then FinishIdempotencyKey or
// ReleaseIdempotencyKey. Otherwise:
//   - the stored answer, when the key's first request finished with the same hash;
//   - IDEMPOTENCY_KEY_REUSED, when the key was first used with another request;
//   - IDEMPOTENT_REQUEST_IN_PROGRESS, when its first request is still running.
//
// A claim whose owner died (its lease ran out) is taken over, so a crash between claiming
// and finishing does not block the key for good.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, scope, key, requestHash string, lease time.Duration) (*IdempotentResponse, error) {
	if scope == "" || len(scope) > 100 || key == "" || len(key) > 255 {
		return nil, paysaga.Errorf(paysaga.CodeInvalidRequest, "Idempotency-Key must be 1 to 255 characters")
	}
	var replay *IdempotentResponse
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := now()
		var row idempotencyRow
		err := tx.Where("scope = ? AND idem_key = ?", scope, key).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			err = tx.Create(&idempotencyRow{
				Scope: scope, IdemKey: key, RequestHash: requestHash, Status: idemInProgress,
				LockedUntil: t.Add(lease), CreatedAt: t, UpdatedAt: t,
			}).Error
			if isUniqueViolation(err) {
				return paysaga.Errorf(paysaga.CodeIdempotentRequestInProgress, "a request with this Idempotency-Key is in progress; retry later")
			}
			return err
		}
		if err != nil {
			return err
		}
		if row.RequestHash != requestHash {
			return paysaga.Errorf(paysaga.CodeIdempotencyKeyReused, "this Idempotency-Key was used with a different request; use a new key for a new request")
		}
		if row.Status == idemDone {
			replay = &IdempotentResponse{Status: row.ResponseStatus, Body: []byte(row.ResponseBody)}
			return nil
		}
		res := tx.Model(&idempotencyRow{}).
			Where("scope = ? AND idem_key = ? AND status = ? AND locked_until < ?", scope, key, idemInProgress, t).
			Updates(map[string]any{"locked_until": t.Add(lease), "updated_at": t})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return paysaga.Errorf(paysaga.CodeIdempotentRequestInProgress, "a request with this Idempotency-Key is in progress; retry later")
		}
		return nil
	})
	if err != nil {
		return nil, fail(err, "claim an Idempotency-Key")
	}
	return replay, nil
}

// FinishIdempotencyKey stores the answer of the request that claimed key.
func (s *Store) FinishIdempotencyKey(ctx context.Context, scope, key string, resp IdempotentResponse) error {
	err := s.db.WithContext(ctx).Model(&idempotencyRow{}).
		Where("scope = ? AND idem_key = ? AND status = ?", scope, key, idemInProgress).
		Updates(map[string]any{"status": idemDone, "response_status": resp.Status, "response_body": string(resp.Body), "updated_at": now()}).Error
	if err != nil {
		return fail(err, "store the answer of an Idempotency-Key")
	}
	return nil
}

// ReleaseIdempotencyKey forgets a claim whose request ended without an answer worth
// replaying (an internal error, a conflict that may clear): the next try runs it again.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	err := s.db.WithContext(ctx).
		Where("scope = ? AND idem_key = ? AND status = ?", scope, key, idemInProgress).
		Delete(&idempotencyRow{}).Error
	if err != nil {
		return fail(err, "release an Idempotency-Key")
	}
	return nil
}

// PurgeIdempotencyKeys forgets at most limit keys last used before cutoff and returns how
// many it forgot. A key is a promise to answer its repeats the same way for as long as a
// client may retry; past that the table would only grow. A claim whose lease still runs is
// kept, whatever its age, because its request is still being answered; an answered key's
// lease no longer matters.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	t := now()
	var rows []idempotencyRow
	err := s.db.WithContext(ctx).Select("scope", "idem_key").
		Where("updated_at < ? AND (status = ? OR locked_until < ?)", cutoff.UTC(), idemDone, t).
		Order("updated_at").Limit(limit).Find(&rows).Error
	if err != nil {
		return 0, fail(err, "find Idempotency-Keys to purge")
	}
	purged := 0
	for _, r := range rows {
		// The same conditions again: a key claimed again since the read is not purged.
		res := s.db.WithContext(ctx).
			Where("scope = ? AND idem_key = ? AND updated_at < ? AND (status = ? OR locked_until < ?)", r.Scope, r.IdemKey, cutoff.UTC(), idemDone, t).
			Delete(&idempotencyRow{})
		if res.Error != nil {
			return purged, fail(res.Error, "purge an Idempotency-Key")
		}
		purged += int(res.RowsAffected)
	}
	return purged, nil
}
