package client

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/go-sockjs/sockjs/internal/frame"
)

// readers wraps a body the ways a network may deliver it.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data+EOF", iotest.DataErrReader},
}

// drain reads every item from next until an error.
func drain(next func() ([]byte, error)) ([]string, error) {
	var got []string
	for {
		b, err := next()
		if err != nil {
			return got, err
		}
		got = append(got, string(b))
	}
}

func TestLineReader(t *testing.T) {
	prelude := strings.Repeat("h", 2048)
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name string
		body string
		max  int
		want []string
		err  error
	}{
		{name: "xhr poll", body: "o\n", want: []string{"o"}},
		{name: "streaming", body: prelude + "\no\na[\"x\"]\nh\nc[3000,\"Go away!\"]\n",
			want: []string{prelude, "o", `a["x"]`, "h", `c[3000,"Go away!"]`}},
		{name: "crlf", body: "o\r\nh\r\n", want: []string{"o", "h"}},
		{name: "empty lines", body: "\n\no\n", want: []string{"", "", "o"}},
		{name: "long line", body: "a[\"" + long + "\"]\n", want: []string{"a[\"" + long + "\"]"}},
		{name: "empty body", body: "", err: io.EOF},
		{name: "truncated", body: "o\na[\"x", want: []string{"o"}, err: io.ErrUnexpectedEOF},
		{name: "at the limit", body: "12345\n", max: 5, want: []string{"12345"}},
		{name: "over the limit", body: "123456789\n", max: 5, err: ErrFrameTooLarge},
		{name: "over the limit, long", body: long + "\n", max: 100, err: ErrFrameTooLarge},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				max := tt.max
				if max == 0 {
					max = 1 << 20
				}
				lr := newLineReader(rd.wrap(strings.NewReader(tt.body)), max)
				got, err := drain(lr.next)
				want := tt.err
				if want == nil {
					want = io.EOF
				}
				if !errors.Is(err, want) {
					t.Fatalf("error %v, want %v", err, want)
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Fatalf("lines %q, want %q", got, tt.want)
				}
			})
		}
	}
}

// sse builds an eventsource body the way SockJS servers do.
func sse(frames ...string) string {
	b := []byte("\r\n")
	for _, f := range frames {
		b = append(b, "data: "...)
		b = frame.AppendEventSourceData(b, []byte(f))
		b = append(b, "\r\n\r\n"...)
	}
	return string(b)
}

func TestSSEReader(t *testing.T) {
	long := strings.Repeat("y", 10000)
	tests := []struct {
		name string
		body string
		max  int
		want []string
		err  error
	}{
		{name: "sockjs", body: sse("o", `a["x"]`, "h", `c[3000,"Go away!"]`),
			want: []string{"o", `a["x"]`, "h", `c[3000,"Go away!"]`}},
		{name: "escapes", body: sse("a[\"%41 %25 \r\n \x00\"]", "100%"),
			want: []string{"a[\"%41 %25 \r\n \x00\"]", "100%"}},
		{name: "lower-case escapes", body: "data: %0a%0d%25%00\n\n", want: []string{"\n\r%\x00"}},
		{name: "other escapes kept", body: "data: %41%2%zz%\n\n", want: []string{"%41%2%zz%"}},
		{name: "lf", body: "data: o\n\ndata: h\n\n", want: []string{"o", "h"}},
		{name: "cr", body: "data: o\r\rdata: h\r\r", want: []string{"o", "h"}},
		{name: "mixed", body: "data: o\r\n\rdata: h\n\r\n", want: []string{"o", "h"}},
		{name: "no space", body: "data:o\n\n", want: []string{"o"}},
		{name: "two spaces", body: "data:  o\n\n", want: []string{" o"}},
		{name: "multi-line data", body: "data: a\ndata: b\n\n", want: []string{"a\nb"}},
		{name: "empty data", body: "data\n\ndata:\n\n", want: []string{"", ""}},
		{name: "comments and fields", body: ": hi\nevent: message\nid: 1\nretry: 10\ndata: o\n\n", want: []string{"o"}},
		{name: "no data, no event", body: "\r\n\r\nid: 3\n\n", want: nil},
		{name: "colon in value", body: "data: c[3000,\"a:b\"]\n\n", want: []string{`c[3000,"a:b"]`}},
		{name: "long", body: sse(long), want: []string{long}},
		{name: "truncated event", body: "data: o\n\ndata: h\n", want: []string{"o"}, err: io.ErrUnexpectedEOF},
		{name: "truncated line", body: "data: o\n\ndata: h", want: []string{"o"}, err: io.ErrUnexpectedEOF},
		{name: "over the limit", body: sse(long), max: 100, err: ErrFrameTooLarge},
		{name: "over the limit, many lines", body: strings.Repeat("data: 0123456789\n", 20) + "\n", max: 100, err: ErrFrameTooLarge},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				max := tt.max
				if max == 0 {
					max = 1 << 20
				}
				sr := newSSEReader(rd.wrap(strings.NewReader(tt.body)), max)
				got, err := drain(sr.next)
				want := tt.err
				if want == nil {
					want = io.EOF
				}
				if !errors.Is(err, want) {
					t.Fatalf("error %v, want %v", err, want)
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Fatalf("events %q, want %q", got, tt.want)
				}
			})
		}
	}
}

// A lone CR ends a line at once: the reader must not wait for the next byte
// to see whether it is an LF.
func TestSSEReaderDoesNotWaitAfterCR(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	sr := newSSEReader(pr, 1<<20)
	go pw.Write([]byte("data: o\r\r"))
	b, err := sr.next()
	if err != nil || string(b) != "o" {
		t.Fatalf("next = %q, %v", b, err)
	}
	go func() {
		pw.Write([]byte("\ndata: h\r\n\r\n"))
		pw.Close()
	}()
	b, err = sr.next()
	if err != nil || string(b) != "h" {
		t.Fatalf("next = %q, %v", b, err)
	}
	if _, err := sr.next(); err != io.EOF {
		t.Fatalf("next at the end: %v", err)
	}
}

func TestUnescapeEventData(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"%25", "%"},
		{"%2525", "%25"},
		{"%0D%0A%00", "\r\n\x00"},
		{"%0d%0a", "\r\n"},
		{"%", "%"},
		{"%2", "%2"},
		{"%41", "%41"},
		{"a%25b%0Ac%", "a%b\nc%"},
	}
	for _, tt := range tests {
		if got := string(unescapeEventData([]byte(tt.in))); got != tt.want {
			t.Errorf("unescapeEventData(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
