package redisbroker_test

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy forwards TCP connections to a Redis server, and can misbehave:
// refuse (accept and close at once) or stall (stop forwarding on the
// connections it has, as a dead network path would, while new ones work).
type proxy struct {
	t      *testing.T
	target string
	l      net.Listener
	refuse atomic.Bool

	mu    sync.Mutex
	links []*link
	wg    sync.WaitGroup
}

type link struct {
	client, server net.Conn
	stalled        atomic.Bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: target, l: l}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		if p.refuse.Load() {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		lk := &link{client: c, server: s}
		p.mu.Lock()
		p.links = append(p.links, lk)
		p.mu.Unlock()
		p.wg.Go(func() { lk.pump(c, s) })
		p.wg.Go(func() { lk.pump(s, c) })
	}
}

// pump copies from src to dst, and drops what it reads once the link is
// stalled.
func (lk *link) pump(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !lk.stalled.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	lk.client.Close()
	lk.server.Close()
}

// stall stops forwarding on every connection open now.
func (p *proxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, lk := range p.links {
		lk.stalled.Store(true)
	}
}

func (p *proxy) close() {
	p.l.Close()
	p.mu.Lock()
	for _, lk := range p.links {
		lk.client.Close()
		lk.server.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
