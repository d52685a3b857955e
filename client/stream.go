package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// lineReader splits an xhr-polling or xhr-streaming response body into
// frames: one frame per line, each ended by "\n" (a "\r" before it is
// dropped). Lines longer than max bytes fail with ErrFrameTooLarge instead
// of growing the buffer further.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReader(r), max: max}
}

// next returns the next line without its terminator. The slice is valid
// until the next call. At the end of the body it returns io.EOF, or
// io.ErrUnexpectedEOF if the body ended in the middle of a line.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		chunk, err := l.r.ReadSlice('\n')
		if len(l.buf)+len(chunk) > l.max+2 { // +2: room for "\r\n"
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrFrameTooLarge, l.max)
		}
		switch {
		case err == nil:
			if len(l.buf) == 0 {
				// The whole line is in the bufio buffer: no copy.
				return trimCR(chunk[:len(chunk)-1]), nil
			}
			l.buf = append(l.buf, chunk[:len(chunk)-1]...)
			return trimCR(l.buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			l.buf = append(l.buf, chunk...)
		case err == io.EOF:
			if len(l.buf)+len(chunk) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// sseReader parses a text/event-stream body (the eventsource transport)
// and returns the data of each event, one SockJS frame per event.
//
// It follows the HTML event-stream rules that matter here: lines end with
// CRLF, LF or a lone CR; a line starting with ':' is a comment; "data" lines
// are joined with "\n"; an empty line dispatches the event, and an event
// without data is skipped; other fields (event, id, retry) are ignored. A
// lone CR at the end of what has arrived so far ends the line at once, and
// an LF right after it is skipped when it comes, so a reader never waits
// for a byte it does not need.
type sseReader struct {
	r       *bufio.Reader
	max     int
	line    []byte
	data    []byte
	hasData bool
	skipLF  bool // the previous line ended with CR: ignore one LF
}

func newSSEReader(r io.Reader, max int) *sseReader {
	return &sseReader{r: bufio.NewReader(r), max: max}
}

// next returns the data of the next event, with the eventsource escapes
// undone (see unescapeEventData). The slice is valid until the next call. At
// the end of the body it returns io.EOF, or io.ErrUnexpectedEOF if the
// body ended inside an event.
func (s *sseReader) next() ([]byte, error) {
	s.data = s.data[:0]
	s.hasData = false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && (s.hasData || len(s.line) > 0) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(line) == 0 {
			if !s.hasData {
				continue
			}
			return unescapeEventData(s.data), nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		if string(field) != "data" {
			continue
		}
		if s.hasData {
			s.data = append(s.data, '\n')
		}
		if len(s.data)+len(value) > s.max {
			return nil, fmt.Errorf("%w: event longer than %d bytes", ErrFrameTooLarge, s.max)
		}
		s.data = append(s.data, value...)
		s.hasData = true
	}
}

// readLine returns the next line without its terminator; the slice is
// valid until the next call. It returns io.EOF at the end of the body (a
// final line without terminator stays in s.line, so the caller can tell).
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		// Wait for at least one byte, then look at everything buffered.
		if _, err := s.r.Peek(1); err != nil {
			return nil, err
		}
		buf, _ := s.r.Peek(s.r.Buffered())
		if s.skipLF {
			s.skipLF = false
			if buf[0] == '\n' {
				s.r.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		if i < 0 {
			if len(s.line)+len(buf) > s.max+len("data: ") {
				return nil, fmt.Errorf("%w: line longer than %d bytes", ErrFrameTooLarge, s.max)
			}
			s.line = append(s.line, buf...)
			s.r.Discard(len(buf))
			continue
		}
		if len(s.line)+i > s.max+len("data: ") {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrFrameTooLarge, s.max)
		}
		s.line = append(s.line, buf[:i]...)
		s.skipLF = buf[i] == '\r'
		s.r.Discard(i + 1)
		return s.line, nil
	}
}

// unescapeEventData undoes the escaping SockJS servers apply to the data of
// an eventsource event: "%25", "%0D", "%0A" and "%00" (hex digits in either
// case) become '%', CR, LF and NUL. Nothing else is decoded: these four are
// exactly what sockjs-node (JavaScript escape() on those characters) and this
// module's server produce, and the JSON frame itself never contains another
// percent escape that needs decoding. (sockjs-client runs decodeURI instead,
// which also turns a literal "%41" in a message from a server that does not
// escape '%', such as Spring, into "A"; this reader leaves it alone, but
// from such a server a message containing "%25" arrives as "%".)
//
// It works in place and returns b shortened.
func unescapeEventData(b []byte) []byte {
	i := bytes.IndexByte(b, '%')
	if i < 0 {
		return b
	}
	w := i
	for r := i; r < len(b); {
		c := b[r]
		if c == '%' && r+2 < len(b) {
			if v, ok := eventEscape(b[r+1], b[r+2]); ok {
				b[w] = v
				w++
				r += 3
				continue
			}
		}
		b[w] = c
		w++
		r++
	}
	return b[:w]
}

// eventEscape decodes the two hex digits of one of the four escapes.
func eventEscape(h, l byte) (byte, bool) {
	switch {
	case h == '2' && l == '5':
		return '%', true
	case h == '0' && (l == 'D' || l == 'd'):
		return '\r', true
	case h == '0' && (l == 'A' || l == 'a'):
		return '\n', true
	case h == '0' && l == '0':
		return 0, true
	}
	return 0, false
}
