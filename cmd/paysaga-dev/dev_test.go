package main

import (
	"strings"
	"testing"

	"github.com/paysaga/paysaga/devstack"
)

// The dev stack refuses a live key and addresses other machines reach, unless told.
func TestDevExposure_LiveKeyAndNonLoopbackNeedTheirFlags(t *testing.T) {
	base := devstack.Defaults()
	base.APIAddr, base.SimAddr, base.TossSecretKey = "127.0.0.1:8080", "localhost:8090", "test_sk_abc"
	if err := checkDevExposure(base, false, false); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	live := base
	live.TossSecretKey = "live_sk_0000"
	if err := checkDevExposure(live, false, false); err == nil || !strings.Contains(err.Error(), "live_") || strings.Contains(err.Error(), "live_sk_0000") {
		t.Fatalf("live key: %v", err)
	}
	if err := checkDevExposure(live, true, false); err != nil {
		t.Fatalf("live key allowed: %v", err)
	}
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "[::]:8080", "192.168.0.10:8080"} {
		open := base
		open.APIAddr = addr
		if err := checkDevExposure(open, false, false); err == nil || !strings.Contains(err.Error(), "API_ADDR") {
			t.Errorf("API_ADDR=%s: %v", addr, err)
		}
		if err := checkDevExposure(open, false, true); err != nil {
			t.Errorf("API_ADDR=%s allowed: %v", addr, err)
		}
	}
	v6 := base
	v6.SimAddr = "[::1]:8090"
	if err := checkDevExposure(v6, false, false); err != nil {
		t.Fatalf("IPv6 loopback: %v", err)
	}
}
