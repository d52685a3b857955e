package transports

import "testing"

// BenchmarkRoute splits the paths every SockJS request carries. It should
// not allocate.
//
//	go test -run '^$' -bench Route -benchmem ./transports
func BenchmarkRoute(b *testing.B) {
	paths := []struct{ name, path string }{
		{"xhr_send", "/123/a1b2c3d4e5f6/xhr_send"},
		{"websocket", "/000/8b4c3a2e-1f2d/websocket"},
		{"info", "/info"},
		{"iframe", "/iframe-1.6.1.html"},
		{"raw", "/websocket"},
		{"notfound", "/a/b/c/d"},
	}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			var rt routed
			for b.Loop() {
				rt = route(p.path)
			}
			if rt.kind == 0 && p.name != "notfound" {
				b.Fatalf("route(%q) not found", p.path)
			}
		})
	}
}
