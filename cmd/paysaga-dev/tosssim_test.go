package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The standalone simulator takes its fault rules at start, so a demo or a load test can
// begin in a known failure mode without a second command.
func TestTossSimCommand_AppliesFaultRulesFileAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rules := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(rules, []byte(`[{"endpoint":"confirm","kind":"rate_limit","count":2}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runTossSim(ctx, []string{"-addr", addr, "-faults", rules}, slog.New(slog.DiscardHandler))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tosssim: %v", err)
		}
	}()

	var got []struct {
		Endpoint string `json:"endpoint"`
		Kind     string `json:"kind"`
		Count    int    `json:"count"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/sim/v1/faults")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulator did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != 1 || got[0].Endpoint != "confirm" || got[0].Kind != "rate_limit" || got[0].Count != 2 {
		t.Fatalf("fault rules at start: %+v", got)
	}
}

func TestTossSimCommand_RefusesBadFaultRulesFile(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(rules, []byte(`[{"endpoint":"confirm","kind":"no_such_kind"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runTossSim(context.Background(), []string{"-addr", "127.0.0.1:0", "-faults", rules}, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("want an error for an unknown fault kind")
	}
}
