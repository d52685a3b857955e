package frame

import (
	"strings"
	"testing"
)

// Benchmark payloads: one message each.
var (
	benchASCII32 = strings.Repeat("abcdefgh", 4)
	benchASCII4K = strings.Repeat("The quick brown fox jumps over the lazy dog. 0123456789 ", 75)[:4096]
	benchMixed4K = mixed4K()
)

// mixed4K is about 4 KiB of Korean, emoji, ASCII and some characters that
// need escaping.
func mixed4K() string {
	const unit = "안녕하세요, 세계! 😀👍 SockJS \"quoted\" <b>&</b>\n\u2028 tab\t "
	s := strings.Repeat(unit, 4096/len(unit)+1)
	// Cut at a rune boundary near 4 KiB.
	n := 4096
	for n < len(s) && s[n]&0xc0 == 0x80 {
		n++
	}
	return s[:n]
}

var benchCases = []struct {
	name string
	msg  string
}{
	{"ascii-32B", benchASCII32},
	{"ascii-4KiB", benchASCII4K},
	{"mixed-4KiB", benchMixed4K},
}

func BenchmarkAppendMessages(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			msgs := []string{bc.msg}
			dst := make([]byte, 0, 2*len(AppendMessages(nil, msgs)))
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.msg)))
			for b.Loop() {
				dst = AppendMessages(dst[:0], msgs)
			}
		})
	}
}

func BenchmarkAppendJSString(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			frame := AppendMessages(nil, []string{bc.msg})
			dst := make([]byte, 0, 2*len(AppendJSString(nil, frame)))
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				dst = AppendJSString(dst[:0], frame)
			}
		})
	}
}

func BenchmarkDecodeMessages(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			payload := AppendMessages(nil, []string{bc.msg})[1:]
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := DecodeMessages(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
