package frame

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeMessages feeds arbitrary payloads to DecodeMessages. It must
// never panic, must return one of the two sentinel errors or a result,
// must agree with encoding/json on which, and a result must survive
// re-encoding and decoding unchanged.
func FuzzDecodeMessages(f *testing.F) {
	for _, s := range []string{
		``, ` `, `[]`, `["a"]`, `["a","b"]`, ` [ "a" , "b" ] `, `{}`, `"x"`, `1`, `null`, `[1]`, `["a",1]`,
		`["\u0000\ufffe\uffff"]`, `["\ud83d\ude00"]`, `["\ud800"]`, `["\udc00\ud800"]`, `["\ud800\u0041"]`,
		`["\"\\\/\b\f\n\r\t"]`, `["\x"]`, `["\u12"]`, `["a"`, `["a",]`, `["a"]x`, `[01]`, `{"a":[1,{"b":null}]}`,
		"[\"\xff\xed\xa0\x80\"]", "[\"a\nb\"]", `["안녕 😀"]`, `["\u200c\u2028\u2060\ufff0"]`, `d=["x"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		msgs, err := DecodeMessages(b)
		if !bytes.Equal(in, b) {
			t.Fatalf("DecodeMessages modified its input")
		}
		if err != nil {
			if err != ErrPayloadExpected && err != ErrBrokenJSON {
				t.Fatalf("unexpected error %v", err)
			}
		}
		checkAgainstEncodingJSON(t, b)
		checkMax(t, b, msgs, err)
		if err != nil {
			return
		}
		frame := AppendMessages(nil, msgs)
		if !utf8.Valid(frame) || !bytes.HasPrefix(frame, []byte("a[")) {
			t.Fatalf("bad frame %+q", frame)
		}
		again, err := DecodeMessages(frame[1:])
		if err != nil {
			t.Fatalf("re-decoding %+q: %v", frame[1:], err)
		}
		if len(again) != len(msgs) {
			t.Fatalf("re-decoding gives %+q, want %+q", again, msgs)
		}
		for i := range msgs {
			if again[i] != normalize(msgs[i]) {
				t.Fatalf("re-decoding gives %+q, want %+q", again, msgs)
			}
		}
	})
}

// checkMax checks DecodeMessagesMax against DecodeMessages' result: the
// same with a bound it meets, ErrTooManyMessages with one below it, an
// error whenever DecodeMessages has one.
func checkMax(t *testing.T, b []byte, msgs []string, err error) {
	t.Helper()
	if err != nil {
		for _, max := range []int{-1, 0, 1, 1 << 20} {
			if _, err2 := DecodeMessagesMax(b, max); err2 == nil {
				t.Fatalf("DecodeMessagesMax(%d) accepts what DecodeMessages refuses (%v)", max, err)
			}
		}
		return
	}
	for _, max := range []int{-1, len(msgs), len(msgs) + 1} {
		got, err := DecodeMessagesMax(b, max)
		if err != nil || len(got) != len(msgs) {
			t.Fatalf("DecodeMessagesMax(%d) = %d messages, %v; want %d", max, len(got), err, len(msgs))
		}
	}
	// Appending after messages already there: the same messages after
	// them, the bound counting only the new ones.
	prefix := []string{"kept", ""}
	for _, max := range []int{-1, len(msgs)} {
		got, err := AppendMessagesMax(slices.Clip(prefix), b, max)
		if err != nil || len(got) != len(prefix)+len(msgs) || !slices.Equal(got[:len(prefix)], prefix) || !slices.Equal(got[len(prefix):], msgs) {
			t.Fatalf("AppendMessagesMax(2 kept, %d) = %q, %v; want the 2 then %q", max, got, err, msgs)
		}
	}
	if len(msgs) > 0 {
		if _, err := AppendMessagesMax(prefix[:1], b, len(msgs)-1); err != ErrTooManyMessages {
			t.Fatalf("AppendMessagesMax(1 kept, %d) of %d messages = %v, want ErrTooManyMessages", len(msgs)-1, len(msgs), err)
		}
		if _, err := DecodeMessagesMax(b, len(msgs)-1); err != ErrTooManyMessages {
			t.Fatalf("DecodeMessagesMax(%d) of %d messages = %v, want ErrTooManyMessages", len(msgs)-1, len(msgs), err)
		}
	}
}

// esUnescaper undoes AppendEventSourceData.
var esUnescaper = strings.NewReplacer("%25", "%", "%0D", "\r", "%0A", "\n", "%00", "\x00")

// FuzzRoundTrip encodes arbitrary strings and decodes them again: the result
// must be the input after normalize (each invalid byte becomes U+FFFD, an
// adjacent WTF-8 high and low surrogate become one code point). It also
// checks AppendQuote against refQuote, and the wrappers used by htmlfile,
// jsonp and eventsource.
func FuzzRoundTrip(f *testing.F) {
	f.Add("", "")
	f.Add("hello", "world")
	f.Add("<script>&</script>", "\u2028\u2029")
	f.Add("\x00\x01\b\f\n\r\t\x1f\x7f", `"\/`)
	f.Add("안녕하세요 😀", "\u200c\u200f\u202f\u2060\u206f\ufff0\ufffd\uffff")
	f.Add(wtf8(0xd800), wtf8(0xd83d)+wtf8(0xde00))
	f.Add("\xff\xc3\xe4\xb8\xf0\x9f\x98", "\xed\xa0\x80\xed\xb0\x80")
	f.Add("%41\r\n\x00", strings.Repeat("abcdefgh", 5)+"<")
	f.Fuzz(func(t *testing.T, a, b string) {
		q := AppendQuote(nil, a)
		if ref := refQuote(a); string(q) != ref {
			t.Fatalf("AppendQuote(%+q) = %s, refQuote gives %s", a, q, ref)
		}
		if !utf8.Valid(q) || bytes.ContainsAny(q, "<>&\u2028\u2029\x00\n\r") {
			t.Fatalf("AppendQuote(%+q) = %+q is not safe", a, q)
		}
		for _, msgs := range [][]string{{a}, {a, b}} {
			frame := AppendMessages(nil, msgs)
			got, err := DecodeMessages(frame[1:])
			if err != nil {
				t.Fatalf("DecodeMessages(%+q): %v", frame[1:], err)
			}
			if len(got) != len(msgs) {
				t.Fatalf("round trip of %+q gives %+q", msgs, got)
			}
			for i := range msgs {
				if want := normalize(msgs[i]); got[i] != want {
					t.Fatalf("round trip of %+q gives %+q, want %+q", msgs[i], got[i], want)
				}
			}
			// J(F) parses back to F.
			var back string
			js := AppendJSString(nil, frame)
			if err := json.Unmarshal(js, &back); err != nil || back != string(frame) {
				t.Fatalf("J(%s) = %s parses to %q, %v", frame, js, back, err)
			}
			// esc(F) has no CR, LF or NUL and unescapes to F.
			es := AppendEventSourceData(nil, frame)
			if bytes.ContainsAny(es, "\r\n\x00") {
				t.Fatalf("esc(%q) = %q", frame, es)
			}
			un := esUnescaper.Replace(string(es))
			if un != string(frame) {
				t.Fatalf("esc(%q) = %q does not unescape", frame, es)
			}
		}
		cl := AppendClose(nil, 3000, a)
		var v []any
		if err := json.Unmarshal(cl[1:], &v); err != nil || len(v) != 2 || v[0] != float64(3000) {
			t.Fatalf("AppendClose gives %s: %v, %v", cl, v, err)
		}
	})
}
