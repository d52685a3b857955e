package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/cookiejar"
	"time"

	"github.com/go-sockjs/sockjs/client"
)

// Connect to an echo service, send a message and read the answer.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.Dial(ctx, "http://localhost:8081/echo", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(1000, "bye")

	if err := c.Send(ctx, "hello"); err != nil {
		log.Fatal(err)
	}
	msg, err := c.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Transport(), msg)
}

// Read until the server closes the session, and tell a close by the
// server from a broken connection.
func ExampleConn_Recv() {
	ctx := context.Background()
	c, err := client.Dial(ctx, "http://localhost:8081/close", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(1000, "")

	for {
		msg, err := c.Recv(ctx)
		var ce *client.CloseError
		switch {
		case err == nil:
			fmt.Println("message:", msg)
			continue
		case errors.As(err, &ce) && ce.Code != 1006:
			fmt.Println("closed by the server:", ce.Code, ce.Reason) // 3000 Go away!
		case errors.Is(err, client.ErrClosed):
			fmt.Println("connection lost:", err)
		default:
			fmt.Println("error:", err)
		}
		return
	}
}

// Force one transport, keep cookies (JSESSIONID for sticky load balancers)
// and authenticate every request.
func ExampleOptions() {
	jar, err := cookiejar.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	opts := &client.Options{
		Transports: []client.Transport{client.XHRStreaming},
		HTTPClient: &http.Client{Jar: jar},
		Header:     http.Header{"Authorization": {"Bearer token"}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "https://example.com/sockjs", opts)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(1000, "")
	fmt.Println(c.Transport()) // xhr-streaming
}

// Send a burst of messages and wait until the server has all of them.
func ExampleConn_Flush() {
	ctx := context.Background()
	c, err := client.Dial(ctx, "http://localhost:8081/echo", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(1000, "")
	for i := range 100 {
		if err := c.Send(ctx, fmt.Sprint(i)); err != nil {
			log.Fatal(err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		log.Fatal(err)
	}
}
