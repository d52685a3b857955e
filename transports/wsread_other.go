//go:build !unix

package transports

import (
	"bufio"
	"net"
	"time"
)

// pooledReadConn needs a file descriptor to wait on; elsewhere gorilla
// reads through its own buffer.
type pooledReadConn struct {
	net.Conn
	br *bufio.Reader
}

func newPooledReadConn(net.Conn) *pooledReadConn { return nil }

func (*pooledReadConn) wait() {}

func (*pooledReadConn) ready() bool    { return true }
func (*pooledReadConn) forgetTimeout() {}

// Writes never go around the connection's own Write here: connWriter
// writes inline only where newPooledReadConn gives it a pooledReadConn.
func (*pooledReadConn) BeginNonblocking()         {}
func (*pooledReadConn) EndNonblocking() bool      { return false }
func (*pooledReadConn) Flush(time.Duration) error { return nil }
