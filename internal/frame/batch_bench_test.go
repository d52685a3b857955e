package frame

import (
	"strconv"
	"strings"
	"testing"
)

// Benchmarks for the shapes the benchmark suite sends: batches of short
// messages (a frame per batch, as a receiver writes under load), the
// eventsource escaping of whole frames, and close frames.

func BenchmarkAppendMessagesBatch(b *testing.B) {
	for _, n := range []int{16, 256} {
		msgs := make([]string, n)
		total := 0
		for i := range msgs {
			msgs[i] = "0123456789abcdef" + strings.Repeat("x", 16)
			total += len(msgs[i])
		}
		b.Run("msgs="+strconv.Itoa(n), func(b *testing.B) {
			dst := make([]byte, 0, 2*len(AppendMessages(nil, msgs)))
			b.ReportAllocs()
			b.SetBytes(int64(total))
			for b.Loop() {
				dst = AppendMessages(dst[:0], msgs)
			}
		})
	}
}

func BenchmarkAppendEventSourceData(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			f := AppendMessages(nil, []string{bc.msg})
			dst := make([]byte, 0, 2*len(AppendEventSourceData(nil, f)))
			b.ReportAllocs()
			b.SetBytes(int64(len(f)))
			for b.Loop() {
				dst = AppendEventSourceData(dst[:0], f)
			}
		})
	}
}

func BenchmarkDecodeMessagesBatch(b *testing.B) {
	msgs := make([]string, 16)
	for i := range msgs {
		msgs[i] = "0123456789abcdef" + strings.Repeat("x", 16)
	}
	payload := AppendMessages(nil, msgs)[1:]
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := DecodeMessages(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendClose(b *testing.B) {
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendClose(dst[:0], 3000, "Go away!")
	}
}
