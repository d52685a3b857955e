//go:build !unix

package transports

import (
	"bufio"
	"net"
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
