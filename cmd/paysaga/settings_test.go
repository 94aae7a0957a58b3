package main

import (
	"testing"
	"time"
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
