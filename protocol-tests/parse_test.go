package protocoltests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Unit tests of the suite's own parsers; their names start with TestSuite so
// that -skip '^TestSuite' leaves them out of a server's score. Every parser
// is run over every reader mode, so that no result depends on how reads are
// split, and over bodies re-chunked at arbitrary points.

// wrapFrame wraps a frame the way a transport writes it (node's framing).
func wrapFrame(tr, text string) string {
	switch tr {
	case "xhr", "xhr_streaming":
		return text + "\n"
	case "eventsource":
		r := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", "\x00", "%00")
		return "data: " + r.Replace(text) + "\r\n\r\n"
	case "htmlfile":
		return htmlFrameStart + quoteJSON(text, false) + htmlFrameEnd
	case "jsonp":
		return "/**/callback(" + quoteJSON(text, false) + ");\r\n"
	}
	panic(tr)
}

// preludeOf is what a transport writes before its first frame.
func preludeOf(tr string) string {
	switch tr {
	case "xhr_streaming":
		return strings.Repeat("h", 2048) + "\n"
	case "eventsource":
		return "\r\n"
	case "htmlfile":
		head := htmlfileHead("callback")
		return head + strings.Repeat(" ", 1024-len(head)+13) + "\r\n\r\n"
	}
	return ""
}

// chunked encodes body with chunks of the given sizes (cycled).
func chunked(body string, sizes ...int) string {
	var b strings.Builder
	for _, piece := range split(body, sizes...) {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(piece), piece)
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// split cuts body into pieces of the given sizes (cycled), like chunked.
func split(body string, sizes ...int) []string {
	var out []string
	for i := 0; body != ""; i++ {
		n := min(sizes[i%len(sizes)], len(body))
		out = append(out, body[:n])
		body = body[n:]
	}
	return out
}

// modeReader returns a buffered reader over s split by mode.
func modeReader(m readerMode, s string) *bufio.Reader {
	return bufio.NewReaderSize(m.wrap(strings.NewReader(s)), 16)
}

// sampleFrames are frames with the contents that tend to break framing.
var sampleFrames = []string{
	"o",
	"h",
	`a["x"]`,
	`a["a","b","c"]`,
	`a["\"\\\/\b\f\n\r\t\u0000\u001f"]`,
	`a["%41 %25 % 100%"]`,
	`a["</script><!-- -->"]`,
	`a["\u2028\u2029\ufffe\uffff\ud800"]`,
	"a[\"é€𝄞\"]",
	`a["` + strings.Repeat("x", 5000) + `"]`,
	goAwayFrame,
}

func TestSuiteChunkReader(t *testing.T) {
	t.Parallel()
	body := "first chunk\nsecond" + strings.Repeat("z", 5000)
	for m := readerMode(0); m < numReaderModes; m++ {
		for _, sizes := range [][]int{{1}, {3, 7}, {2048, 1}, {100000}} {
			t.Run(fmt.Sprintf("%v/%v", m, sizes), func(t *testing.T) {
				enc := chunked(body, sizes...)
				cr := &chunkReader{br: modeReader(m, enc)}
				var got []string
				for {
					b, err := cr.next()
					if err == io.EOF {
						break
					}
					noErr(t, err)
					got = append(got, string(b))
				}
				check(t, slices.Equal(got, split(body, sizes...)), "chunks %d, want %d split at %v", len(got), len(split(body, sizes...)), sizes)
				all, err := io.ReadAll(&chunkReader{br: modeReader(m, enc)})
				noErr(t, err)
				eq(t, "Read", string(all), body)
			})
		}
	}
}

func TestSuiteChunkReaderExtensionsAndTrailers(t *testing.T) {
	t.Parallel()
	enc := "5;name=value\r\nhello\r\n6 \r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT"
	for m := readerMode(0); m < numReaderModes; m++ {
		br := modeReader(m, enc)
		cr := &chunkReader{br: br}
		a, err := cr.next()
		noErr(t, err)
		b, err := cr.next()
		noErr(t, err)
		eq(t, "chunks", string(a)+string(b), "hello world")
		_, err = cr.next()
		eq(t, "end", err, io.EOF)
		rest, _ := io.ReadAll(br)
		eq(t, "bytes after the body", string(rest), "NEXT")
	}
}

func TestSuiteChunkReaderErrors(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"bad size":       "zz\r\nhello\r\n0\r\n\r\n",
		"empty size":     "\r\nhello\r\n0\r\n\r\n",
		"no CRLF":        "5\r\nhelloX\r\n0\r\n\r\n",
		"bare LF":        "5\nhello\r\n0\r\n\r\n",
		"truncated data": "5\r\nhel",
		"no last chunk":  "5\r\nhello\r\n",
		"huge":           "7fffffffffff\r\n",
	}
	for name, enc := range bad {
		for m := readerMode(0); m < numReaderModes; m++ {
			_, err := io.ReadAll(&chunkReader{br: modeReader(m, enc)})
			check(t, err != nil, "%s (%v): no error", name, m)
		}
	}
}

func TestSuiteReadResponseHead(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, head, method, proto string
		status                    int
		kind                      bodyKind
		wantErr                   bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", "GET", "", 200, bodyLength, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n", "POST", "", 200, bodyChunked, false},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", "GET", "", 200, bodyEOF, false},
		{"http10", "HTTP/1.0 200 OK\r\n\r\n", "GET", "HTTP/1.0", 200, bodyEOF, false},
		{"204", "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n", "POST", "", 204, bodyNone, false},
		{"options 200", "HTTP/1.1 200 OK\r\n\r\n", "OPTIONS", "", 200, bodyNone, false},
		{"no framing", "HTTP/1.1 200 OK\r\n\r\n", "GET", "", 0, 0, true},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", "GET", "", 0, 0, true},
		{"not http", "SPDY/3 200 OK\r\n\r\n", "GET", "", 0, 0, true},
	}
	for _, c := range cases {
		for m := readerMode(0); m < numReaderModes; m++ {
			rc := &rawConn{br: modeReader(m, c.head)}
			r, err := rc.readResponse(c.method, c.proto)
			if c.wantErr {
				check(t, err != nil, "%s (%v): no error", c.name, m)
				continue
			}
			noErr(t, err)
			eq(t, c.name+" status", r.status, c.status)
			eq(t, c.name+" body kind", r.kind, c.kind)
		}
	}
}

func TestSuiteDecoders(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"xhr", "xhr_streaming", "eventsource", "htmlfile", "jsonp"} {
		frames := sampleFrames
		if tr == "xhr" || tr == "jsonp" {
			frames = frames[2:3] // polling: one frame per response
		}
		var body strings.Builder
		body.WriteString(preludeOf(tr))
		for _, f := range frames {
			body.WriteString(wrapFrame(tr, f))
		}
		for m := readerMode(0); m < numReaderModes; m++ {
			for _, sizes := range [][]int{nil, {1}, {5, 1, 2}, {4095}} {
				enc := body.String()
				if sizes != nil {
					enc = chunked(enc, sizes...)
				}
				t.Run(fmt.Sprintf("%s/%v/%v", tr, m, sizes), func(t *testing.T) {
					var src io.Reader = m.wrap(strings.NewReader(enc))
					if sizes != nil {
						src = m.wrap(&chunkReader{br: bufio.NewReaderSize(src, 16)})
					}
					dec := newDecoder(tr, src)
					for i, want := range frames {
						got, err := dec.next()
						noErr(t, err)
						eq(t, fmt.Sprintf("frame %d", i), got, want)
						_, err = parseFrame(got)
						noErr(t, err)
					}
					_, err := dec.next()
					eq(t, "end", err, io.EOF)
				})
			}
		}
	}
}

func TestSuiteDecoderErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ tr, body string }{
		{"xhr_streaming", strings.Repeat("h", 2047) + "\no\n"},
		{"xhr_streaming", preludeOf("xhr_streaming") + "o"},
		{"xhr", "o"},
		{"eventsource", "\r\ndata: a[\"100%\"]\r\n\r\n"},
		{"eventsource", "\r\ndata: a[\"%4\"]\r\n\r\n"},
		{"eventsource", "\r\ndata: a[\"x\ry\"]\r\n\r\n"},
		{"eventsource", "\r\ndata: o\r\ndata: h\r\n\r\n"},
		{"eventsource", "\r\ndata: o\r\n"},
		{"htmlfile", preludeOf("htmlfile") + "<script>\np(\"o\");</script>\r\n"},
		{"htmlfile", preludeOf("htmlfile") + "<script>\np(\"o"},
		{"jsonp", "/**/a b(\"o\");\r\n"},
		{"jsonp", "/**/cb(\"o\");\r\nextra"},
		{"jsonp", "/**/cb(o);\r\n"},
	}
	for _, c := range cases {
		for m := readerMode(0); m < numReaderModes; m++ {
			dec := newDecoder(c.tr, m.wrap(strings.NewReader(c.body)))
			var err error
			for i := 0; i < 3 && err == nil; i++ {
				_, err = dec.next()
			}
			check(t, err != nil && err != io.EOF, "%s %q (%v): want an error, got %v", c.tr, clip(c.body), m, err)
		}
	}
}

func TestSuitePercentDecode(t *testing.T) {
	t.Parallel()
	good := map[string]string{"": "", "abc": "abc", "%25": "%", "%0D%0a%00": "\r\n\x00", "a%2541": "a%41"}
	for in, want := range good {
		got, err := percentDecode(in)
		noErr(t, err)
		eq(t, "percentDecode("+in+")", got, want)
	}
	for _, in := range []string{"%", "%4", "%zz", "100%"} {
		_, err := percentDecode(in)
		check(t, err != nil, "percentDecode(%q): no error", in)
	}
}

func TestSuiteJSONStrings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		value string
	}{
		{"empty", ""},
		{"ascii", "hello"},
		{"escapes", "\"\\/\b\f\n\r\t\x00\x1f\x7f"},
		{"bmp", "é€\u2028\u2029\ufeff\ufffe\uffff"},
		{"astral", "𝄞😀"},
		{"lone high", wtf8(0xd800)},
		{"lone low", wtf8(0xdfff)},
		{"reversed pair", wtf8(0xdc00, 0xd800)},
		{"high then ascii", wtf8(0xd83d, 'x')},
		{"pair via units", wtf8(0xd83d, 0xde00)},
	}
	for _, c := range cases {
		for _, ascii := range []bool{false, true} {
			q := quoteJSON(c.value, ascii)
			if ascii {
				check(t, isASCII(q), "%s: quoteJSON(ascii) gave non-ASCII %q", c.name, q)
			}
			got, rest, err := decodeJSONString(q + " ,")
			noErr(t, err)
			eq(t, c.name+" round trip", got, c.value)
			eq(t, c.name+" rest", rest, " ,")
		}
	}
	eq(t, "pair via units", wtf8(0xd83d, 0xde00), "😀")
	eq(t, "units of a lone surrogate", fmt.Sprint(units(wtf8(0xd800, 'a'))), "[55296 97]")
	for _, bad := range []string{`"abc`, `"\x"`, `"\u12"`, "\"a\nb\"", `abc`, "\"\xff\""} {
		_, _, err := decodeJSONString(bad)
		check(t, err != nil, "decodeJSONString(%q): no error", bad)
	}
}

func TestSuiteDecodeMessages(t *testing.T) {
	t.Parallel()
	good := map[string][]string{
		`[]`:               {},
		` [ ] `:            {},
		`["a"]`:            {"a"},
		`[ "a" , "b\"" ]`:  {"a", "b\""},
		`["\ud800","\n"]`:  {wtf8(0xd800), "\n"},
		`["\u00e9","é"]`:   {"é", "é"},
		"[\"\\u2028\"]\n":  {"\u2028"},
		`["x","y","","z"]`: {"x", "y", "", "z"},
	}
	for in, want := range good {
		got, err := decodeMessages(in)
		noErr(t, err)
		check(t, slices.Equal(got, want), "decodeMessages(%q) = %q, want %q", in, got, want)
	}
	for _, bad := range []string{``, `[`, `["a"`, `["a",]`, `[1]`, `["a"] x`, `{"a":1}`, `["a" "b"]`} {
		_, err := decodeMessages(bad)
		check(t, err != nil, "decodeMessages(%q): no error", bad)
	}
}

func TestSuiteParseFrame(t *testing.T) {
	t.Parallel()
	for _, s := range sampleFrames {
		f, err := parseFrame(s)
		noErr(t, err)
		eq(t, "kind of "+clip(s), f.kind, s[0])
	}
	f, err := parseFrame(`c[3000,"Go away!"]`)
	noErr(t, err)
	eq(t, "code", f.code, 3000)
	eq(t, "reason", f.reason, "Go away!")
	f, err = parseFrame(`c[ 2010 , "Another connection still open" ]`)
	noErr(t, err)
	eq(t, "code", f.code, 2010)
	for _, bad := range []string{"", "x", "oo", "h ", "a", `a"x"`, "c", `c[3000]`, `c["x","y"]`, `c[3000,"a"`, `c[3000,"a"]x`} {
		_, err := parseFrame(bad)
		check(t, err != nil, "parseFrame(%q): no error", bad)
	}
}

// FuzzDecodeMessages checks the suite's message decoder against
// encoding/json wherever both apply: valid UTF-8 and no surrogate escapes.
func FuzzDecodeMessages(f *testing.F) {
	for _, s := range []string{`[]`, `["a"]`, `["\u00e9","\n"]`, `["\"\\"]`, ` [ "a" , "b" ] `, `["é€"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := decodeMessages(s)
		if !utf8.ValidString(s) || strings.Contains(strings.ToLower(s), `\ud`) {
			return
		}
		var want []string
		jerr := json.Unmarshal([]byte(s), &want)
		if (err == nil) != (jerr == nil) {
			// encoding/json also accepts `null`, and raw DEL and control
			// bytes differ in no case that matters here.
			if jerr == nil && want == nil {
				return
			}
			t.Fatalf("decodeMessages(%q) error %v, encoding/json error %v", s, err, jerr)
		}
		if err == nil && !slices.Equal(got, want) {
			t.Fatalf("decodeMessages(%q) = %q, encoding/json gives %q", s, got, want)
		}
		if err == nil {
			again, err := decodeMessages(encodeMessages(false, got...))
			if err != nil || !slices.Equal(again, got) {
				t.Fatalf("re-encoding %q: %q, %v", got, again, err)
			}
		}
	})
}

// TestSuiteReaderModes checks that the modes really split reads as advertised.
func TestSuiteReaderModes(t *testing.T) {
	t.Parallel()
	src := bytes.Repeat([]byte("0123456789"), 10)
	for m := readerMode(0); m < numReaderModes; m++ {
		r := m.wrap(bytes.NewReader(src))
		buf := make([]byte, 64)
		n, err := r.Read(buf)
		noErr(t, err)
		want := map[readerMode]int{readPlain: 64, readOneByte: 1, readHalf: 32, readOdd: 7}[m]
		eq(t, m.String()+" first read", n, want)
	}
	// The random test below uses the same property on many sizes.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		body := strings.Repeat("x", rng.IntN(9000))
		sizes := []int{1 + rng.IntN(5000), 1 + rng.IntN(7)}
		all, err := io.ReadAll(&chunkReader{br: modeReader(readerMode(i%int(numReaderModes)), chunked(body, sizes...))})
		if err != nil || string(all) != body {
			t.Fatalf("random chunking %v of %d bytes: %v", sizes, len(body), err)
		}
	}
}
