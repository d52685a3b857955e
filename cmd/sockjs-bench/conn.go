package main

import (
	"context"
	"net"
	"sync/atomic"
)

// session is one SockJS session as the workloads see it. A session is used
// by one goroutine at a time, except close, which may be called from
// anywhere.
type session interface {
	// send sends msgs to the server: one websocket message (or one
	// xhr_send request) holding them all; on the raw websocket one
	// message each.
	send(msgs [][]byte) error
	// recv returns the next batch of messages from the server. The slices
	// are valid until the next recv.
	recv() ([][]byte, error)
	// close ends the session (a websocket close handshake, or aborting the
	// receiving request).
	close()
}

// dialer spreads outgoing connections over several loopback source
// addresses, so that many connections do not exhaust one address's
// ephemeral ports.
type dialer struct {
	ds   []*net.Dialer
	next atomic.Uint32
}

func newDialer(srcs []net.IP) *dialer {
	d := &dialer{}
	for _, ip := range srcs {
		d.ds = append(d.ds, &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}})
	}
	if len(d.ds) == 0 {
		d.ds = append(d.ds, &net.Dialer{})
	}
	return d
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := d.ds[int(d.next.Add(1))%len(d.ds)]
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return c, nil
}
