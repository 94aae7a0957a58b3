package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts the server's logger interface to slog. Debug and Info are dropped
// without formatting anything: the server logs every shard, queue and poller transition.
type serverLogger struct {
	out    *slog.Logger // nil: discard
	silent atomic.Bool  // set by Stop
}

var _ log.Logger = (*serverLogger)(nil)

func newServerLogger(out *slog.Logger) *serverLogger {
	return &serverLogger{out: out}
}

func (l *serverLogger) silence() { l.silent.Store(true) }

func (l *serverLogger) Debug(string, ...tag.Tag) {}
func (l *serverLogger) Info(string, ...tag.Tag)  {}

func (l *serverLogger) Warn(msg string, tags ...tag.Tag) { l.log(slog.LevelWarn, msg, tags) }

func (l *serverLogger) Error(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }

func (l *serverLogger) DPanic(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }

// Panic and Fatal must not return: the server's code after them assumes it never runs.
// Panicking (rather than os.Exit, as the server's own logger does for Fatal) lets Start
// turn a failure during construction, such as a port taken, into an error.
func (l *serverLogger) Panic(msg string, tags ...tag.Tag) {
	l.log(slog.LevelError, msg, tags)
	panic(newFatalError(msg, tags))
}

func (l *serverLogger) Fatal(msg string, tags ...tag.Tag) {
	l.log(slog.LevelError, msg, tags)
	panic(newFatalError(msg, tags))
}

func (l *serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	if l.out == nil || l.silent.Load() || !l.out.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags)+1)
	attrs = append(attrs, slog.String("component", "temporal"))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	l.out.LogAttrs(context.Background(), level, msg, attrs...)
}

// fatalError is what the server's Fatal and Panic calls become.
type fatalError struct{ msg string }

func newFatalError(msg string, tags []tag.Tag) fatalError {
	var b strings.Builder
	b.WriteString(msg)
	for _, t := range tags {
		fmt.Fprintf(&b, " %s=%v", t.Key(), t.Value())
	}
	return fatalError{msg: b.String()}
}

func (e fatalError) Error() string { return e.msg }

// isListenError reports whether the server failed to bind a port, which a second attempt on
// other free ports can fix.
func isListenError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Failed to start gRPC listener") ||
		strings.Contains(s, "failed listening for HTTP API") ||
		strings.Contains(s, "address already in use")
}
