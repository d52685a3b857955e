package client

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/go-sockjs/sockjs/internal/frame"
)

// FuzzParseFrame: parseFrame never panics, only fails with ErrProtocol,
// and what it decodes survives the server's encoding unchanged.
func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{
		"o", "h", "hhhh", "", `a[]`, `a["x","y"]`, `a["\ud800"]`, `a["\ud83d\ude00"]`, `a[ "x" ]`,
		`m"x"`, `c[3000,"Go away!"]`, `c[ 2010 , "x" ]`, `c[-0,""]`, `c[1e3,"x"]`, "a[\"\xff\"]", `a["\u0000"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseFrame(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("parseFrame(%q): error %v is not ErrProtocol", b, err)
			}
			return
		}
		var again []byte
		switch got.kind {
		case frameMessages:
			again = frame.AppendMessages(nil, got.msgs)
		case frameClose:
			again = frame.AppendClose(nil, got.code, got.reason)
		default:
			return
		}
		back, err := parseFrame(again)
		if err != nil {
			t.Fatalf("re-encoded %q as %q: %v", b, again, err)
		}
		if !reflect.DeepEqual(back, got) && !(len(back.msgs) == 0 && len(got.msgs) == 0) {
			t.Fatalf("%q -> %+v -> %q -> %+v", b, got, again, back)
		}
	})
}

// collect reads everything from next.
func collect(next func() ([]byte, error)) (items []string, err error) {
	for {
		b, err := next()
		if err != nil {
			return items, err
		}
		items = append(items, string(b))
	}
}

// sameErr compares the errors of two reads of the same body.
func sameErr(a, b error) bool {
	for _, e := range []error{io.EOF, io.ErrUnexpectedEOF, ErrFrameTooLarge} {
		if errors.Is(a, e) != errors.Is(b, e) {
			return false
		}
	}
	return true
}

// FuzzLineReader: how the body is split into reads does not change the
// lines, and every line is bounded.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte(strings.Repeat("h", 2048)+"\no\na[\"x\"]\n"), 64)
	f.Add([]byte("o\r\nh\n\n"), 1)
	f.Add([]byte("o\na[\"x"), 100)
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		max = 1 + abs(max)%5000
		whole, err1 := collect(newLineReader(strings.NewReader(string(body)), max).next)
		bytewise, err2 := collect(newLineReader(iotest.OneByteReader(strings.NewReader(string(body))), max).next)
		if !reflect.DeepEqual(whole, bytewise) || !sameErr(err1, err2) {
			t.Fatalf("whole: %q %v; one byte at a time: %q %v", whole, err1, bytewise, err2)
		}
		for _, l := range whole {
			if len(l) > max+1 || strings.Contains(l, "\n") {
				t.Fatalf("line %q (max %d)", l, max)
			}
		}
	})
}

// FuzzSSEReader: how the body is split into reads does not change the
// events.
func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("\r\ndata: o\r\n\r\ndata: a[\"%25\"]\r\n\r\n"), 100)
	f.Add([]byte("data: a\rdata: b\r\r: c\nid: 1\n\n"), 10)
	f.Add([]byte("data\n\ndata:\r\n\r"), 5)
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		max = 1 + abs(max)%5000
		whole, err1 := collect(newSSEReader(strings.NewReader(string(body)), max).next)
		bytewise, err2 := collect(newSSEReader(iotest.OneByteReader(strings.NewReader(string(body))), max).next)
		if !reflect.DeepEqual(whole, bytewise) || !sameErr(err1, err2) {
			t.Fatalf("whole: %q %v; one byte at a time: %q %v", whole, err1, bytewise, err2)
		}
		for _, e := range whole {
			if len(e) > max {
				t.Fatalf("event of %d bytes (max %d)", len(e), max)
			}
		}
	})
}

// FuzzEventSourceRoundTrip: any frame a server escapes into an event comes
// out of the reader unchanged.
func FuzzEventSourceRoundTrip(f *testing.F) {
	f.Add("o")
	f.Add("a[\"%0A %25 \r\n\x00 %\"]")
	f.Add("%%%25%2525")
	f.Fuzz(func(t *testing.T, fr string) {
		body := sse(fr, "h")
		got, err := collect(newSSEReader(iotest.HalfReader(strings.NewReader(body)), 1<<20).next)
		if err != io.EOF || len(got) != 2 || got[0] != fr || got[1] != "h" {
			t.Fatalf("%q -> %q -> %q, %v", fr, body, got, err)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n {
			return 0
		}
		return -n
	}
	return n
}
