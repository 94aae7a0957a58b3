package app

import (
	"log/slog"
	"os"
	"strings"

	"github.com/paysaga/paysaga/telemetry"
)

// Logger is a process's logger on stderr: JSON, or text when format is "text", at level
// (info when it does not parse).
func Logger(format, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	// LogHandler adds orderId and workflowId to every line about an order's saga, and the
	// trace ID to every line of a traced request.
	if strings.EqualFold(format, "text") {
		return slog.New(telemetry.LogHandler(slog.NewTextHandler(os.Stderr, opts)))
	}
	return slog.New(telemetry.LogHandler(slog.NewJSONHandler(os.Stderr, opts)))
}
