//go:build unix

package transports

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/internal/session"
)

// TestNonblockingWriteKeepsOrder: records written by an inline writer
// (non-blocking, carrying what the socket does not take) and by another
// writer (blocking, as gorilla answers pings) arrive whole, each writer's
// in order, with nothing lost, while the reader is slow enough for the
// socket to refuse bytes. Both writers take a lock around each record, as
// gorilla does around each frame.
func TestNonblockingWriteKeepsOrder(t *testing.T) {
	client, server := tcpPair(t)
	// Small socket buffers make the socket refuse bytes often. (Smaller
	// receive buffers than the loopback MSS stall TCP itself.)
	server.(*net.TCPConn).SetWriteBuffer(16 << 10)
	pc := newPooledReadConn(server)
	const n = 3000
	const size = 700 // a record: writer, sequence number, padding
	record := func(who byte, seq int) []byte {
		b := make([]byte, size)
		b[0] = who
		binary.BigEndian.PutUint32(b[1:], uint32(seq))
		for i := 5; i < size; i++ {
			b[i] = who + byte(seq+i)
		}
		return b
	}
	var gorilla sync.Mutex // gorilla's write lock
	var carried int
	var wg sync.WaitGroup
	wg.Add(2)
	errs := make(chan error, 2)
	go func() { // the write role's holder, inline
		defer wg.Done()
		for i := range n {
			// As connWriter does: non-blocking around gorilla's call,
			// which writes a frame in one or two Writes under its lock.
			pc.BeginNonblocking()
			rec := record('A', i)
			gorilla.Lock()
			_, err := pc.Write(rec[:i%size])
			if err == nil {
				_, err = pc.Write(rec[i%size:])
			}
			gorilla.Unlock()
			carrying := pc.EndNonblocking()
			if err == nil && carrying {
				carried++
				if i%2 == 0 {
					time.Sleep(20 * time.Microsecond) // the hand-over to a writer goroutine
				}
				err = pc.Flush(5 * time.Second) // the writer goroutine
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() { // the reader answering pings
		defer wg.Done()
		for i := range n / 3 {
			gorilla.Lock()
			pc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, err := pc.Write(record('B', i))
			gorilla.Unlock()
			if err != nil {
				errs <- err
				return
			}
			if i%4 == 0 {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}()
	next := map[byte]int{}
	client.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, size)
	for got := 0; got < n+n/3; got++ {
		if got%100 == 0 {
			time.Sleep(time.Millisecond) // let the socket fill
		}
		if _, err := io.ReadFull(client, buf); err != nil {
			select {
			case werr := <-errs:
				t.Fatalf("record %d: %v; a writer failed: %v", got, err, werr)
			default:
				t.Fatalf("record %d: %v", got, err)
			}
		}
		who := buf[0]
		want := record(who, next[who])
		if who != 'A' && who != 'B' || string(buf) != string(want) {
			t.Fatalf("record %d: not whole or out of order (writer %q, expected sequence %d)", got, who, next[who])
		}
		next[who]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if carried == 0 {
		t.Fatal("the socket never refused bytes: the test did not test carrying")
	}
	t.Logf("%d of %d inline writes carried bytes", carried, n)
}

// TestSendDoesNotWaitForClient: Send writes inline only without waiting
// for the socket, so a client that does not read holds Send up only once
// the queue is full, as before inline writes; everything sent arrives, in
// order, once the client reads.
func TestSendDoesNotWaitForClient(t *testing.T) {
	policy, _ := NewOriginPolicy(nil, nil)
	const count, size = 256, 64 << 10 // 16 MiB: more than loopback sockets buffer
	sent := make(chan time.Duration, 1)
	table := session.NewTable(session.Config{
		HeartbeatDelay:  time.Minute,
		DisconnectDelay: time.Second,
		AttachWait:      50 * time.Millisecond,
		MaxQueuedBytes:  64 << 20,
		MaxSessions:     10,
	}, func(s *session.Session) {
		msg := strings.Repeat("x", size-8)
		t0 := time.Now()
		for i := range count {
			if s.Send(s.Context(), fmt.Sprintf("%08d", i)+msg) != nil {
				return
			}
			time.Sleep(50 * time.Microsecond) // quiet between Sends: each may be inline
		}
		sent <- time.Since(t0)
		<-s.Context().Done()
	})
	ts := httptest.NewServer(NewServer(Config{ResponseLimit: 4096, MaxMessageBytes: 1024, WriteTimeout: 20 * time.Second,
		Origins: policy, CloseWait: time.Second}, table))
	defer ts.Close()
	defer table.Shutdown(context.Background(), session.CloseError{Code: 1001, Reason: "Going away"})
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/slow/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case d := <-sent:
		t.Logf("%d Sends of %d KiB to a client that does not read took %v", count, size>>10, d)
	case <-time.After(10 * time.Second):
		t.Fatal("Send waited for a client that does not read, with room in the queue")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	next := 0
	for next < count {
		_, m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %d messages: %v", next, err)
		}
		if string(m) == "o" {
			continue
		}
		var msgs []string
		if m[0] != 'a' || json.Unmarshal(m[1:], &msgs) != nil {
			t.Fatalf("unexpected frame %.40q", m)
		}
		for _, s := range msgs {
			if len(s) != size || s[:8] != fmt.Sprintf("%08d", next) {
				t.Fatalf("message %.12q, want number %d of %d bytes", s, next, size)
			}
			next++
		}
	}
}

// TestInlineWritesBesidePongs: a client that pings all the time while it
// reads slowly gets every message whole and in order, with its pongs,
// while the application's Sends are written inline and the socket often
// refuses bytes: the pongs (written by the session's reader) and the
// frames (written inline, carried, or by the writer) never interleave.
func TestInlineWritesBesidePongs(t *testing.T) {
	policy, _ := NewOriginPolicy(nil, nil)
	const count = 600
	size := func(i int) int { return 1 + (i*7919)%(48<<10) }
	table := session.NewTable(session.Config{
		HeartbeatDelay:  time.Minute,
		DisconnectDelay: time.Second,
		AttachWait:      50 * time.Millisecond,
		MaxQueuedBytes:  64 << 20,
		MaxSessions:     10,
	}, func(s *session.Session) {
		for i := range count {
			msg := fmt.Sprintf("%06d", i) + strings.Repeat("y", size(i))
			if s.Send(s.Context(), msg) != nil {
				return
			}
			if i%3 == 0 {
				time.Sleep(20 * time.Microsecond)
			}
		}
		<-s.Context().Done()
	})
	ts := httptest.NewServer(NewServer(Config{ResponseLimit: 4096, MaxMessageBytes: 1024, WriteTimeout: 20 * time.Second,
		Origins: policy, CloseWait: time.Second}, table))
	defer ts.Close()
	defer table.Shutdown(context.Background(), session.CloseError{Code: 1001, Reason: "Going away"})
	d := *websocket.DefaultDialer
	d.NetDial = func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(64 << 10) // the server's socket fills sooner
		}
		return c, err
	}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/pongs/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var pongs sync.WaitGroup
	stop := make(chan struct{})
	pongs.Add(1)
	go func() {
		defer pongs.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Microsecond):
			}
			if c.WriteControl(websocket.PingMessage, []byte(fmt.Sprint(i)), time.Now().Add(5*time.Second)) != nil {
				return
			}
		}
	}()
	defer func() { close(stop); pongs.Wait() }()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	next := 0
	for next < count {
		_, m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %d messages: %v", next, err)
		}
		if string(m) == "o" {
			continue
		}
		var msgs []string
		if m[0] != 'a' || json.Unmarshal(m[1:], &msgs) != nil {
			t.Fatalf("unexpected frame %.40q", m)
		}
		for _, s := range msgs {
			if len(s) != 6+size(next) || s[:6] != fmt.Sprintf("%06d", next) {
				t.Fatalf("message %.12q (%d bytes), want number %d", s, len(s), next)
			}
			next++
		}
		if next%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// teeConn keeps a copy of what is read.
type teeConn struct {
	net.Conn
	mu  sync.Mutex
	got []byte
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.got = append(c.got, p[:n]...)
	c.mu.Unlock()
	return n, err
}

// TestCompressionKeptWithDirectWrites: with WebsocketCompression on and a
// client that negotiates permessage-deflate, messages still arrive
// compressed (frames with RSV1 set): frames built by the library itself
// are only for connections without compression.
func TestCompressionKeptWithDirectWrites(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compression ", compress), func(t *testing.T) {
			ts, _ := testServer(t, func(c *Config) {
				c.WebsocketCompression = compress
				c.ReadBufferSize = 0 // gorilla reads through a pooledReadConn: frames may be written directly
			})
			var tc *teeConn
			d := websocket.Dialer{EnableCompression: true, NetDial: func(network, addr string) (net.Conn, error) {
				c, err := net.Dial(network, addr)
				if err == nil {
					tc = &teeConn{Conn: c}
					return tc, nil
				}
				return c, err
			}}
			c, _, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/deflate/websocket", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			msg := strings.Repeat("compressible ", 40)
			if err := c.WriteMessage(websocket.TextMessage, []byte(`["`+msg+`"]`)); err != nil {
				t.Fatal(err)
			}
			for {
				_, m, err := c.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				if string(m) == `a["`+msg+`"]` {
					break
				}
			}
			tc.mu.Lock()
			defer tc.mu.Unlock()
			// The raw bytes: the 101 response, then frames; the echo is the
			// last frame read.
			rsv1 := false
			b := tc.got[strings.Index(string(tc.got), "\r\n\r\n")+4:]
			for len(b) >= 2 {
				n, h := int(b[1]&0x7f), 2
				switch n {
				case 126:
					n, h = int(binary.BigEndian.Uint16(b[2:4])), 4
				case 127:
					n, h = int(binary.BigEndian.Uint64(b[2:10])), 10
				}
				rsv1 = b[0]&0x40 != 0
				b = b[h+n:]
			}
			if rsv1 != compress {
				t.Fatalf("the echo's frame has RSV1 %v with compression %v", rsv1, compress)
			}
		})
	}
}

// TestConcurrentSendersInline: goroutines sending to one session at once,
// with pauses that make some Sends write inline, others find the role
// held, and TrySend kicking a writer meanwhile: every message arrives once,
// each sender's in order.
func TestConcurrentSendersInline(t *testing.T) {
	const senders, each = 4, 400
	url := appServer(t, func(s *session.Session) {
		var wg sync.WaitGroup
		for g := range senders + 1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					msg := fmt.Sprintf("%d:%d", g, i)
					if g == senders {
						for s.TrySend(msg) == session.ErrQueueFull {
							time.Sleep(time.Millisecond)
						}
					} else if s.Send(s.Context(), msg) != nil {
						return
					}
					if i%(g+2) == 0 {
						time.Sleep(time.Duration(i%7) * 10 * time.Microsecond)
					}
				}
			}()
		}
		wg.Wait()
		<-s.Context().Done()
	})
	c := dialWS(t, url+"/0/many/websocket")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	next := make([]int, senders+1)
	for got := 0; got < (senders+1)*each; {
		_, m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %d messages: %v", got, err)
		}
		if string(m) == "o" {
			continue
		}
		var msgs []string
		if m[0] != 'a' || json.Unmarshal(m[1:], &msgs) != nil {
			t.Fatalf("unexpected frame %.40q", m)
		}
		for _, s := range msgs {
			var g, i int
			if _, err := fmt.Sscanf(s, "%d:%d", &g, &i); err != nil || g > senders || i != next[g] {
				t.Fatalf("message %q, want %d:%d", s, g, next[min(g, senders)])
			}
			next[g]++
			got++
		}
	}
}
