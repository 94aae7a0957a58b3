// Package workerpool runs paysaga processes — `paysaga worker` above all, and `paysaga api`
// in the tests of the production binary — that a test or the chaos run can signal, kill
// with SIGKILL and start again, with what they log kept in memory.
//
// It links nothing of the stack it runs against, so that the chaos run can use it from a
// binary that must not carry the Temporal server.
package workerpool

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// Log collects what processes write. Several processes (and their stdout and stderr) write
// at once, and a test reads it while they do.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Tail is the last n bytes, marked with "…" when there was more.
func (l *Log) Tail(n int) string {
	s := l.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// TailLines is the last n lines.
func (l *Log) TailLines(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Contains reports whether s was written.
func (l *Log) Contains(s string) bool {
	return strings.Contains(l.String(), s)
}

// Count counts the lines that hold every one of parts.
func (l *Log) Count(parts ...string) int {
	n := 0
	for line := range strings.Lines(l.String()) {
		if containsAll(line, parts) {
			n++
		}
	}
	return n
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// JSONLine is the fields of the first JSON log line whose msg is msg, or nil.
func (l *Log) JSONLine(msg string) map[string]any {
	for line := range strings.Lines(l.String()) {
		var fields map[string]any
		if json.Unmarshal([]byte(line), &fields) == nil && fields["msg"] == msg {
			return fields
		}
	}
	return nil
}
