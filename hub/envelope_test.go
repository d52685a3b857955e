package hub

import (
	"strings"
	"testing"
)

// FuzzEnvelope checks the framing of messages through a broker: whatever
// the message and the excluded member, unwrap gives back what wrap was
// given; a message the hub did not frame (any text whose first byte is
// not NUL) comes out as it is.
func FuzzEnvelope(f *testing.F) {
	for _, seed := range []struct{ msg, id string }{
		{"hello", ""}, {"", ""}, {"\x00", ""}, {"\x00m", ""}, {"\x00x1\nx", ""},
		{"hi", "abc-1"}, {"\x00x", "abc-2"}, {"a\nb", "k-9"},
	} {
		f.Add(seed.msg, seed.id)
	}
	f.Fuzz(func(t *testing.T, msg, id string) {
		if strings.Contains(id, "\n") {
			id = strings.ReplaceAll(id, "\n", "")
		}
		raw := wrap(msg, id)
		got, gotID := unwrap(raw)
		if got != msg || gotID != id {
			t.Fatalf("unwrap(wrap(%q, %q)) = %q, %q", msg, id, got, gotID)
		}
		if id == "" && (msg == "" || msg[0] != 0) && raw != msg {
			t.Fatalf("wrap(%q) = %q: a plain message must go as it is", msg, raw)
		}
		unwrap(msg) // any text from the broker: no panic
	})
}

// TestSeqOf: only this hub's member IDs name one of its members.
func TestSeqOf(t *testing.T) {
	h := &Hub{id: "abc"}
	for id, want := range map[string]uint64{
		"abc-1": 1, "abc-42": 42, "abd-1": 0, "abc-": 0, "abc1": 0, "abc-x": 0, "": 0, "xabc-1": 0,
		"abc-18446744073709551616": 0,
	} {
		if got := h.seqOf(id); got != want {
			t.Errorf("seqOf(%q) = %d, want %d", id, got, want)
		}
	}
}
