package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunAndShutdown: the server logs its URL, serves the services, and on
// cancellation sends open websockets a close frame and returns nil.
func TestRunAndShutdown(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, &logs, ready) }()
	addr := <-ready
	if !strings.Contains(logs.String(), "listening on http://"+addr) {
		t.Errorf("log does not give the URL: %q", logs.String())
	}
	res, err := http.Get("http://" + addr + "/echo")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "Welcome to SockJS!\n" {
		t.Fatalf("greeting %q", b)
	}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/echo/0/0/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.ReadMessage() // o
	cancel()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, m, _ := c.ReadMessage(); string(m) != `c[1001,"Going away"]` {
		t.Errorf("on shutdown the websocket got %q", m)
	}
	if err := <-done; err != nil {
		t.Fatalf("run = %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestBadFlag(t *testing.T) {
	if err := run(context.Background(), []string{"-nope"}, io.Discard, nil); err == nil {
		t.Fatal("an unknown flag was accepted")
	}
}
