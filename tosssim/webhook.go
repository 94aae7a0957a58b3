package tosssim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// webhookSchedule is Toss's retry schedule after a failed delivery: up to 7 retries over
// about 4 days. Config.WebhookRetryScale shrinks it for tests.
var webhookSchedule = []time.Duration{
	1 * time.Minute, 4 * time.Minute, 16 * time.Minute, 64 * time.Minute,
	256 * time.Minute, 1024 * time.Minute, 4096 * time.Minute,
}

// WebhookEvent is the body POSTed to Config.WebhookURL.
type WebhookEvent struct {
	EventType string  `json:"eventType"`
	CreatedAt string  `json:"createdAt"`
	Data      Payment `json:"data"`
}

// webhookStatuses are the statuses Toss sends PAYMENT_STATUS_CHANGED for.
var webhookStatuses = map[string]bool{
	statusDone: true, statusCanceled: true, statusPartialCanceled: true,
	statusAborted: true, statusExpired: true,
}

// emitWebhook queues a PAYMENT_STATUS_CHANGED event for rec's current state. The data is
// what reads report (a tamper_amount fault shows). Events of different payments, and
// retries, may arrive out of order, as with Toss. Callers hold s.mu.
func (s *Simulator) emitWebhook(rec *record) {
	if s.cfg.WebhookURL == "" || s.closed || !webhookStatuses[rec.Status] {
		return
	}
	body, err := json.Marshal(WebhookEvent{
		EventType: "PAYMENT_STATUS_CHANGED",
		CreatedAt: tossTime(s.now()),
		Data:      rec.view(langKO, true),
	})
	if err != nil {
		return
	}
	s.stats.webhooks.Events[rec.Status]++
	s.wg.Add(1)
	go s.deliverWebhook(body, rec.OrderID)
}

func (s *Simulator) deliverWebhook(body []byte, orderID string) {
	defer s.wg.Done()
	for attempt := 0; ; attempt++ {
		if s.postWebhook(body) {
			s.mu.Lock()
			s.stats.webhooks.Delivered++
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		s.stats.webhooks.FailedAttempts++
		if attempt == len(webhookSchedule) {
			s.stats.webhooks.GivenUp++
		}
		s.mu.Unlock()
		if attempt == len(webhookSchedule) {
			s.log.Warn("tosssim webhook given up", "orderId", orderID)
			return
		}
		wait := time.Duration(float64(webhookSchedule[attempt]) * s.cfg.WebhookRetryScale)
		sleep(s.ctx, wait)
		if s.ctx.Err() != nil {
			return
		}
	}
}

// postWebhook makes one delivery attempt; only a 200 counts as delivered.
func (s *Simulator) postWebhook(body []byte) bool {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.webhooks.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode == http.StatusOK
}
