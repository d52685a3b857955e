package frame

import (
	"encoding/binary"
	"math/bits"
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
// Allocations: the result slice, and one per non-empty string (a string
// without escapes or invalid bytes is a plain conversion of its bytes).
// Strings with escapes are decoded in scratch space that is allocated at
// most once per call (no larger than b) when it does not fit on the stack.
// The strings never share memory with b, which the caller may reuse.
func DecodeMessages(b []byte) ([]string, error) {
	return DecodeMessagesMax(b, -1)
}

// DecodeMessagesMax is DecodeMessages for at most max messages (a negative
// max: no bound). A payload with more returns ErrTooManyMessages as soon as
// the decoder meets message max+1, so a flood of tiny messages costs no
// more than max of them.
func DecodeMessagesMax(b []byte, max int) ([]string, error) {
	return AppendMessagesMax([]string{}, b, max)
}

// AppendMessagesMax is DecodeMessagesMax appending the messages to dst
// (max counts only those): a caller that takes a message at a time can
// decode into an array of its own.
func AppendMessagesMax(dst []string, b []byte, max int) ([]string, error) {
	// Scratch space for strings that need unescaping; it stays on the
	// stack unless the payload outgrows it.
	var scratch [128]byte
	buf := scratch[:0]

	i := skipSpace(b, 0)
	if i == len(b) {
		return nil, ErrPayloadExpected
	}
	if b[i] != '[' {
		return nil, notStrings(b)
	}
	i = skipSpace(b, i+1)
	msgs := dst
	if i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			if i >= len(b) {
				return nil, ErrBrokenJSON
			}
			if b[i] != '"' {
				return nil, notStrings(b)
			}
			if len(msgs)-len(dst) == max {
				return nil, ErrTooManyMessages
			}
			var s string
			var ok bool
			s, i, buf, ok = decodeString(b, i+1, buf)
			if !ok {
				return nil, ErrBrokenJSON
			}
			msgs = append(msgs, s)
			i = skipSpace(b, i)
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

// notStrings is called when the payload turns out not to be an array of
// strings; which error that is depends on whether it is valid JSON at all.
func notStrings(b []byte) error {
	if validJSON(b) {
		return ErrPayloadExpected
	}
	return ErrBrokenJSON
}

// scanString returns the index of the first '"', '\\' or control character
// at or after i, or len(b) if there is none.
func scanString(b []byte, i int) int {
	// Eight bytes at a time, as in appendQuote: the lowest flagged byte is
	// exactly the first one wanted.
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q := w ^ (lsb * '"')
		s := w ^ (lsb * '\\')
		if bad := ((w-lsb*0x20)&^w | (q-lsb)&^q | (s-lsb)&^s) & msb; bad != 0 {
			return i + bits.TrailingZeros64(bad)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return len(b)
}

// decodeString decodes the JSON string whose contents start at b[i] (just
// after the opening quote). It returns the string and the index just after
// the closing quote, or ok == false if the string is malformed. buf is
// scratch space, returned so that its growth can be reused.
func decodeString(b []byte, i int, buf []byte) (s string, next int, _ []byte, ok bool) {
	j := scanString(b, i)
	valid := utf8.Valid(b[i:j])
	if valid && j < len(b) && b[j] == '"' {
		return string(b[i:j]), j + 1, buf, true
	}
	// Slow path: decode into buf, then copy it into the string. buf is
	// scratch, shared by all the strings of one payload; the rest of the
	// payload is an upper bound for the decoded text, except for invalid
	// bytes (each one becomes three), so buf grows at most once in practice.
	if rest := len(b) - i; cap(buf) < rest {
		buf = make([]byte, 0, rest)
	}
	if valid {
		buf = append(buf[:0], b[i:j]...)
	} else {
		buf, j = buf[:0], i
	}
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			return string(buf), j + 1, buf, true
		case c == '\\':
			buf, j, ok = unescape(buf, b, j)
			if !ok {
				return "", 0, buf, false
			}
		case c < 0x20:
			return "", 0, buf, false
		default:
			// A run of plain text: ASCII other than '"', '\\' and control
			// characters, and valid UTF-8 sequences.
			k := j
			for k < len(b) {
				if c := b[k]; c < 0x80 {
					if c < 0x20 || c == '"' || c == '\\' {
						break
					}
					k++
				} else if size := utf8SeqLen(b, k); size > 0 {
					k += size
				} else {
					break
				}
			}
			if k == j { // an invalid byte
				buf = append(buf, "\uFFFD"...)
				k++
			} else {
				buf = append(buf, b[j:k]...)
			}
			j = k
		}
	}
	return "", 0, buf, false // unterminated
}

// utf8SeqLen returns the length of the valid UTF-8 sequence of two to four
// bytes that starts at b[i] (b[i] >= 0x80), or 0 if there is none.
// Surrogates (ED A0..BF xx) are not valid UTF-8.
func utf8SeqLen(b []byte, i int) int {
	c := b[i]
	rest := len(b) - i
	switch {
	case c < 0xc2:
	case c < 0xe0:
		if rest >= 2 && b[i+1]&0xc0 == 0x80 {
			return 2
		}
	case c < 0xf0:
		if rest >= 3 {
			c1, c2 := b[i+1], b[i+2]
			if c1&0xc0 == 0x80 && c2&0xc0 == 0x80 && (c != 0xe0 || c1 >= 0xa0) && (c != 0xed || c1 < 0xa0) {
				return 3
			}
		}
	case c < 0xf5:
		if rest >= 4 {
			c1 := b[i+1]
			if c1&0xc0 == 0x80 && b[i+2]&0xc0 == 0x80 && b[i+3]&0xc0 == 0x80 &&
				(c != 0xf0 || c1 >= 0x90) && (c != 0xf4 || c1 < 0x90) {
				return 4
			}
		}
	}
	return 0
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
