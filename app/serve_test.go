package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A client that trickles its request in is cut off when the answer's time is up, instead of
// holding a connection and a goroutine for as long as it likes.
func TestServe_ASlowClientIsCutOff(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	go func() {
		served <- Serve(ctx, "test", "127.0.0.1:0", handler, logger, Shutdown{Grace: time.Second, Answer: 300 * time.Millisecond})
	}()
	addrOf := regexp.MustCompile(`addr=(127\.0\.0\.1:[0-9]+)`)
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addrOf.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("the server did not say where it listens: %s", logs.String())
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	// One byte every 100 ms: the body would take 100 s.
	closed := false
	for range 50 {
		if _, err := conn.Write([]byte("x")); err != nil {
			closed = true
			break
		}
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := conn.Read(make([]byte, 512)); n > 0 || (err != nil && !isTimeout(err)) {
			closed = true // answered with an error, or hung up
			break
		}
	}
	if !closed {
		t.Fatalf("a trickling client still held its connection after %s", time.Since(start))
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	ok := false
	if e, is := err.(net.Error); is {
		ne, ok = e, true
	}
	return ok && ne.Timeout()
}
