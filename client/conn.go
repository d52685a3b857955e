package client

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// transportConn is one open transport. Its methods divide the work between
// the goroutines of a Conn:
//
//   - readFrame and release belong to the receiving side: first Dial, then
//     the Conn's receive goroutine; release is called once, after the last
//     readFrame;
//   - send belongs to the Conn's send goroutine;
//   - closeHandshake (called at most once) and abort (idempotent) may be
//     called from any goroutine, concurrently with the others. abort makes
//     every blocked readFrame and send return promptly.
type transportConn interface {
	readFrame() (inFrame, error)
	release()
	send(msgs []string) error
	closeHandshake(code int, reason string) bool
	abort()
}

// Conn is a SockJS connection to a server, returned by Dial. Its methods
// are safe for concurrent use; see the package documentation for the
// goroutines it runs and how Close ends them.
type Conn struct {
	transport Transport
	t         transportConn
	maxRecv   int
	maxSend   int

	recvDone chan struct{} // closed when the receive goroutine returns
	sendDone chan struct{} // closed when the send goroutine returns

	mu      sync.Mutex
	err     error // terminal error; nil while the connection is usable
	closing bool  // Close was called

	in      []string // received, not yet returned by Recv
	inBytes int
	inAvail signal // in gained a message, or err was set
	inSpace signal // in lost a message, or err was set

	out       []string // accepted by Send, not yet taken by the send goroutine
	outBytes  int      // out plus the batch being sent
	outQueued uint64   // messages ever accepted by Send
	outSent   uint64   // messages ever delivered
	outAvail  signal   // out gained a message, or err was set
	outDone   signal   // a batch was delivered, or err was set
}

// signal is a broadcast event usable in a select. Both methods require the
// Conn's mutex. A channel is allocated only when somebody waits.
type signal struct{ ch chan struct{} }

func (s *signal) wait() <-chan struct{} {
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) broadcast() {
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

func newConn(tr Transport, t transportConn, cfg *config) *Conn {
	c := &Conn{
		transport: tr,
		t:         t,
		maxRecv:   cfg.maxRecvQueue,
		maxSend:   cfg.maxSendQueue,
		recvDone:  make(chan struct{}),
		sendDone:  make(chan struct{}),
	}
	go c.recvLoop()
	go c.sendLoop()
	return c
}

// Transport returns the transport the connection uses.
func (c *Conn) Transport() Transport { return c.transport }

// Send queues msg for delivery to the server and returns once it is queued,
// not once the server has it (use Flush for that). Messages are delivered in
// the order their Send calls returned; messages queued while a previous
// batch is in flight go out together in the next xhr_send POST or websocket
// frame, as in sockjs-client. With WebSocketRaw each message is one
// websocket message.
//
// Send blocks while the send queue is full (see Options.MaxSendQueueBytes)
// and returns ctx.Err() if ctx is done first. After the connection has ended
// it returns the connection's terminal error (a *CloseError, matching
// ErrClosed), and after Close it returns ErrClosed. A failure to deliver a
// message that was already queued ends the connection: Recv reports it.
//
// msg may hold any bytes; valid UTF-8 is sent as is, an unpaired UTF-16
// surrogate in WTF-8 form (ED A0..BF 80..BF) is sent as the \udXXX escape,
// and other invalid UTF-8 bytes become U+FFFD. On WebSocketRaw, whose
// text messages must be UTF-8, an unpaired surrogate becomes one U+FFFD, as
// a browser's WebSocket.send does.
func (c *Conn) Send(ctx context.Context, msg string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	size := len(msg) + messageOverhead
	c.mu.Lock()
	for {
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return err
		}
		if c.outBytes == 0 || c.outBytes+size <= c.maxSend {
			c.out = append(c.out, msg)
			c.outBytes += size
			c.outQueued++
			c.outAvail.broadcast()
			c.mu.Unlock()
			return nil
		}
		ch := c.outDone.wait()
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
}

// Flush waits until every message queued by Send before the call has been
// accepted by the server (its xhr_send POST answered with a 2xx status, or
// its websocket frame written to the connection). It returns nil then, the
// connection's terminal error if the connection ends first, or ctx.Err().
func (c *Conn) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	target := c.outQueued
	for {
		if c.outSent >= target && !c.closing {
			c.mu.Unlock()
			return nil
		}
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return err
		}
		ch := c.outDone.wait()
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
}

// Recv returns the next message from the server, waiting for one if none
// is queued. It returns ctx.Err() if ctx is done first; the connection is
// not affected and Recv may be called again.
//
// Once the connection has ended, Recv first returns the messages that
// arrived before the end, then the terminal error: a *CloseError with the
// server's code and reason when the server closed the session (for
// example 3000 "Go away!"), or a 1006 *CloseError that also wraps the cause
// when the connection failed. After Close it returns ErrClosed (or the
// terminal error, if the connection had ended before Close) and drops the
// queued messages.
//
// A message may hold an unpaired UTF-16 surrogate, sent by the server as
// \udXXX, as its three WTF-8 bytes (ED A0..BF 80..BF); such a string is not
// valid UTF-8.
func (c *Conn) Recv(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	c.mu.Lock()
	for {
		if len(c.in) > 0 {
			m := c.in[0]
			c.in[0] = ""
			c.in = c.in[1:]
			c.inBytes -= len(m) + messageOverhead
			c.inSpace.broadcast()
			c.mu.Unlock()
			return m, nil
		}
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return "", err
		}
		ch := c.inAvail.wait()
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		c.mu.Lock()
	}
}

// Close ends the connection and waits until its goroutines have returned.
//
// On the websocket transports it sends a WebSocket close frame with code and
// reason and waits up to a second for the server's reply; the HTTP
// transports have no way to send a close, so their requests are simply
// aborted, which the server sees as the client going away, except an
// xhr_send POST whose answer has begun to arrive: Close waits for the rest
// of it, up to 10 seconds (aborting it then could make net/http fail another
// request on the same http.Client). Messages queued by Send and not yet
// delivered are dropped: call Flush first to deliver them.
//
// code must be 1000 or in 3000-4999 and reason at most 123 bytes, as in the
// WebSocket API; otherwise Close still closes the connection, with 1000 and
// no reason, and returns an error saying why. Close may be called more than
// once, also after the connection has ended (it then only releases
// resources); later calls return nil.
func (c *Conn) Close(code int, reason string) error {
	var err error
	if code != 1000 && (code < 3000 || code > 4999) {
		err = fmt.Errorf("sockjs client: invalid close code %d", code)
		code, reason = 1000, ""
	} else if len(reason) > maxCloseReasonBytes {
		err = fmt.Errorf("sockjs client: close reason longer than %d bytes", maxCloseReasonBytes)
		code, reason = 1000, ""
	}
	c.mu.Lock()
	first := !c.closing
	open := c.err == nil
	c.closing = true
	if open {
		c.setErrLocked(ErrClosed)
	}
	c.in = nil
	c.inBytes = 0
	c.out = nil
	c.mu.Unlock()
	if !first {
		err = nil
	} else {
		if open && c.t.closeHandshake(code, reason) {
			timer := time.NewTimer(closeHandshakeTimeout)
			select {
			case <-c.recvDone:
			case <-timer.C:
			}
			timer.Stop()
		}
		c.t.abort()
	}
	<-c.recvDone
	<-c.sendDone
	return err
}

// setErrLocked records the terminal error and wakes every waiter.
func (c *Conn) setErrLocked(err error) {
	c.err = err
	c.inAvail.broadcast()
	c.inSpace.broadcast()
	c.outAvail.broadcast()
	c.outDone.broadcast()
}

// fail ends the connection with err unless it has already ended, and stops
// the transport.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.setErrLocked(err)
	}
	c.mu.Unlock()
	c.t.abort()
}

// push queues a received message, waiting while the receive queue is full.
// It reports false once the connection has ended.
func (c *Conn) push(m string) bool {
	size := len(m) + messageOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && c.inBytes > 0 && c.inBytes+size > c.maxRecv {
		ch := c.inSpace.wait()
		c.mu.Unlock()
		<-ch
		c.mu.Lock()
	}
	if c.err != nil {
		return false
	}
	c.in = append(c.in, m)
	c.inBytes += size
	c.inAvail.broadcast()
	return true
}

// recvLoop is the receive goroutine: the only reader of the transport
// after Dial. It ends when the connection ends.
func (c *Conn) recvLoop() {
	defer close(c.recvDone)
	defer c.t.release()
	for {
		f, err := c.t.readFrame()
		if err != nil {
			c.fail(lost(reasonLost, err))
			return
		}
		switch f.kind {
		case frameHeartbeat:
		case frameOpen:
			// A second open frame: the server forgot the session and
			// started a new one (sockjs-client says the same).
			c.fail(&CloseError{Code: codeAbnormal, Reason: "Server lost session"})
			return
		case frameMessages:
			for _, m := range f.msgs {
				if !c.push(m) {
					return
				}
			}
		case frameClose:
			c.fail(&CloseError{Code: f.code, Reason: f.reason})
			return
		}
	}
}

// sendLoop is the send goroutine: the only writer to the transport. It
// takes everything queued as one batch, delivers it, and repeats.
func (c *Conn) sendLoop() {
	defer close(c.sendDone)
	for {
		c.mu.Lock()
		for c.err == nil && len(c.out) == 0 {
			ch := c.outAvail.wait()
			c.mu.Unlock()
			<-ch
			c.mu.Lock()
		}
		if c.err != nil {
			c.mu.Unlock()
			return
		}
		batch := c.out
		c.out = nil
		c.mu.Unlock()

		size := 0
		for _, m := range batch {
			size += len(m) + messageOverhead
		}
		if err := c.t.send(batch); err != nil {
			c.fail(lost(reasonSendFailed, err))
			return
		}
		c.mu.Lock()
		c.outBytes -= size
		c.outSent += uint64(len(batch))
		c.outDone.broadcast()
		c.mu.Unlock()
	}
}
