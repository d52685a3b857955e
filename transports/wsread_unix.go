//go:build unix

package transports

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// pooledReadConn is the connection gorilla reads a websocket from. It waits
// for data without holding a buffer, then reads the socket into a pooled
// buffer that it gives back as soon as gorilla has taken every byte: an
// idle connection holds no read buffer, a busy one still reads in 4 KiB
// (or larger) gulps. Large reads go straight into the caller's buffer.
// Like any net.Conn read side, it has one reader at a time (whoever holds
// the session's read role, see connReader); writes and Close go to the
// embedded connection.
type pooledReadConn struct {
	net.Conn
	rc      syscall.RawConn
	readFD  func(fd uintptr) bool // c.read, allocated once
	br      *bufio.Reader         // gorilla's buffer, which reads from this
	pending *[]byte               // bytes read but not yet taken: (*pending)[off:]
	off     int
	n       int   // result of the last readFD
	err     error // result of the last readFD
	later   error // an error found by wait, for the next Read

	// The write side (see Write): every write to the connection goes
	// through wmu, in the order the writers take it.
	wmu      sync.Mutex
	nonblock atomic.Bool  // set by the write role's holder around an inline write
	carry    *[]byte      // bytes accepted by a non-blocking Write, not yet on the socket; guarded by wmu
	wdl      atomic.Int64 // the write deadline asked for (UnixNano, 0: none)
	applied  int64        // the write deadline the socket has; guarded by wmu
	wrote    int          // result of the last writeFD
	werr     error        // result of the last writeFD
	wp       []byte       // argument of the next writeFD
	writeFD  func(fd uintptr) bool
}

// newPooledReadConn wraps conn, or returns nil when conn has no file
// descriptor to wait on (TLS, pipes, custom listeners).
func newPooledReadConn(conn net.Conn) *pooledReadConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	c := &pooledReadConn{Conn: conn, rc: rc}
	c.readFD = c.read
	c.writeFD = c.writeOnce
	return c
}

func (c *pooledReadConn) Read(p []byte) (int, error) {
	if c.pending == nil {
		if err := c.later; err != nil {
			c.later = nil
			return 0, err
		}
		if len(p) >= 4096 {
			return c.Conn.Read(p) // no point in copying
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*c.pending)[c.off:])
	c.off += n
	if c.off == len(*c.pending) {
		putBuf(c.pending)
		c.pending = nil
	}
	return n, nil
}

// wait blocks until there is something to read, unless bytes are buffered
// already, and reads it into c.pending; an error is kept for the next
// Read. The session's reader calls it between messages, so that an idle
// reader waits in a shallow stack rather than deep in gorilla's read path:
// its stack stays small (the garbage collector shrinks it), and so does
// the starting stack size the runtime derives from the average goroutine.
func (c *pooledReadConn) wait() {
	if c.ready() {
		return
	}
	c.later = c.fill()
}

// fill waits for the socket to be readable and reads what it has into
// c.pending, holding no buffer while it waits.
func (c *pooledReadConn) fill() error {
	if err := c.rc.Read(c.readFD); err != nil {
		return err // the deadline passed or the connection was closed
	}
	switch {
	case c.err != nil:
		putBuf(c.pending)
		c.pending = nil
		return os.NewSyscallError("read", c.err)
	case c.n == 0:
		putBuf(c.pending)
		c.pending = nil
		return io.EOF
	}
	*c.pending = (*c.pending)[:c.n]
	c.off = 0
	return nil
}

// read is RawConn.Read's callback: it reads what the socket has into a
// pooled buffer (left in c.pending), or, when there is nothing, gives the
// buffer back and asks to be called again once the socket is readable.
func (c *pooledReadConn) read(fd uintptr) bool {
	buf := getBuf()
	var n int
	var err error
	for {
		n, err = syscall.Read(int(fd), (*buf)[:cap(*buf)])
		if err != syscall.EINTR {
			break
		}
	}
	if err == syscall.EAGAIN {
		putBuf(buf)
		return false
	}
	if n < 0 {
		n = 0
	}
	c.pending, c.n, c.err = buf, n, err
	return true
}

// ready reports whether a Read would return at once: bytes or an error
// are waiting.
func (c *pooledReadConn) ready() bool {
	return c.pending != nil || c.later != nil || (c.br != nil && c.br.Buffered() > 0)
}

// forgetTimeout forgets a passed read deadline that wait kept for the next
// Read: the deadline was set in the past only to cut the wait short.
func (c *pooledReadConn) forgetTimeout() {
	if errors.Is(c.later, os.ErrDeadlineExceeded) {
		c.later = nil
	}
}

// Writes. gorilla writes every frame with one or two calls to Write,
// holding its own write lock, so frames never interleave on the socket;
// the write role's holder, the reader answering a ping and gorilla's close
// handler are the writers. Between BeginNonblocking and EndNonblocking
// (the write role's holder writing from Send's goroutine, see
// connWriter.sendPush) a Write does not wait for the socket: what the
// socket does not take at once is kept in carry and Write reports success.
//
// Invariant: the bytes reach the socket in the order of the Write calls.
// carry, when not empty, holds the oldest bytes not yet on the socket;
// every Write puts carry on the socket before its own bytes (a
// non-blocking one appends to carry instead if carry is still not empty),
// and EndNonblocking reports a non-empty carry, so that its caller has a
// goroutine that may wait put it on the socket (Flush). All of it happens
// under wmu.

// Write writes p after whatever is carried.
func (c *pooledReadConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.nonblock.Load() {
		return c.writeNonblocking(p)
	}
	c.applyDeadline(c.wdl.Load())
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// SetWriteDeadline sets the deadline of the writes that may wait for the
// socket. The socket gets it when such a write comes (applyDeadline): a
// non-blocking write needs none, and setting one costs a timer update,
// once per frame where gorilla sets it.
func (c *pooledReadConn) SetWriteDeadline(t time.Time) error {
	var d int64
	if !t.IsZero() {
		d = t.UnixNano()
	}
	c.wdl.Store(d)
	return nil
}

// applyDeadline gives the socket the write deadline d, unless it has it.
// wmu is held.
func (c *pooledReadConn) applyDeadline(d int64) {
	if d == c.applied {
		return
	}
	t := time.Time{}
	if d != 0 {
		t = time.Unix(0, d)
	}
	c.Conn.SetWriteDeadline(t)
	c.applied = d
}

// BeginNonblocking makes Writes stop waiting for the socket.
func (c *pooledReadConn) BeginNonblocking() { c.nonblock.Store(true) }

// EndNonblocking makes Writes wait for the socket again and reports
// whether bytes are carried: the caller must then have them flushed.
func (c *pooledReadConn) EndNonblocking() (carrying bool) {
	c.wmu.Lock()
	c.nonblock.Store(false)
	carrying = c.carry != nil
	c.wmu.Unlock()
	return carrying
}

// Flush puts carried bytes on the socket, waiting for it at most timeout.
func (c *pooledReadConn) Flush(timeout time.Duration) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.carry == nil {
		return nil
	}
	c.applyDeadline(time.Now().Add(timeout).UnixNano())
	return c.flushLocked()
}

// flushLocked writes carry, waiting for the socket under the deadline
// already set. wmu is held.
func (c *pooledReadConn) flushLocked() error {
	if c.carry == nil {
		return nil
	}
	b := c.carry
	c.carry = nil
	_, err := c.Conn.Write(*b)
	putBuf(b)
	return err
}

// writeNonblocking writes what the socket takes of carry and then p at
// once, and carries the rest. wmu is held.
func (c *pooledReadConn) writeNonblocking(p []byte) (int, error) {
	if c.carry != nil {
		n, err := c.writeNow(*c.carry)
		if err != nil {
			return 0, err
		}
		if n < len(*c.carry) {
			rest := copy(*c.carry, (*c.carry)[n:])
			*c.carry = append((*c.carry)[:rest], p...)
			return len(p), nil
		}
		putBuf(c.carry)
		c.carry = nil
	}
	n, err := c.writeNow(p)
	if err != nil {
		return n, err
	}
	if n < len(p) {
		c.carry = getBuf()
		*c.carry = append((*c.carry)[:0], p[n:]...)
	}
	return len(p), nil
}

// writeNow makes one attempt at writing p, without waiting: n is what the
// socket took, maybe 0.
func (c *pooledReadConn) writeNow(p []byte) (int, error) {
	c.wp = p
	err := c.rc.Write(c.writeFD)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline of an earlier write that could wait has passed:
		// this one does not wait, and has none.
		c.applyDeadline(0)
		err = c.rc.Write(c.writeFD)
	}
	c.wp = nil
	if err == nil {
		err = c.werr
	}
	if err == syscall.EAGAIN {
		return c.wrote, nil
	}
	if err != nil {
		return c.wrote, &net.OpError{Op: "write", Net: "tcp", Addr: c.RemoteAddr(), Err: os.NewSyscallError("write", err)}
	}
	return c.wrote, nil
}

// writeOnce is RawConn.Write's callback: one write system call, retried
// only when interrupted; it never asks to wait.
func (c *pooledReadConn) writeOnce(fd uintptr) bool {
	var n int
	var err error
	for {
		n, err = syscall.Write(int(fd), c.wp)
		if err != syscall.EINTR {
			break
		}
	}
	if n < 0 {
		n = 0
	}
	c.wrote, c.werr = n, err
	return true
}
