package protocoltests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A frameDecoder takes the frames out of one receiving response body. next
// returns the text of the next frame, io.EOF at a clean end of the body.
// Decoders accept the framing of every server the suite has met, but no
// more: they are not where conformance is judged (the tests compare the raw
// bytes where the framing itself is the subject).
type frameDecoder interface {
	next() (string, error)
}

// newDecoder returns the decoder for a transport's body.
func newDecoder(transport string, body io.Reader) frameDecoder {
	br := bufio.NewReaderSize(body, 64<<10)
	switch transport {
	case "xhr":
		return &lineDecoder{br: br}
	case "xhr_streaming":
		return &lineDecoder{br: br, prelude: true}
	case "eventsource":
		return &eventDecoder{br: br}
	case "htmlfile":
		return &htmlDecoder{br: br}
	case "jsonp":
		return &jsonpDecoder{br: br}
	}
	panic("protocol-tests: no decoder for " + transport)
}

// lineDecoder reads xhr and xhr_streaming bodies: frames each ending in
// "\n"; xhr_streaming starts with 2048 'h' bytes and "\n".
type lineDecoder struct {
	br      *bufio.Reader
	prelude bool
}

func (d *lineDecoder) next() (string, error) {
	if d.prelude {
		d.prelude = false
		line, err := d.br.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("xhr_streaming prelude: %w", noEOF(err))
		}
		if line != strings.Repeat("h", 2048)+"\n" {
			return "", fmt.Errorf("xhr_streaming prelude is %q, want 2048 'h' and a newline", clip(line))
		}
	}
	line, err := d.br.ReadString('\n')
	if err == io.EOF && line == "" {
		return "", io.EOF
	}
	if err != nil {
		return "", fmt.Errorf("frame %q: %w", clip(line), noEOF(err))
	}
	return line[:len(line)-1], nil
}

// eventDecoder reads eventsource bodies: a "\r\n" prelude, then events made
// of "data: " lines ending in a blank line. Event data is percent-decoded the
// way sockjs-client does it (decodeURI): a literal '%' must arrive as %25.
type eventDecoder struct {
	br *bufio.Reader
}

func (d *eventDecoder) next() (string, error) {
	var data []string
	started := false
	for {
		line, err := d.br.ReadString('\n')
		if err == io.EOF && line == "" && !started {
			return "", io.EOF
		}
		if err != nil {
			return "", fmt.Errorf("event stream line %q: %w", clip(line), noEOF(err))
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if strings.ContainsAny(line, "\r\x00") {
			return "", fmt.Errorf("event stream line %q contains a raw CR or NUL", clip(line))
		}
		if line == "" {
			if !started {
				continue // the prelude, or an empty event
			}
			break
		}
		started = true
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "data":
			data = append(data, value)
		case "", "event", "id", "retry":
			// comments and fields SockJS does not use
		default:
			return "", fmt.Errorf("unexpected event stream field %q", clip(line))
		}
	}
	if len(data) != 1 {
		return "", fmt.Errorf("event with %d data lines, want 1: %q", len(data), data)
	}
	return percentDecode(data[0])
}

// percentDecode decodes %XX escapes; a '%' not followed by two hex digits is
// an error, as it is for the browser's decodeURI.
func percentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad percent escape at the end of %q", clip(s))
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad percent escape %q in %q", s[i:i+3], clip(s))
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// htmlFrameStart and htmlFrameEnd surround each htmlfile frame.
const (
	htmlFrameStart = "<script>\np("
	htmlFrameEnd   = ");\n</script>\r\n"
)

// htmlDecoder reads htmlfile bodies: an HTML head (skipped), then one
// <script> element per frame calling p() with the frame as a JSON string.
type htmlDecoder struct {
	br      *bufio.Reader
	started bool
}

func (d *htmlDecoder) next() (string, error) {
	if !d.started {
		d.started = true
		// The head contains "<script>\n    document.domain", never
		// "<script>\np(": skip to the first frame.
		if err := skipPast(d.br, htmlFrameStart); err != nil {
			return "", err
		}
	} else {
		start := make([]byte, len(htmlFrameStart))
		n, err := io.ReadFull(d.br, start)
		if err == io.EOF {
			return "", io.EOF
		}
		if err != nil || string(start) != htmlFrameStart {
			return "", fmt.Errorf("htmlfile: want %q, got %q (%v)", htmlFrameStart, start[:n], err)
		}
	}
	text, err := readJSONString(d.br)
	if err != nil {
		return "", fmt.Errorf("htmlfile: %w", err)
	}
	end := make([]byte, len(htmlFrameEnd))
	if n, err := io.ReadFull(d.br, end); err != nil || string(end) != htmlFrameEnd {
		return "", fmt.Errorf("htmlfile: want %q after the frame, got %q (%v)", htmlFrameEnd, end[:n], err)
	}
	return text, nil
}

// skipPast reads until just after marker; io.EOF if the body ends cleanly
// before any of it.
func skipPast(br *bufio.Reader, marker string) error {
	var seen bytes.Buffer
	for {
		b, err := br.ReadByte()
		if err == io.EOF && seen.Len() == 0 {
			return io.EOF
		}
		if err != nil {
			return fmt.Errorf("looking for %q after %q: %w", marker, clip(seen.String()), noEOF(err))
		}
		seen.WriteByte(b)
		if bytes.HasSuffix(seen.Bytes(), []byte(marker)) {
			return nil
		}
		if seen.Len() > 1<<20 {
			return fmt.Errorf("no %q in the first MiB", marker)
		}
	}
}

// readJSONString reads one JSON string literal from br and decodes it.
func readJSONString(br *bufio.Reader) (string, error) {
	var raw bytes.Buffer
	b, err := br.ReadByte()
	if err != nil {
		return "", noEOF(err)
	}
	if b != '"' {
		return "", fmt.Errorf("want a JSON string, got %q", b)
	}
	raw.WriteByte(b)
	escaped := false
	for {
		b, err := br.ReadByte()
		if err != nil {
			return "", fmt.Errorf("JSON string %q: %w", clip(raw.String()), noEOF(err))
		}
		raw.WriteByte(b)
		switch {
		case escaped:
			escaped = false
		case b == '\\':
			escaped = true
		case b == '"':
			v, _, err := decodeJSONString(raw.String())
			return v, err
		}
	}
}

// jsonpDecoder reads one jsonp response: /**/callback("frame");\r\n. The
// /**/ prefix and the final CRLF are optional here (TestUpstream checks them).
type jsonpDecoder struct {
	br   *bufio.Reader
	done bool
}

func (d *jsonpDecoder) next() (string, error) {
	if d.done {
		if _, err := d.br.ReadByte(); err != io.EOF {
			return "", errors.New("jsonp: data after the callback call")
		}
		return "", io.EOF
	}
	d.done = true
	var head bytes.Buffer
	for {
		b, err := d.br.ReadByte()
		if err == io.EOF && head.Len() == 0 {
			return "", io.EOF
		}
		if err != nil {
			return "", fmt.Errorf("jsonp %q: %w", clip(head.String()), noEOF(err))
		}
		if b == '(' {
			break
		}
		head.WriteByte(b)
		if head.Len() > 100 {
			return "", fmt.Errorf("jsonp: no call in %q", clip(head.String()))
		}
	}
	cb := strings.TrimPrefix(head.String(), "/**/")
	if cb == "" || strings.Trim(cb, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
		return "", fmt.Errorf("jsonp: bad callback %q", head.String())
	}
	text, err := readJSONString(d.br)
	if err != nil {
		return "", fmt.Errorf("jsonp: %w", err)
	}
	tail, err := io.ReadAll(d.br)
	if err != nil {
		return "", fmt.Errorf("jsonp: %w", err)
	}
	if t := string(tail); t != ");\r\n" && t != ");" && t != ");\n" {
		return "", fmt.Errorf("jsonp: want );\\r\\n after the frame, got %q", clip(t))
	}
	return text, nil
}
