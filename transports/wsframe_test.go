package transports

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// parseTextFrame reads one unmasked frame as RFC 6455 section 5.2 lays it
// out, with the minimal length encoding the RFC requires.
func parseTextFrame(t *testing.T, b []byte) (payload []byte, rest []byte) {
	t.Helper()
	if len(b) < 2 || b[0] != 0x81 || b[1]&0x80 != 0 {
		t.Fatalf("not an unmasked final text frame: % x", b[:min(len(b), 4)])
	}
	n, h := int(b[1]), 2
	switch n {
	case 126:
		n, h = int(binary.BigEndian.Uint16(b[2:])), 4
		if n < 126 {
			t.Fatalf("length %d in 16 bits", n)
		}
	case 127:
		n, h = int(binary.BigEndian.Uint64(b[2:])), 10
		if n <= 0xffff {
			t.Fatalf("length %d in 64 bits", n)
		}
	}
	return b[h : h+n], b[h+n:]
}

func TestTextFrames(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 0xffff, 0x10000, 70000} {
		p := strings.Repeat("x", n)
		// In place, after headroom.
		b := append(make([]byte, wsHeadroom), p...)
		start := putTextHeader(b, wsHeadroom)
		got, rest := parseTextFrame(t, b[start:])
		if string(got) != p || len(rest) != 0 {
			t.Fatalf("putTextHeader, %d bytes: payload %d bytes, %d left over", n, len(got), len(rest))
		}
		// Appended, twice in a row.
		b = appendTextFrame(appendTextFrame([]byte("prefix"), p), "next")
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatal("appendTextFrame overwrote what was there")
		}
		got, rest = parseTextFrame(t, b[len("prefix"):])
		if string(got) != p {
			t.Fatalf("appendTextFrame, %d bytes: payload %d bytes", n, len(got))
		}
		if got, rest = parseTextFrame(t, rest); string(got) != "next" || len(rest) != 0 {
			t.Fatalf("appendTextFrame: second frame %q, %d left over", got, len(rest))
		}
	}
}
