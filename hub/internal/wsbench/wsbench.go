// Package wsbench is the measuring side of the broadcast benchmarks: a
// fleet of SockJS websocket clients that count the messages they receive,
// and an in-memory listener (net.Pipe connections, no file descriptors) so
// that ten thousand websockets fit in one test process. The hub's
// benchmarks and the comparison with igm/sockjs-go (hub/internal/igmbench)
// both use it, so that they measure the same way.
package wsbench

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// PipeListener is a net.Listener whose connections are in-memory pipes
// made by Dial.
type PipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// NewPipeListener returns a listener; Close it when done.
func NewPipeListener() *PipeListener {
	return &PipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept returns the server end of the next pipe Dial makes.
func (l *PipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and Dial.
func (l *PipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr returns a placeholder address.
func (l *PipeListener) Addr() net.Addr { return pipeAddr{} }

// Dial returns the client end of a new pipe, once Accept has taken the
// server end. Its signature fits websocket.Dialer.NetDialContext.
func (l *PipeListener) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// Fleet is a set of SockJS websocket clients, each read by one goroutine
// that counts the messages of every a[...] frame. The messages must not
// contain `","`. A client can be stalled: it stops reading, as a client on
// a dead network path or a frozen browser tab would.
type Fleet struct {
	conns   []*websocket.Conn
	stalled []atomic.Bool
	active  atomic.Int64 // clients not stalled
	closing chan struct{}
	readers sync.WaitGroup

	remaining atomic.Int64
	armed     atomic.Pointer[chan struct{}]
}

// Dial opens n clients (workers at a time): clientURL(i) is the i-th
// client's websocket URL, for example ws://host/prefix/000/<id>/websocket.
// It returns once every client has received its open frame.
func Dial(ctx context.Context, d *websocket.Dialer, n, workers int, clientURL func(i int) string) (*Fleet, error) {
	f := &Fleet{conns: make([]*websocket.Conn, n), stalled: make([]atomic.Bool, n), closing: make(chan struct{})}
	f.active.Store(int64(n))
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		errMu sync.Mutex
		first error
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := dialOne(ctx, d, clientURL(i))
				if err != nil {
					errMu.Lock()
					first = cmp.Or(first, fmt.Errorf("client %d: %w", i, err))
					errMu.Unlock()
					return
				}
				f.conns[i] = c
			}
		})
	}
	wg.Wait()
	if first != nil {
		for _, c := range f.conns {
			if c != nil {
				c.Close()
			}
		}
		return nil, first
	}
	for i, c := range f.conns {
		f.readers.Go(func() { f.read(i, c) })
	}
	return f, nil
}

func dialOne(ctx context.Context, d *websocket.Dialer, url string) (*websocket.Conn, error) {
	c, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w (HTTP %s)", err, resp.Status)
		}
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, p, err := c.ReadMessage()
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, err
	}
	if string(p) != "o" {
		c.Close()
		return nil, fmt.Errorf("first frame %q, want o", p)
	}
	return c, nil
}

var sep = []byte(`","`)

func (f *Fleet) read(i int, c *websocket.Conn) {
	for {
		_, p, err := c.ReadMessage()
		if err != nil {
			return
		}
		if f.stalled[i].Load() {
			<-f.closing // read nothing more
			return
		}
		if len(p) == 0 || p[0] != 'a' {
			if len(p) > 0 && p[0] == 'c' {
				return
			}
			continue // heartbeat
		}
		k := int64(bytes.Count(p, sep) + 1)
		if f.remaining.Add(-k) == 0 {
			if ch := f.armed.Swap(nil); ch != nil {
				close(*ch)
			}
		}
	}
}

// Len returns the number of clients.
func (f *Fleet) Len() int { return len(f.conns) }

// Stall makes client i stop reading: after at most one more frame, its
// reader waits for Close. Expect no longer counts it.
func (f *Fleet) Stall(i int) {
	if !f.stalled[i].Swap(true) {
		f.active.Add(-1)
	}
}

// Expect arms the fleet: the next Wait returns once the clients that are
// not stalled have received msgs more messages each. Call it before the
// messages are sent, and not again before Wait has returned.
func (f *Fleet) Expect(msgs int) {
	ch := make(chan struct{})
	f.armed.Store(&ch)
	f.remaining.Add(int64(msgs) * f.active.Load())
}

// ErrIncomplete is returned by Wait when the messages did not all arrive.
var ErrIncomplete = errors.New("wsbench: messages missing")

// Wait waits until the messages announced by Expect have arrived, or ctx
// ends (an error wrapping ErrIncomplete says how many were missing).
func (f *Fleet) Wait(ctx context.Context) error {
	ch := f.armed.Load()
	if ch == nil {
		return nil // already complete
	}
	select {
	case <-*ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %d of the expected messages did not arrive: %w", ErrIncomplete, f.remaining.Load(), ctx.Err())
	}
}

// Close closes every client and waits for the readers to end.
func (f *Fleet) Close() {
	close(f.closing)
	for _, c := range f.conns {
		c.Close()
	}
	f.readers.Wait()
}

// Dialer returns a websocket dialer for a PipeListener (nil: real
// sockets), with small buffers, as a browser-like client would have.
func Dialer(l *PipeListener) *websocket.Dialer {
	d := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: time.Minute}
	if l != nil {
		d.NetDialContext = l.Dial
	}
	return d
}

// Serve serves h on l with an http.Server and returns a function that
// closes the listener and waits for Serve to return. Hijacked
// connections (websockets) are the handler's to close.
func Serve(l net.Listener, h http.Handler) (stop func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	return func() {
		srv.Close()
		<-done
	}
}
