package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/paysaga/paysaga/codec"
)

// A setting that does not parse stops the command instead of quietly becoming the
// default (TOSS_TIMEOUT=30 without a unit would otherwise run with 30 s by accident).
func TestSettings_UnparsableEnvironmentValueIsAnError(t *testing.T) {
	t.Setenv("CONFIRM_WAIT", "30")
	s := newSettings("api")
	wait := s.duration("confirm-wait", "CONFIRM_WAIT", 5*time.Second, "")
	if err := s.Parse(nil); err == nil {
		t.Fatalf("want an error for CONFIRM_WAIT=30, got %s", *wait)
	}
	t.Setenv("CONFIRM_WAIT", "30s")
	s = newSettings("api")
	wait = s.duration("confirm-wait", "CONFIRM_WAIT", 5*time.Second, "")
	if err := s.Parse(nil); err != nil || *wait != 30*time.Second {
		t.Fatalf("CONFIRM_WAIT=30s: %s, %v", *wait, err)
	}
}

// An order that expires before Toss's windows close refuses a customer who paid in time, so
// a worker configured that way does not start.
func TestWorker_RefusesAnOrderExpiryShorterThanTossWindows(t *testing.T) {
	t.Setenv("TOSS_SECRET_KEY", helpTossSecret)
	t.Setenv("PAYLOAD_CODEC_KEYS", codec.FormatKeys(codec.NewKey("settings-test")))
	for _, expiry := range []string{"30m", "39m59s"} {
		t.Setenv("ORDER_EXPIRY", expiry)
		err := runWorker(context.Background(), nil, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "ORDER_EXPIRY must be at least 40m0s") {
			t.Fatalf("ORDER_EXPIRY=%s: %v", expiry, err)
		}
	}
}
