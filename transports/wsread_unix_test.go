//go:build unix

package transports

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan net.Conn)
	go func() {
		c, _ := ln.Accept()
		done <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-done
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestPooledReadConn: whatever the sizes of the writes and of the reads,
// the bytes arrive whole and in order, and no buffer is held between
// reads once everything written has been taken.
func TestPooledReadConn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []int // sizes written, in order
		reads  []int // sizes of the reader's buffers, cycled
	}{
		{"small into small", []int{1, 7, 32, 100}, []int{3, 512}},
		{"large into small", []int{70000}, []int{512, 14, 1}},
		{"large into large", []int{70000, 5000}, []int{8192}},
		{"mixed", []int{2, 4096, 4097, 3, 65536, 9}, []int{512, 4096, 2, 100000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := tcpPair(t)
			pc := newPooledReadConn(server)
			if pc == nil {
				t.Fatal("a TCP connection was not wrapped")
			}
			var want []byte
			for _, n := range tc.writes {
				p := make([]byte, n)
				for i := range p {
					p[i] = byte(rand.IntN(256))
				}
				want = append(want, p...)
			}
			go func() {
				off := 0
				for _, n := range tc.writes {
					client.Write(want[off : off+n])
					off += n
					time.Sleep(time.Millisecond)
				}
			}()
			var got []byte
			pc.SetReadDeadline(time.Now().Add(5 * time.Second))
			for i := 0; len(got) < len(want); i++ {
				p := make([]byte, tc.reads[i%len(tc.reads)])
				n, err := pc.Read(p)
				if err != nil {
					t.Fatalf("after %d of %d bytes: %v", len(got), len(want), err)
				}
				got = append(got, p[:n]...)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("bytes differ")
			}
			if pc.pending != nil {
				t.Fatal("a buffer is held after every byte was taken")
			}
		})
	}
}

// TestPooledReadConnEnds: end of stream, deadlines and Close surface as
// the usual errors.
func TestPooledReadConnEnds(t *testing.T) {
	client, server := tcpPair(t)
	pc := newPooledReadConn(server)
	pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := pc.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	pc.SetReadDeadline(time.Time{})
	client.Write([]byte("x"))
	client.Close()
	p := make([]byte, 10)
	if n, err := pc.Read(p); n != 1 || err != nil {
		t.Fatalf("read %d, %v; want the last byte", n, err)
	}
	if _, err := pc.Read(p); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want io.EOF", err)
	}

	_, server2 := tcpPair(t)
	pc2 := newPooledReadConn(server2)
	go func() { time.Sleep(20 * time.Millisecond); pc2.Close() }()
	if _, err := pc2.Read(p); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed connection: %v, want net.ErrClosed", err)
	}
}

// deadlineConn is the part of a msgConn that an interrupted wait touches.
type deadlineConn struct {
	msgConn
	c net.Conn
}

func (d deadlineConn) SetReadDeadline(t time.Time) error { return d.c.SetReadDeadline(t) }

// TestInterruptRestoresDeadline: an interrupted wait for data puts the read
// deadline back as it was and forgets the timeout the interrupt caused,
// unless the real deadline has passed as well: then the timeout stays, and
// a dead peer is noticed when it would have been.
func TestInterruptRestoresDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline time.Duration // from now; 0: none
		keep     bool          // the timeout is kept for the next read
	}{
		{"no deadline", 0, false},
		{"deadline ahead", time.Minute, false},
		{"deadline passed meanwhile", -time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := tcpPair(t)
			pc := newPooledReadConn(server)
			r := &connReader{conn: deadlineConn{c: server}, pc: pc}
			if tc.deadline != 0 {
				r.deadline = time.Now().Add(tc.deadline)
			}
			r.arm(armPark)
			r.Interrupt()
			r.Interrupt() // a second interrupt of the same wait does nothing more
			pc.wait()
			if !r.disarm() {
				t.Fatal("disarm: the wait was not interrupted")
			}
			r.interruptPull() // an interrupt after the wait does nothing
			if kept := pc.ready(); kept != tc.keep {
				t.Fatalf("timeout kept %v; want %v", kept, tc.keep)
			}
			if tc.keep {
				return
			}
			client.Write([]byte("x"))
			var b [1]byte
			if n, err := pc.Read(b[:]); n != 1 || err != nil {
				t.Fatalf("read after the interrupt: %d, %v", n, err)
			}
		})
	}
}
