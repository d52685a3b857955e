package protocoltests

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// SockJS messages are JavaScript strings: sequences of UTF-16 code units
// that may contain unpaired surrogates. encoding/json replaces those with
// U+FFFD, so the suite carries messages as WTF-8 (UTF-8 that also encodes
// lone surrogates as three-byte sequences) and has its own small JSON string
// codec. Valid surrogate pairs always decode to one four-byte rune, so equal
// UTF-16 sequences give equal Go strings.

// wtf8 returns the WTF-8 form of a sequence of UTF-16 code units.
func wtf8(units ...uint16) string {
	var b strings.Builder
	for i := 0; i < len(units); i++ {
		u := units[i]
		if utf16.IsSurrogate(rune(u)) && u < 0xdc00 && i+1 < len(units) &&
			units[i+1] >= 0xdc00 && units[i+1] <= 0xdfff {
			b.WriteRune(utf16.DecodeRune(rune(u), rune(units[i+1])))
			i++
			continue
		}
		appendUnit(&b, u)
	}
	return b.String()
}

// appendUnit writes one code unit as UTF-8, or as a WTF-8 three-byte sequence
// when it is a surrogate.
func appendUnit(b *strings.Builder, u uint16) {
	if !utf16.IsSurrogate(rune(u)) {
		b.WriteRune(rune(u))
		return
	}
	b.WriteByte(0xe0 | byte(u>>12))
	b.WriteByte(0x80 | byte(u>>6)&0x3f)
	b.WriteByte(0x80 | byte(u)&0x3f)
}

// units returns the UTF-16 code units of a WTF-8 string; invalid bytes
// become U+FFFD.
func units(s string) []uint16 {
	var out []uint16
	for i := 0; i < len(s); {
		if u, ok := surrogateAt(s, i); ok {
			out = append(out, u)
			i += 3
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		out = utf16.AppendRune(out, r)
		i += n
	}
	return out
}

// surrogateAt reports whether s[i:] starts with a WTF-8 encoded surrogate.
func surrogateAt(s string, i int) (uint16, bool) {
	if i+2 >= len(s) || s[i] != 0xed || s[i+1] < 0xa0 || s[i+1] > 0xbf || s[i+2]&0xc0 != 0x80 {
		return 0, false
	}
	return 0xd000 | uint16(s[i+1]&0x3f)<<6 | uint16(s[i+2]&0x3f), true
}

// quoteJSON returns s as a JSON string literal. Control characters, quotes,
// backslashes and lone surrogates are escaped; with ascii, every non-ASCII
// code unit is escaped as well, the way sockjs-client sends characters that
// browsers may mangle.
func quoteJSON(s string, ascii bool) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		if u, ok := surrogateAt(s, i); ok {
			fmt.Fprintf(&b, `\u%04x`, u)
			i += 3
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				if c < 0x20 || c == 0x7f {
					fmt.Fprintf(&b, `\u%04x`, c)
				} else {
					b.WriteByte(c)
				}
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if ascii {
			for _, u := range utf16.AppendRune(nil, r) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
	return b.String()
}

// encodeMessages returns msgs as the JSON array of strings that SockJS
// clients send.
func encodeMessages(ascii bool, msgs ...string) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = quoteJSON(m, ascii)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// errNotString is returned when a JSON string was expected.
var errNotString = errors.New("not a JSON string")

// decodeJSONString decodes the JSON string literal at the start of s (after
// optional JSON whitespace) and returns its WTF-8 value and the rest of s.
func decodeJSONString(s string) (val, rest string, err error) {
	s = trimJSONSpace(s)
	if s == "" || s[0] != '"' {
		return "", s, errNotString
	}
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), s[i+1:], nil
		case c < 0x20:
			return "", s, fmt.Errorf("raw control character %#x in JSON string", c)
		case c == '\\':
			if i+1 >= len(s) {
				return "", s, errors.New("unterminated escape in JSON string")
			}
			i++
			switch s[i] {
			case '"', '\\', '/':
				b.WriteByte(s[i])
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				u, ok := hex4(s, i+1)
				if !ok {
					return "", s, errors.New(`bad \u escape in JSON string`)
				}
				i += 4
				if u >= 0xd800 && u < 0xdc00 && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if lo, ok := hex4(s, i+3); ok && lo >= 0xdc00 && lo <= 0xdfff {
						b.WriteRune(utf16.DecodeRune(rune(u), rune(lo)))
						i += 7
						continue
					}
				}
				appendUnit(&b, u)
			default:
				return "", s, fmt.Errorf("bad escape \\%c in JSON string", s[i])
			}
			i++
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return "", s, fmt.Errorf("invalid UTF-8 at byte %d of JSON string", i)
			}
			b.WriteString(s[i : i+n])
			i += n
		}
	}
	return "", s, errors.New("unterminated JSON string")
}

// hex4 parses the four hex digits at s[i:].
func hex4(s string, i int) (uint16, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[i:i+4], 16, 16)
	return uint16(v), err == nil
}

// trimJSONSpace drops leading JSON whitespace.
func trimJSONSpace(s string) string {
	return strings.TrimLeft(s, " \t\r\n")
}

// decodeMessages decodes a whole JSON array of strings.
func decodeMessages(s string) ([]string, error) {
	s = trimJSONSpace(s)
	if s == "" || s[0] != '[' {
		return nil, errors.New("not a JSON array")
	}
	s = trimJSONSpace(s[1:])
	msgs := []string{}
	if strings.HasPrefix(s, "]") {
		s = s[1:]
	} else {
		for {
			m, rest, err := decodeJSONString(s)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, m)
			rest = trimJSONSpace(rest)
			if rest == "" {
				return nil, errors.New("unterminated JSON array")
			}
			if rest[0] == ']' {
				s = rest[1:]
				break
			}
			if rest[0] != ',' {
				return nil, fmt.Errorf("unexpected %q in JSON array", rest[0])
			}
			s = rest[1:]
		}
	}
	if trimJSONSpace(s) != "" {
		return nil, fmt.Errorf("trailing data %q after JSON array", clip(s))
	}
	return msgs, nil
}

// A frame is one SockJS frame as sent by the server.
type frame struct {
	text   string   // the frame as received, e.g. `a["x"]`
	kind   byte     // 'o', 'h', 'a' or 'c'
	msgs   []string // messages of an 'a' frame
	code   int      // close code of a 'c' frame
	reason string   // close reason of a 'c' frame
}

// Exact frames the protocol defines.
const (
	openFrame      = "o"
	heartbeatFrame = "h"
	goAwayFrame    = `c[3000,"Go away!"]`
	busyFrame      = `c[2010,"Another connection still open"]`
	interruptFrame = `c[1002,"Connection interrupted"]`
)

// parseFrame parses one frame.
func parseFrame(s string) (frame, error) {
	f := frame{text: s}
	if s == "" {
		return f, errors.New("empty frame")
	}
	f.kind = s[0]
	switch f.kind {
	case 'o', 'h':
		if len(s) != 1 {
			return f, fmt.Errorf("frame %q: trailing data", clip(s))
		}
	case 'a':
		msgs, err := decodeMessages(s[1:])
		if err != nil {
			return f, fmt.Errorf("frame %q: %w", clip(s), err)
		}
		f.msgs = msgs
	case 'c':
		code, reason, err := decodeClose(s[1:])
		if err != nil {
			return f, fmt.Errorf("frame %q: %w", clip(s), err)
		}
		f.code, f.reason = code, reason
	default:
		return f, fmt.Errorf("unknown frame %q", clip(s))
	}
	return f, nil
}

// decodeClose decodes the `[code,"reason"]` part of a close frame.
func decodeClose(s string) (int, string, error) {
	s = trimJSONSpace(s)
	if !strings.HasPrefix(s, "[") {
		return 0, "", errors.New("close frame without array")
	}
	s = trimJSONSpace(s[1:])
	end := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if end <= 0 {
		return 0, "", errors.New("close frame without code")
	}
	code, err := strconv.Atoi(s[:end])
	if err != nil {
		return 0, "", err
	}
	s = trimJSONSpace(s[end:])
	if !strings.HasPrefix(s, ",") {
		return 0, "", errors.New("close frame without reason")
	}
	reason, rest, err := decodeJSONString(s[1:])
	if err != nil {
		return 0, "", err
	}
	if trimJSONSpace(rest) != "]" {
		return 0, "", fmt.Errorf("close frame: unexpected %q", clip(rest))
	}
	return code, reason, nil
}

// clip shortens s for error messages.
func clip(s string) string {
	const max = 120
	if len(s) <= max {
		return s
	}
	return fmt.Sprintf("%s…(%d bytes)…%s", s[:max/2], len(s)-max, s[len(s)-max/2:])
}

// describe formats a message for failure output: quoted, clipped, and with
// its UTF-16 code units when they matter.
func describe(s string) string {
	q := strconv.Quote(clip(s))
	if len(s) < 40 && !isASCII(s) {
		return fmt.Sprintf("%s (UTF-16 %04x)", q, units(s))
	}
	return q
}

// isASCII reports whether s is plain ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
