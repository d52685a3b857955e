package frame

import (
	"encoding/binary"
	"unicode/utf8"
)

// DecodeMessages parses a payload sent by a client (the body of xhr_send,
// the d field of jsonp_send, a websocket text message): a JSON array of JSON
// strings, with JSON whitespace allowed around every token. It returns the
// strings in order; "[]" gives an empty, non-nil slice.
//
// Errors, which are always ErrPayloadExpected or ErrBrokenJSON themselves:
//
//   - empty b, or only JSON whitespace: ErrPayloadExpected;
//   - valid JSON that is not an array of strings ({}, "x", 1, null, [1],
//     ["a",null]): ErrPayloadExpected;
//   - anything that is not valid JSON (trailing data, an unterminated
//     string, a bad escape, a raw control character inside a string, a
//     missing comma, ...): ErrBrokenJSON.
//
// sockjs-node 0.3.24 (trans-xhr.coffee xhr_send, trans-jsonp.coffee
// jsonp_send) answers "Payload expected." for an empty body, "Broken JSON
// encoding." when JSON.parse throws, and "Payload expected." when the parsed
// value is falsy or not an Array; the choices above follow it, with two
// differences. A body of only whitespace is "Payload expected." here, where
// node's JSON.parse would throw (the body is empty for every purpose that
// matters). An array holding something other than a string ([1], [null],
// [{}]) passes node's Array check, and node hands the number, null or object
// to the application; this API delivers strings only, so such a payload is
// refused, and since it is valid JSON the error is ErrPayloadExpected.
//
// Every JSON escape is decoded: \" \\ \/ \b \f \n \r \t and \uXXXX (hex
// digits in either case), \u0000, \ufffe and \uffff included. A valid
// surrogate pair (\ud83d\ude00) becomes the UTF-8 of its code point; an
// unpaired surrogate escape (\ud800 alone, or a high surrogate not followed
// by a low one) becomes the three WTF-8 bytes of that code unit, which
// AppendQuote turns back into the same escape. Raw bytes that are not valid
// UTF-8, the WTF-8 form of a surrogate included, become U+FFFD, one per
// byte, as in Go's utf8.DecodeRune.
//
// A string without escapes or invalid bytes costs exactly one allocation
// (the conversion of its bytes); strings are never aliased to b.
func DecodeMessages(b []byte) ([]string, error) {
	var arr [128]byte
	d := decoder{b: b, buf: arr[:0]}
	return d.messages()
}

type decoder struct {
	b   []byte
	buf []byte // scratch for strings that need unescaping
}

// isSpace reports whether c is JSON whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace, or len(b).
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func (d *decoder) messages() ([]string, error) {
	b := d.b
	i := skipSpace(b, 0)
	if i == len(b) {
		return nil, ErrPayloadExpected
	}
	if b[i] != '[' {
		return nil, d.notStrings()
	}
	i = skipSpace(b, i+1)
	msgs := []string{}
	if i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			if i >= len(b) {
				return nil, ErrBrokenJSON
			}
			if b[i] != '"' {
				return nil, d.notStrings()
			}
			s, next, ok := d.str(i + 1)
			if !ok {
				return nil, ErrBrokenJSON
			}
			msgs = append(msgs, s)
			i = skipSpace(b, next)
			if i >= len(b) {
				return nil, ErrBrokenJSON
			}
			if b[i] == ']' {
				i++
				break
			}
			if b[i] != ',' {
				return nil, ErrBrokenJSON
			}
			i = skipSpace(b, i+1)
		}
	}
	if skipSpace(b, i) != len(b) {
		return nil, ErrBrokenJSON
	}
	return msgs, nil
}

// notStrings is called when the payload turns out not to be an array of
// strings; which error that is depends on whether it is valid JSON at all.
func (d *decoder) notStrings() error {
	if validJSON(d.b) {
		return ErrPayloadExpected
	}
	return ErrBrokenJSON
}

// scanString returns the index of the first '"', '\\' or control character
// at or after i, or len(b) if there is none.
func scanString(b []byte, i int) int {
	n := len(b)
	for i+8 <= n {
		w := binary.LittleEndian.Uint64(b[i:])
		// Some byte below 0x20 (exact for the word as a whole), '"' or '\\'.
		if (w-lsb*0x20)&^w&msb|hasZeroByte(w^(lsb*'"'))|hasZeroByte(w^(lsb*'\\')) != 0 {
			break
		}
		i += 8
	}
	for ; i < n; i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return n
}

// str decodes the JSON string whose contents start at b[i] (just after the
// opening quote). It returns the string and the index just after the
// closing quote, or ok == false if the string is malformed.
func (d *decoder) str(i int) (s string, next int, ok bool) {
	b := d.b
	j := scanString(b, i)
	if j < len(b) && b[j] == '"' && utf8.Valid(b[i:j]) {
		return string(b[i:j]), j + 1, true
	}
	buf := d.buf[:0]
	for {
		buf = appendValidUTF8(buf, b[i:j])
		if j >= len(b) {
			return "", 0, false
		}
		switch c := b[j]; {
		case c == '"':
			d.buf = buf
			return string(buf), j + 1, true
		case c == '\\':
			buf, j, ok = unescape(buf, b, j)
			if !ok {
				return "", 0, false
			}
		default: // control character
			return "", 0, false
		}
		i = j
		j = scanString(b, i)
	}
}

// appendValidUTF8 appends seg to buf with each byte that is not part of
// valid UTF-8 replaced by U+FFFD.
func appendValidUTF8(buf, seg []byte) []byte {
	if utf8.Valid(seg) {
		return append(buf, seg...)
	}
	start := 0
	for k := 0; k < len(seg); {
		if seg[k] < utf8.RuneSelf {
			k++
			continue
		}
		r, size := utf8.DecodeRune(seg[k:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, seg[start:k]...)
			buf = append(buf, "\uFFFD"...)
			start = k + 1
		}
		k += size
	}
	return append(buf, seg[start:]...)
}

// unescape decodes the escape sequence at b[j] (a backslash), appends its
// value to buf, and returns buf and the index after the sequence.
func unescape(buf, b []byte, j int) ([]byte, int, bool) {
	if j+1 >= len(b) {
		return buf, j, false
	}
	switch c := b[j+1]; c {
	case '"', '\\', '/':
		return append(buf, c), j + 2, true
	case 'b':
		return append(buf, '\b'), j + 2, true
	case 'f':
		return append(buf, '\f'), j + 2, true
	case 'n':
		return append(buf, '\n'), j + 2, true
	case 'r':
		return append(buf, '\r'), j + 2, true
	case 't':
		return append(buf, '\t'), j + 2, true
	case 'u':
	default:
		return buf, j, false
	}
	r, ok := hex4(b, j+2)
	if !ok {
		return buf, j, false
	}
	j += 6
	if 0xd800 <= r && r < 0xdc00 && j+1 < len(b) && b[j] == '\\' && b[j+1] == 'u' {
		// A high surrogate: it pairs with an immediately following low
		// surrogate escape. Anything else is left for the caller's next
		// round (a malformed escape is reported there).
		if r2, ok := hex4(b, j+2); ok && 0xdc00 <= r2 && r2 < 0xe000 {
			r = 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00)
			return utf8.AppendRune(buf, r), j + 6, true
		}
	}
	return appendCodeUnit(buf, r), j, true
}

// hex4 decodes the four hexadecimal digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendCodeUnit appends the UTF-8 encoding of the code unit r (< 0x10000).
// Unlike utf8.AppendRune it encodes a surrogate as its three WTF-8 bytes
// instead of replacing it with U+FFFD.
func appendCodeUnit(buf []byte, r rune) []byte {
	switch {
	case r < 0x80:
		return append(buf, byte(r))
	case r < 0x800:
		return append(buf, 0xc0|byte(r>>6), 0x80|byte(r)&0x3f)
	default:
		return append(buf, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
	}
}

// validJSON reports whether b is one valid JSON text (RFC 8259, which is
// what JavaScript's JSON.parse accepts). Bytes of invalid UTF-8 inside
// strings are accepted: sockjs-node decodes the body to a JavaScript string,
// replacing them, before parsing it. It works iteratively, so deep nesting
// costs memory proportional to the depth and never overflows the stack.
// It is only used to choose an error, so it is not tuned for speed.
func validJSON(b []byte) bool {
	var stack []byte // open containers: '[' or '{'
	i := skipSpace(b, 0)
	for {
		// A value is expected at b[i].
		if i >= len(b) {
			return false
		}
		closed := false // the value is complete
		switch c := b[i]; {
		case c == '[':
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == ']' {
				i++
				closed = true
			} else {
				stack = append(stack, '[')
			}
		case c == '{':
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == '}' {
				i++
				closed = true
			} else {
				var ok bool
				if i, ok = skipMember(b, i); !ok {
					return false
				}
				stack = append(stack, '{')
			}
		case c == '"':
			var ok bool
			if i, ok = skipString(b, i+1); !ok {
				return false
			}
			closed = true
		case c == 't':
			if !hasLiteral(b, i, "true") {
				return false
			}
			i += 4
			closed = true
		case c == 'f':
			if !hasLiteral(b, i, "false") {
				return false
			}
			i += 5
			closed = true
		case c == 'n':
			if !hasLiteral(b, i, "null") {
				return false
			}
			i += 4
			closed = true
		case c == '-' || '0' <= c && c <= '9':
			var ok bool
			if i, ok = skipNumber(b, i); !ok {
				return false
			}
			closed = true
		default:
			return false
		}
		// After a complete value: close containers, or move to the next
		// element or member.
		for closed {
			i = skipSpace(b, i)
			if len(stack) == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			top := stack[len(stack)-1]
			switch {
			case b[i] == ',':
				i = skipSpace(b, i+1)
				if top == '{' {
					var ok bool
					if i, ok = skipMember(b, i); !ok {
						return false
					}
				}
				closed = false
			case top == '[' && b[i] == ']', top == '{' && b[i] == '}':
				stack = stack[:len(stack)-1]
				i++
			default:
				return false
			}
		}
	}
}

// skipMember skips `"key" :` and the whitespace after it, starting at b[i].
func skipMember(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := skipString(b, i+1)
	if !ok {
		return i, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return skipSpace(b, i+1), true
}

// skipString skips a JSON string whose contents start at b[i], returning the
// index after the closing quote.
func skipString(b []byte, i int) (int, bool) {
	for {
		i = scanString(b, i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case '"':
			return i + 1, true
		case '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(b, i+2); !ok {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		default: // control character
			return i, false
		}
	}
}

// hasLiteral reports whether b[i:] starts with lit.
func hasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// skipNumber skips a JSON number starting at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(b []byte, i int) (int, bool) {
	digits := func(i int) int {
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(i + 1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}
