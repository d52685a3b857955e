package frame

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeMessages(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		err  error
	}{
		// Shapes.
		{"empty array", `[]`, []string{}, nil},
		{"empty array spaced", " \t\r\n[ \t\r\n] \t\r\n", []string{}, nil},
		{"one", `["a"]`, []string{"a"}, nil},
		{"two", `["a","b"]`, []string{"a", "b"}, nil},
		{"spaced", " [ \"a\" ,\n\"b\"\t] \r\n", []string{"a", "b"}, nil},
		{"empty strings", `["",""]`, []string{"", ""}, nil},
		{"eight", `["1","2","3","4","5","6","7","8"]`, []string{"1", "2", "3", "4", "5", "6", "7", "8"}, nil},

		// Escapes.
		{"short escapes", `["\"\\\/\b\f\n\r\t"]`, []string{"\"\\/\b\f\n\r\t"}, nil},
		{"unicode lower", `["\u00e9\u0041"]`, []string{"éA"}, nil},
		{"unicode upper hex", `["\u00E9\uABCD"]`, []string{"é\uabcd"}, nil},
		{"nul", `["\u0000"]`, []string{"\x00"}, nil},
		{"two-byte escape", `["\u07ff\u0080"]`, []string{"\u07ff\u0080"}, nil},
		{"fffe ffff", `["\ufffe\uffff"]`, []string{"\ufffe\uffff"}, nil},
		{"fffd escape", `["\ufffd"]`, []string{"\ufffd"}, nil},
		{"ranges", `["\u200c\u2028\u2060\ufff0"]`, []string{"\u200c\u2028\u2060\ufff0"}, nil},
		{"surrogate pair", `["\ud83d\ude00"]`, []string{"😀"}, nil},
		{"surrogate pair upper", `["\uD83D\uDE00"]`, []string{"😀"}, nil},
		{"max pair", `["\udbff\udfff"]`, []string{"\U0010ffff"}, nil},
		{"lone high", `["\ud800"]`, []string{wtf8(0xd800)}, nil},
		{"lone low", `["\udc00"]`, []string{wtf8(0xdc00)}, nil},
		{"high then text", `["\ud800x"]`, []string{wtf8(0xd800) + "x"}, nil},
		{"high then high", `["\ud800\ud801"]`, []string{wtf8(0xd800) + wtf8(0xd801)}, nil},
		{"high high low", `["\ud800\ud83d\ude00"]`, []string{wtf8(0xd800) + "😀"}, nil},
		{"low then high", `["\udc00\ud800"]`, []string{wtf8(0xdc00) + wtf8(0xd800)}, nil},
		{"high then non-surrogate escape", `["\ud800\u0041"]`, []string{wtf8(0xd800) + "A"}, nil},
		{"high then short escape", `["\ud800\n"]`, []string{wtf8(0xd800) + "\n"}, nil},
		{"high at end of string", `["a\ud800","b"]`, []string{"a" + wtf8(0xd800), "b"}, nil},
		{"escape mid text", `["abc\ndef","ghi"]`, []string{"abc\ndef", "ghi"}, nil},
		{"escaped html", `["\u003c/script\u003e"]`, []string{"</script>"}, nil},

		// Raw bytes.
		{"raw utf8", `["안녕 😀 é"]`, []string{"안녕 😀 é"}, nil},
		{"raw ranges", "[\"\u2028\ufff0\ufeff\"]", []string{"\u2028\ufff0\ufeff"}, nil},
		{"raw del", "[\"\x7f\"]", []string{"\x7f"}, nil},
		{"raw invalid byte", "[\"a\xffb\"]", []string{"a\ufffdb"}, nil},
		{"raw truncated", "[\"\xe4\xb8\"]", []string{"\ufffd\ufffd"}, nil},
		{"raw wtf8 surrogate", "[\"" + wtf8(0xd800) + "\"]", []string{"\ufffd\ufffd\ufffd"}, nil},
		{"raw overlong", "[\"\xc0\xaf\"]", []string{"\ufffd\ufffd"}, nil},
		{"raw invalid with escape", "[\"\xff\\n\xfe\"]", []string{"\ufffd\n\ufffd"}, nil},
		{"raw invalid long", "[\"" + strings.Repeat("x", 20) + "\xff" + strings.Repeat("y", 20) + "\"]",
			[]string{strings.Repeat("x", 20) + "\ufffd" + strings.Repeat("y", 20)}, nil},
		{"raw invalid outside strings", "\xff", nil, ErrBrokenJSON},

		// Empty payloads.
		{"empty", ``, nil, ErrPayloadExpected},
		{"whitespace", " \t\r\n", nil, ErrPayloadExpected},

		// Valid JSON, not an array of strings (sockjs-node: "Payload expected.").
		{"object", `{}`, nil, ErrPayloadExpected},
		{"object with members", `{"a":["b"],"c":{"d":null}}`, nil, ErrPayloadExpected},
		{"string", `"x"`, nil, ErrPayloadExpected},
		{"empty string", `""`, nil, ErrPayloadExpected},
		{"number", `1`, nil, ErrPayloadExpected},
		{"negative float exp", ` -0.5e+10 `, nil, ErrPayloadExpected},
		{"zero", `0`, nil, ErrPayloadExpected},
		{"null", `null`, nil, ErrPayloadExpected},
		{"true", `true`, nil, ErrPayloadExpected},
		{"false", `false`, nil, ErrPayloadExpected},
		{"array of number", `[1]`, nil, ErrPayloadExpected},
		{"array of null", `[null]`, nil, ErrPayloadExpected},
		{"array of array", `[["a"]]`, nil, ErrPayloadExpected},
		{"array of object", `[{}]`, nil, ErrPayloadExpected},
		{"string then number", `["a",1]`, nil, ErrPayloadExpected},
		{"string then nested", `["a",[[],{"x":[1,2.5e-3,true]}]]`, nil, ErrPayloadExpected},

		// Broken JSON.
		{"unterminated array", `[`, nil, ErrBrokenJSON},
		{"unterminated array after string", `["a"`, nil, ErrBrokenJSON},
		{"unterminated array after comma", `["a",`, nil, ErrBrokenJSON},
		{"unterminated string", `["a`, nil, ErrBrokenJSON},
		{"unterminated escape", `["a\`, nil, ErrBrokenJSON},
		{"trailing comma", `["a",]`, nil, ErrBrokenJSON},
		{"leading comma", `[,"a"]`, nil, ErrBrokenJSON},
		{"missing comma", `["a" "b"]`, nil, ErrBrokenJSON},
		{"colon", `["a":"b"]`, nil, ErrBrokenJSON},
		{"trailing garbage", `["a"]x`, nil, ErrBrokenJSON},
		{"two arrays", `["a"]["b"]`, nil, ErrBrokenJSON},
		{"trailing garbage empty array", `[] x`, nil, ErrBrokenJSON},
		{"single quotes", `['a']`, nil, ErrBrokenJSON},
		{"bad escape", `["\x"]`, nil, ErrBrokenJSON},
		{"bad escape quote", `["\'"]`, nil, ErrBrokenJSON},
		{"short unicode escape", `["\u12"]`, nil, ErrBrokenJSON},
		{"bad hex", `["\u12g4"]`, nil, ErrBrokenJSON},
		{"truncated unicode at end", `["\u00`, nil, ErrBrokenJSON},
		{"high then bad escape", `["\ud800\uZZZZ"]`, nil, ErrBrokenJSON},
		{"high then truncated escape", `["\ud800\u"]`, nil, ErrBrokenJSON},
		{"raw newline", "[\"a\nb\"]", nil, ErrBrokenJSON},
		{"raw tab", "[\"a\tb\"]", nil, ErrBrokenJSON},
		{"raw nul", "[\"\x00\"]", nil, ErrBrokenJSON},
		{"bare word", `abc`, nil, ErrBrokenJSON},
		{"form data", `d=["a"]`, nil, ErrBrokenJSON},
		{"p=p", `p=p`, nil, ErrBrokenJSON},
		{"bom", "\ufeff[]", nil, ErrBrokenJSON},
		{"close bracket", `]`, nil, ErrBrokenJSON},
		{"object unterminated", `{"a":`, nil, ErrBrokenJSON},
		{"object missing colon", `{"a" 1}`, nil, ErrBrokenJSON},
		{"object non-string key", `{1:2}`, nil, ErrBrokenJSON},
		{"object trailing comma", `{"a":1,}`, nil, ErrBrokenJSON},
		{"mismatched brackets", `[1}`, nil, ErrBrokenJSON},
		{"nested mismatched", `["a",{]`, nil, ErrBrokenJSON},
		{"non-string then garbage", `[1]x`, nil, ErrBrokenJSON},
		{"non-string then unterminated", `["a",1`, nil, ErrBrokenJSON},
		{"leading zero", `[01]`, nil, ErrBrokenJSON},
		{"plus number", `+1`, nil, ErrBrokenJSON},
		{"dot number", `.5`, nil, ErrBrokenJSON},
		{"trailing dot", `1.`, nil, ErrBrokenJSON},
		{"bare exponent", `1e`, nil, ErrBrokenJSON},
		{"minus alone", `-`, nil, ErrBrokenJSON},
		{"nan", `NaN`, nil, ErrBrokenJSON},
		{"truncated literal", `tru`, nil, ErrBrokenJSON},
		{"capital literal", `Null`, nil, ErrBrokenJSON},
		{"comment", `["a"] // x`, nil, ErrBrokenJSON},
		{"vertical tab space", "\v[]", nil, ErrBrokenJSON},
		{"nbsp space", "\u00a0[]", nil, ErrBrokenJSON},
		{"deep unterminated", strings.Repeat("[", 100000), nil, ErrBrokenJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMessages([]byte(tt.in))
			if err != tt.err {
				t.Fatalf("DecodeMessages(%+q) error = %v, want %v", tt.in, err, tt.err)
			}
			if err != nil {
				if got != nil {
					t.Errorf("got %q with error", got)
				}
				return
			}
			if got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeMessages(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeMessagesDeepValid(t *testing.T) {
	// Deeply nested, valid JSON: no stack overflow, and the right error.
	const depth = 1 << 20
	b := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
	if _, err := DecodeMessages(b); err != ErrPayloadExpected {
		t.Errorf("deep nesting: %v, want %v", err, ErrPayloadExpected)
	}
	b = []byte(strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth))
	if _, err := DecodeMessages(b); err != ErrPayloadExpected {
		t.Errorf("deep objects: %v, want %v", err, ErrPayloadExpected)
	}
}

func TestDecodeErrorsAreSentinels(t *testing.T) {
	for _, in := range []string{"", "x", "{}"} {
		_, err := DecodeMessages([]byte(in))
		if !errors.Is(err, ErrPayloadExpected) && !errors.Is(err, ErrBrokenJSON) {
			t.Errorf("%q: %v is neither sentinel", in, err)
		}
	}
}

// TestDecodeDoesNotAlias checks that decoded strings do not share memory
// with the input buffer, which callers reuse.
func TestDecodeDoesNotAlias(t *testing.T) {
	b := []byte(`["hello","wor\nld"]`)
	msgs, err := DecodeMessages(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if msgs[0] != "hello" || msgs[1] != "wor\nld" {
		t.Errorf("messages changed with the input: %q", msgs)
	}
}

// normalize gives what a string becomes after AppendQuote and
// DecodeMessages: each byte of invalid UTF-8 becomes U+FFFD, a WTF-8
// surrogate stays (it is escaped and unescaped), except that a WTF-8 high
// surrogate directly followed by a WTF-8 low surrogate becomes the
// supplementary code point they encode (their two escapes form a valid
// pair, exactly as they would in JavaScript).
func normalize(s string) string {
	surrogate := func(i int) rune {
		if i+2 < len(s) && s[i] == 0xed && 0xa0 <= s[i+1] && s[i+1] <= 0xbf && 0x80 <= s[i+2] && s[i+2] <= 0xbf {
			return 0xd000 | rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f)
		}
		return 0
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		if hi := surrogate(i); hi != 0 {
			if lo := surrogate(i + 3); hi < 0xdc00 && lo >= 0xdc00 {
				sb.WriteRune(0x10000 + (hi-0xd800)<<10 + (lo - 0xdc00))
				i += 6
				continue
			}
			sb.WriteString(s[i : i+3])
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		sb.WriteRune(r) // U+FFFD for an invalid byte
		i += size
	}
	return sb.String()
}

func TestNormalize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"valid", "a한😀", "a한😀"},
		{"invalid", "a\xffb\xe4\xb8", "a\ufffdb\ufffd\ufffd"},
		{"lone", wtf8(0xd800), wtf8(0xd800)},
		{"pair", wtf8(0xd83d) + wtf8(0xde00), "😀"},
		{"reversed", wtf8(0xde00) + wtf8(0xd83d), wtf8(0xde00) + wtf8(0xd83d)},
		{"high high low", wtf8(0xd800) + wtf8(0xd83d) + wtf8(0xde00), wtf8(0xd800) + "😀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalize(tt.in); got != tt.want {
				t.Errorf("normalize(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
		})
	}
}

// randomString builds a string like a JavaScript client could send: any
// UTF-16 code units, unpaired surrogates included (in WTF-8), never with
// a high surrogate right before a low one, which would be a pair.
func randomString(r *rand.Rand) string {
	var sb strings.Builder
	prevHigh := false
	for n := r.IntN(40); n > 0; n-- {
		var cu rune
		switch r.IntN(6) {
		case 0:
			cu = rune(r.IntN(0x80))
		case 1:
			cu = rune(r.IntN(0x10000))
		case 2:
			cu = 0xd800 + rune(r.IntN(0x800))
		case 3:
			cu = []rune{0x200c, 0x2028, 0x2029, 0x2060, 0xfff0, 0xfffd, 0xffff, '<', '"', '\\', 0}[r.IntN(11)]
		case 4:
			cu = 0xac00 + rune(r.IntN(0x2ba4)) // Hangul syllables
		default:
			cu = 0x10000 + rune(r.IntN(0x100000))
		}
		if prevHigh && 0xdc00 <= cu && cu <= 0xdfff {
			cu = 'x'
		}
		prevHigh = 0xd800 <= cu && cu <= 0xdbff
		sb.WriteString(wtf8(cu))
	}
	return sb.String()
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 5000; n++ {
		msgs := make([]string, r.IntN(5))
		for i := range msgs {
			msgs[i] = randomString(r)
		}
		frame := AppendMessages(nil, msgs)
		if !utf8.Valid(frame) {
			t.Fatalf("frame for %+q is not valid UTF-8", msgs)
		}
		got, err := DecodeMessages(frame[1:])
		if err != nil {
			t.Fatalf("DecodeMessages(%s): %v", frame[1:], err)
		}
		if len(got) != len(msgs) {
			t.Fatalf("round trip of %+q gives %+q", msgs, got)
		}
		for i := range msgs {
			if got[i] != msgs[i] {
				t.Fatalf("round trip of %+q gives %+q", msgs, got)
			}
		}
	}
}

func TestRoundTripArbitraryBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 5000; n++ {
		b := make([]byte, r.IntN(30))
		for i := range b {
			switch r.IntN(3) {
			case 0:
				b[i] = byte(r.IntN(0x80))
			case 1:
				b[i] = 0xed
			default:
				b[i] = byte(0x80 + r.IntN(0x80))
			}
		}
		s := string(b)
		got, err := DecodeMessages(AppendMessages(nil, []string{s})[1:])
		if err != nil {
			t.Fatal(err)
		}
		if want := normalize(s); len(got) != 1 || got[0] != want {
			t.Fatalf("round trip of %+q gives %+q, want %+q", s, got, want)
		}
	}
}

// TestDecodeAgainstEncodingJSON compares DecodeMessages with encoding/json
// on random inputs made of JSON fragments.
func TestDecodeAgainstEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	frags := []string{
		"[", "]", "{", "}", ",", ":", " ", "\n", `"`, `"a"`, `"\n"`, `"\u00e9"`, `"\ud800"`, `"\ud83d\ude00"`,
		`\`, `\u`, "1", "-0.5e3", "true", "null", "x", "\xff", "\x00", "한", `"\/"`, `""`,
	}
	for n := 0; n < 100000; n++ {
		var sb strings.Builder
		if r.IntN(2) == 0 {
			sb.WriteString("[")
		}
		for k := r.IntN(8); k > 0; k-- {
			sb.WriteString(frags[r.IntN(len(frags))])
		}
		checkAgainstEncodingJSON(t, []byte(sb.String()))
	}
}

// checkAgainstEncodingJSON checks DecodeMessages(b) against encoding/json.
func checkAgainstEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	got, err := DecodeMessages(b)
	if err != nil && got != nil {
		t.Fatalf("%+q: result %q with error %v", b, got, err)
	}
	if strings.Trim(string(b), " \t\r\n") == "" {
		if err != ErrPayloadExpected {
			t.Fatalf("%+q: error %v, want %v", b, err, ErrPayloadExpected)
		}
		return
	}
	if strings.Count(string(b), "[")+strings.Count(string(b), "{") > 9000 {
		return // beyond encoding/json's nesting limit
	}
	if !json.Valid(b) {
		if err != ErrBrokenJSON {
			t.Fatalf("%+q: error %v, want %v", b, err, ErrBrokenJSON)
		}
		return
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // 1e700 is valid JSON but not a float64
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%+q: json.Valid but Unmarshal fails: %v", b, err)
	}
	arr, isArray := v.([]any)
	var want []string
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			isArray = false
			break
		}
		want = append(want, s)
	}
	if !isArray {
		if err != ErrPayloadExpected {
			t.Fatalf("%+q: error %v, want %v", b, err, ErrPayloadExpected)
		}
		return
	}
	if err != nil {
		t.Fatalf("%+q: error %v, want %+q", b, err, want)
	}
	if len(got) != len(want) {
		t.Fatalf("%+q: got %+q, want %+q", b, got, want)
	}
	for i := range got {
		// encoding/json turns an unpaired surrogate escape into U+FFFD;
		// DecodeMessages keeps it in WTF-8.
		if g := surrogatesToFFFD(got[i]); g != want[i] {
			t.Fatalf("%+q: got %+q, want %+q", b, got, want)
		}
	}
}

// surrogatesToFFFD replaces each WTF-8 surrogate in s with U+FFFD.
func surrogatesToFFFD(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		if i+2 < len(s) && s[i] == 0xed && s[i+1] >= 0xa0 && s[i+1] <= 0xbf && s[i+2]&0xc0 == 0x80 {
			sb.WriteRune(utf8.RuneError)
			i += 3
			continue
		}
		sb.WriteByte(s[i])
		i++
	}
	return sb.String()
}

// TestDecodeAllocs checks the allocation budget: a string without escapes
// is one conversion; the result slice is one more.
func TestDecodeAllocs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  float64
	}{
		{"empty array", `[]`, 0},
		{"one plain", `["hello world"]`, 2},
		{"one escaped", `["hello\nworld"]`, 2},
		{"one long escaped", `["` + strings.Repeat(`x\n`, 100) + `"]`, 3},
		{"two plain", `["a","b"]`, 3},
		{"error", `x`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			if n := testing.AllocsPerRun(100, func() { DecodeMessages(b) }); n > tt.max {
				t.Errorf("%v allocations, want at most %v", n, tt.max)
			}
		})
	}
}

func TestDecodeMessagesMax(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		n    int
		want error
	}{
		{`[]`, 0, 0, nil},
		{`["a"]`, 0, 0, ErrTooManyMessages},
		{`["a"]`, 1, 1, nil},
		{`["","",""]`, 2, 0, ErrTooManyMessages},
		{`["","",""]`, 3, 3, nil},
		{`["","",""]`, -1, 3, nil},
		// It stops at the message over the bound, before what follows.
		{`["","",""` + strings.Repeat(" ", 10) + `x`, 2, 0, ErrTooManyMessages},
		{`["","",1]`, 5, 0, ErrPayloadExpected},
	} {
		got, err := DecodeMessagesMax([]byte(tt.in), tt.max)
		if err != tt.want || len(got) != tt.n {
			t.Errorf("DecodeMessagesMax(%q, %d) = %d messages, %v; want %d, %v", tt.in, tt.max, len(got), err, tt.n, tt.want)
		}
	}
}
