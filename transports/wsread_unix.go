//go:build unix

package transports

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
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
