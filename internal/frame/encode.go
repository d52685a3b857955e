package frame

import "math/bits"

// bytestring is the set of types the encoder works on, so that one body
// serves both AppendQuote (string) and AppendJSString ([]byte) without a
// conversion (which would copy).
type bytestring interface {
	~string | ~[]byte
}

const hexDigits = "0123456789abcdef"

// asciiSafe[c] is true for the ASCII bytes that are copied unchanged into a
// JSON string literal: everything from 0x20 to 0x7f except '"', '\\', and
// the HTML-significant '<', '>' and '&'.
var asciiSafe = func() (t [0x80]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = true
	}
	t['"'] = false
	t['\\'] = false
	t['<'] = false
	t['>'] = false
	t['&'] = false
	return t
}()

// SWAR (SIMD within a register) helpers: they examine eight bytes at once.
const (
	lsb = 0x0101010101010101 // 0x01 in every byte
	msb = 0x8080808080808080 // 0x80 in every byte
)

// load64 reads eight bytes of s starting at i, little-endian. The compiler
// turns the shifts and ors into a single load.
func load64[T bytestring](s T, i int) uint64 {
	t := s[i : i+8]
	_ = t[7]
	return uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
		uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
}

// AppendQuote appends s to dst as a JSON string literal, including the
// surrounding double quotes, escaped as SockJS requires, and returns the
// extended buffer:
//
//   - '"' and '\\' are escaped as \" and \\;
//   - control characters U+0000 to U+001F use \b \f \n \r \t where JSON has
//     them and \u00XX otherwise; DEL (0x7f) is copied;
//   - '<', '>' and '&' become \u003c, \u003e and \u0026, so the text is safe
//     inside an HTML script element;
//   - U+200C–U+200F, U+2028–U+202F, U+2060–U+206F and U+FFF0–U+FFFF
//     (U+FFFD included) become \uXXXX: browsers and proxies mangle them,
//     and U+2028 and U+2029 end a line in JavaScript;
//   - an unpaired surrogate carried in WTF-8 form (bytes ED A0..BF 80..BF)
//     becomes \udXXX, which restores the original JavaScript string;
//   - every other byte of invalid UTF-8 becomes \ufffd, one per byte;
//   - all other text, valid UTF-8, is copied as is.
//
// Hexadecimal digits are lower case. AppendQuote allocates nothing when dst
// has room for the result.
func AppendQuote(dst []byte, s string) []byte {
	return appendQuote(dst, s)
}

// AppendJSString appends the already encoded frame f to dst as a JSON string
// literal, with exactly the escaping of AppendQuote, and returns the
// extended buffer. The htmlfile and jsonp transports pass a frame to a
// JavaScript callback this way: the frame a["x"] becomes "a[\"x\"]".
// Because '<', '>', '&', U+2028 and U+2029 are escaped, the result can be
// placed inside an HTML script element or evaluated as JavaScript.
func AppendJSString(dst []byte, f []byte) []byte {
	return appendQuote(dst, f)
}

func appendQuote[T bytestring](dst []byte, s T) []byte {
	dst = append(dst, '"')
	n := len(s)
	start := 0 // s[start:i] is pending, to be copied as is
	i := 0
	for i < n {
		// Skip clean ASCII eight bytes at a time: bytes without the top bit
		// set, not below 0x20, and not '"', '\\', '<', '>' or '&'. For
		// x = w ^ (c in every byte), (x - lsb) & ^x & msb flags the bytes of
		// w equal to c (the bytes of x that are zero), and (w - 0x20 in every byte) & ^w & msb
		// flags the bytes below 0x20. A borrow can flag a clean byte above
		// a flagged one, never below, so the lowest flag is exact: the
		// position of the first byte that needs work.
		for i+8 <= n {
			w := load64(s, i)
			q := w ^ (lsb * '"')
			b := w ^ (lsb * '\\')
			l := w ^ (lsb * '<')
			g := w ^ (lsb * '>')
			a := w ^ (lsb * '&')
			bad := (w | (w-lsb*0x20)&^w | (q-lsb)&^q | (b-lsb)&^b | (l-lsb)&^l | (g-lsb)&^g | (a-lsb)&^a) & msb
			if bad != 0 {
				i += bits.TrailingZeros64(bad) >> 3
				break
			}
			i += 8
		}
		if i >= n {
			break
		}
		c := s[i]
		if c < 0x80 {
			if asciiSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default: // other control characters, '<', '>', '&'
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		// Non-ASCII: consume a run of multi-byte sequences here without
		// going back to the ASCII loop.
		for {
			// Inline fast path for the common sequences that are copied:
			// two bytes, and three bytes with a lead other than E0 (which
			// has overlong forms), E2 and EF (which start the SockJS
			// ranges) and ED A0..BF (surrogates).
			size := 0
			var esc uint16
			if c < 0xe0 {
				if c >= 0xc2 && i+1 < n && s[i+1]&0xc0 == 0x80 {
					size = 2
				}
			} else if c < 0xf0 && c != 0xe0 && c != 0xe2 && c != 0xef && i+2 < n {
				c1, c2 := s[i+1], s[i+2]
				if c1&0xc0 == 0x80 && c2&0xc0 == 0x80 && (c != 0xed || c1 < 0xa0) {
					size = 3
				}
			}
			if size == 0 {
				size, esc = inspect(s, i)
			}
			if esc != 0 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', 'u',
					hexDigits[esc>>12], hexDigits[esc>>8&0xf], hexDigits[esc>>4&0xf], hexDigits[esc&0xf])
				start = i + size
			}
			i += size
			if i >= n {
				break
			}
			if c = s[i]; c < 0x80 {
				break
			}
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// inspect examines the byte sequence that starts at s[i], where s[i] >= 0x80.
// It returns the number of bytes it covers and, when that sequence must be
// escaped, the UTF-16 code unit to write as \uXXXX (esc == 0 means copy the
// sequence as is). An invalid byte covers one byte and gives U+FFFD; a
// WTF-8 surrogate gives the surrogate; U+200C–U+200F, U+2028–U+202F,
// U+2060–U+206F and U+FFF0–U+FFFF give themselves.
func inspect[T bytestring](s T, i int) (size int, esc uint16) {
	const invalid = 0xfffd
	c := s[i]
	rest := len(s) - i
	switch {
	case c < 0xc2: // continuation byte, or overlong two-byte lead
		return 1, invalid
	case c < 0xe0:
		if rest >= 2 && s[i+1]&0xc0 == 0x80 {
			return 2, 0
		}
		return 1, invalid
	case c < 0xf0:
		if rest < 3 {
			return 1, invalid
		}
		c1, c2 := s[i+1], s[i+2]
		if c1&0xc0 != 0x80 || c2&0xc0 != 0x80 {
			return 1, invalid
		}
		switch c {
		case 0xe0:
			if c1 < 0xa0 { // overlong
				return 1, invalid
			}
		case 0xe2:
			// U+2000..U+207F is E2 80..81 xx.
			if c1 == 0x80 && (0x8c <= c2 && c2 <= 0x8f || 0xa8 <= c2 && c2 <= 0xaf) ||
				c1 == 0x81 && 0xa0 <= c2 && c2 <= 0xaf {
				return 3, 0x2000 | uint16(c1&0x3f)<<6 | uint16(c2&0x3f)
			}
		case 0xed:
			if c1 >= 0xa0 { // surrogate U+D800..U+DFFF in WTF-8
				return 3, 0xd000 | uint16(c1&0x3f)<<6 | uint16(c2&0x3f)
			}
		case 0xef:
			if c1 == 0xbf && c2 >= 0xb0 { // U+FFF0..U+FFFF
				return 3, 0xffc0 | uint16(c2&0x3f)
			}
		}
		return 3, 0
	case c < 0xf5:
		if rest < 4 {
			return 1, invalid
		}
		c1 := s[i+1]
		lo, hi := byte(0x80), byte(0xbf)
		switch c {
		case 0xf0:
			lo = 0x90 // below is overlong
		case 0xf4:
			hi = 0x8f // above is beyond U+10FFFF
		}
		if c1 < lo || c1 > hi || s[i+2]&0xc0 != 0x80 || s[i+3]&0xc0 != 0x80 {
			return 1, invalid
		}
		return 4, 0
	default:
		return 1, invalid
	}
}
