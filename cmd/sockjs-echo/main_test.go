package main

import (
	"context"
	"fmt"
	"io"
	"net"
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

// TestQuickExit: once the sessions are closed, what is left (a connection
// that has sent nothing, which net/http counts as busy for 5 s, and a body
// trickling in) does not hold the process: run returns within a second.
func TestQuickExit(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, io.Discard, ready) }()
	addr := <-ready
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	res, err := http.Post("http://"+addr+"/echo/0/s/xhr", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	trickle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer trickle.Close()
	fmt.Fprintf(trickle, "POST /echo/0/s/xhr_send HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[\"")
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("shutdown took %v with an idle connection and a trickled body", d)
	}
}
