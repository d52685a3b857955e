package frame

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// wtf8 returns the generalized UTF-8 (WTF-8) form of the UTF-16 code unit
// cu, which may be a surrogate.
func wtf8(cu rune) string {
	if cu < 0xd800 || cu > 0xdfff {
		return string(cu)
	}
	return string([]byte{0xe0 | byte(cu>>12), 0x80 | byte(cu>>6)&0x3f, 0x80 | byte(cu)&0x3f})
}

// inSockJSRanges reports whether r is one of the code points SockJS escapes
// beyond what JSON requires.
func inSockJSRanges(r rune) bool {
	return 0x200c <= r && r <= 0x200f ||
		0x2028 <= r && r <= 0x202f ||
		0x2060 <= r && r <= 0x206f ||
		0xfff0 <= r && r <= 0xffff
}

// refQuote is a deliberately simple reference for AppendQuote: rune by
// rune, with no fast paths.
func refQuote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); {
		if i+2 < len(s) && s[i] == 0xed && 0xa0 <= s[i+1] && s[i+1] <= 0xbf && 0x80 <= s[i+2] && s[i+2] <= 0xbf {
			cu := rune(s[i]&0x0f)<<12 | rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f)
			fmt.Fprintf(&sb, `\u%04x`, cu)
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			sb.WriteString(`\"`)
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\b':
			sb.WriteString(`\b`)
		case r == '\f':
			sb.WriteString(`\f`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20, r == '<', r == '>', r == '&', inSockJSRanges(r):
			// An invalid byte decodes as U+FFFD, which is in the ranges.
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	sb.WriteByte('"')
	return sb.String()
}

// jsonOracle quotes a string with encoding/json and then applies the SockJS
// changes: lower-case hex in \u escapes (encoding/json already uses it) and
// the extra ranges. It is not meant for strings with surrogates in WTF-8.
func jsonOracle(t *testing.T, s string) string {
	t.Helper()
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, r := range string(out) {
		if inSockJSRanges(r) {
			fmt.Fprintf(&sb, `\u%04x`, r)
		} else {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func TestAppendQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"ascii", "hello, world", `"hello, world"`},
		{"long ascii", strings.Repeat("abcdefgh", 9) + "xyz", `"` + strings.Repeat("abcdefgh", 9) + `xyz"`},
		{"quote", `a"b`, `"a\"b"`},
		{"backslash", `a\b`, `"a\\b"`},
		{"slash stays", "a/b", `"a/b"`},
		{"short controls", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"nul", "\x00", `"\u0000"`},
		{"other controls", "\x01\x0b\x1a\x1f", `"\u0001\u000b\u001a\u001f"`},
		{"del raw", "\x7f", "\"\x7f\""},
		{"space raw", " ", `" "`},
		{"html", "<script>&</script>", `"\u003cscript\u003e\u0026\u003c/script\u003e"`},
		{"html comment", "<!--", `"\u003c!--"`},
		{"latin1 raw", "é\u0080\u009f\u00ff", "\"é\u0080\u009f\u00ff\""},
		{"korean raw", "안녕하세요", `"안녕하세요"`},
		{"emoji raw", "😀👍🏽", `"😀👍🏽"`},
		{"max code point raw", "\U0010ffff", "\"\U0010ffff\""},
		{"u+200b raw", "\u200b", "\"\u200b\""},
		{"u+200c", "\u200c", `"\u200c"`},
		{"u+200f", "\u200f", `"\u200f"`},
		{"u+2010 raw", "\u2010", "\"\u2010\""},
		{"u+2027 raw", "\u2027", "\"\u2027\""},
		{"u+2028", "\u2028", `"\u2028"`},
		{"u+2029", "\u2029", `"\u2029"`},
		{"u+202f", "\u202f", `"\u202f"`},
		{"u+2030 raw", "\u2030", "\"\u2030\""},
		{"u+205f raw", "\u205f", "\"\u205f\""},
		{"u+2060", "\u2060", `"\u2060"`},
		{"u+206f", "\u206f", `"\u206f"`},
		{"u+2070 raw", "\u2070", "\"\u2070\""},
		{"u+ffef raw", "\uffef", "\"\uffef\""},
		{"u+fff0", "\ufff0", `"\ufff0"`},
		{"u+fffd itself", "\ufffd", `"\ufffd"`},
		{"u+fffe", "\ufffe", `"\ufffe"`},
		{"u+ffff", "\uffff", `"\uffff"`},
		{"u+feff raw", "\ufeff", "\"\ufeff\""},
		{"lone high surrogate", wtf8(0xd800), `"\ud800"`},
		{"lone low surrogate", wtf8(0xdfff), `"\udfff"`},
		{"surrogate mid string", "a" + wtf8(0xdbff) + "b", `"a\udbffb"`},
		{"reversed pair", wtf8(0xdc00) + wtf8(0xd800), `"\udc00\ud800"`},
		{"wtf8 pair stays escaped", wtf8(0xd83d) + wtf8(0xde00), `"\ud83d\ude00"`},
		{"u+d7ff raw", "\ud7ff", "\"\ud7ff\""},
		{"u+e000 raw", "\ue000", "\"\ue000\""},
		{"continuation byte", "a\x80b", `"a\ufffdb"`},
		{"lone lead bytes", "\xc3\xe4\xf0", `"\ufffd\ufffd\ufffd"`},
		{"truncated 3-byte", "\xe4\xb8", `"\ufffd\ufffd"`},
		{"truncated then ascii", "\xe4\xb8x", `"\ufffd\ufffdx"`},
		{"truncated 4-byte", "\xf0\x9f\x98", `"\ufffd\ufffd\ufffd"`},
		{"overlong 2-byte", "\xc0\xaf", `"\ufffd\ufffd"`},
		{"overlong 3-byte", "\xe0\x80\xaf", `"\ufffd\ufffd\ufffd"`},
		{"overlong 4-byte", "\xf0\x80\x80\xaf", `"\ufffd\ufffd\ufffd\ufffd"`},
		{"beyond u+10ffff", "\xf4\x90\x80\x80", `"\ufffd\ufffd\ufffd\ufffd"`},
		{"f5 lead", "\xf5\x80\x80\x80", `"\ufffd\ufffd\ufffd\ufffd"`},
		{"ff byte", "\xff", `"\ufffd"`},
		{"truncated surrogate", "\xed\xa0", `"\ufffd\ufffd"`},
		{"e2 truncated", "\xe2\x80", `"\ufffd\ufffd"`},
		{"ef truncated", "\xef\xbf", `"\ufffd\ufffd"`},
		{"escape after 8 clean bytes", "abcdefgh<", `"abcdefgh\u003c"`},
		{"escape at byte 7", "abcdefg\n12345678", `"abcdefg\n12345678"`},
		{"mixed", "a<\u2028한😀\x00" + wtf8(0xd800) + "\xff", `"a\u003c\u2028한😀\u0000\ud800\ufffd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendQuote(nil, tt.in))
			if got != tt.want {
				t.Errorf("AppendQuote(%+q) = %s, want %s", tt.in, got, tt.want)
			}
			if ref := refQuote(tt.in); ref != tt.want {
				t.Errorf("refQuote(%+q) = %s, want %s (test reference disagrees)", tt.in, ref, tt.want)
			}
			if got := string(AppendJSString(nil, []byte(tt.in))); got != tt.want {
				t.Errorf("AppendJSString(%+q) = %s, want %s", tt.in, got, tt.want)
			}
			if got := string(AppendQuote([]byte("prefix"), tt.in)); got != "prefix"+tt.want {
				t.Errorf("AppendQuote with prefix = %s", got)
			}
		})
	}
}

// TestAppendQuoteEveryCodeUnit encodes every UTF-16 code unit 0..0xFFFF on
// its own, as a JavaScript string of length one (surrogates in WTF-8), and
// compares with encoding/json plus the SockJS ranges. For surrogates the
// expectation is what JavaScript's (well-formed) JSON.stringify gives: \udxxx.
func TestAppendQuoteEveryCodeUnit(t *testing.T) {
	var all, allWant strings.Builder
	allWant.WriteByte('"')
	for cu := rune(0); cu <= 0xffff; cu++ {
		s := wtf8(cu)
		var want string
		if 0xd800 <= cu && cu <= 0xdfff {
			want = fmt.Sprintf(`"\u%04x"`, cu)
		} else {
			want = jsonOracle(t, s)
		}
		got := string(AppendQuote(nil, s))
		if got != want {
			t.Errorf("U+%04X: got %s, want %s", cu, got, want)
		}
		// Padded, so that the SWAR path and the tail both see it.
		if got, want := string(AppendQuote(nil, "01234567"+s+"89abcdef")), `"01234567`+want[1:len(want)-1]+`89abcdef"`; got != want {
			t.Errorf("U+%04X padded: got %s, want %s", cu, got, want)
		}
		all.WriteString(s)
		allWant.WriteString(want[1 : len(want)-1])
	}
	allWant.WriteByte('"')
	// All of them in one string; adjacent WTF-8 surrogates stay separate
	// escapes, exactly like the code units of a JavaScript string.
	if got := string(AppendQuote(nil, all.String())); got != allWant.String() {
		t.Errorf("all code units in one string differ from the concatenation of the single ones")
	}
}

// TestAppendQuoteRandomAgainstReference compares the optimised encoder with
// refQuote on random strings built to hit every path and every alignment.
func TestAppendQuoteRandomAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{
		"a", "bcdefghij", "0123456789abcdef", " ", "\"", "\\", "<", ">", "&", "/", "\x00", "\n", "\x1f", "\x7f",
		"é", "한", "😀", "\u2028", "\u200c", "\u2060", "\u206f", "\u2070", "\ufff0", "\ufffd", "\uffff", "\uffef",
		wtf8(0xd800), wtf8(0xdbff), wtf8(0xdc00), wtf8(0xdfff),
		"\x80", "\xff", "\xc3", "\xe4\xb8", "\xf0\x9f", "\xed", "\xe2", "\xef\xbf", "\xf4\x90\x80\x80",
	}
	for n := 0; n < 20000; n++ {
		var sb strings.Builder
		k := r.IntN(20)
		for range k {
			if r.IntN(4) == 0 {
				sb.WriteByte(byte(r.Uint32()))
			} else {
				sb.WriteString(pieces[r.IntN(len(pieces))])
			}
		}
		s := sb.String()
		if got, want := string(AppendQuote(nil, s)), refQuote(s); got != want {
			t.Fatalf("AppendQuote(%+q) = %s, want %s", s, got, want)
		}
	}
}

// The code points the protocol suite sends in JSONEncoding.
func serverEscapable(r rune) bool { return r <= 0x1f || inSockJSRanges(r) }

// serverKillerStringEsc is server_killer_string_esc from
// sockjs-protocol.py: every code point from 255 to 65535 that the server
// must escape, escaped as \uxxxx, in a JSON string literal.
func serverKillerStringEsc() (raw, esc string) {
	var r, e strings.Builder
	e.WriteByte('"')
	for cp := rune(255); cp < 0x10000; cp++ {
		if serverEscapable(cp) {
			r.WriteRune(cp)
			fmt.Fprintf(&e, `\u%04x`, cp)
		}
	}
	e.WriteByte('"')
	return r.String(), e.String()
}

// TestServerKillerString replays JSONEncoding.test_xhr_server_encodes: the
// client posts the raw characters, and the body of the next poll, stripped
// of "a[" and "]", must be server_killer_string_esc exactly.
func TestServerKillerString(t *testing.T) {
	raw, esc := serverKillerStringEsc()
	if n := strings.Count(esc, `\u`); n != 4+8+16+16 {
		t.Fatalf("server killer string has %d code points, want 44", n)
	}
	if got := string(AppendQuote(nil, raw)); got != esc {
		t.Errorf("AppendQuote(server killer) = %s, want %s", got, esc)
	}
	msgs, err := DecodeMessages([]byte(`["` + raw + `"]`))
	if err != nil {
		t.Fatal(err)
	}
	frame := AppendMessages(nil, msgs)
	if got := string(frame[2 : len(frame)-1]); got != esc {
		t.Errorf("frame body = %s, want %s", got, esc)
	}
	// Each code point on its own as well.
	for _, r := range raw {
		if got, want := string(AppendQuote(nil, string(r))), fmt.Sprintf(`"\u%04x"`, r); got != want {
			t.Errorf("U+%04X: got %s, want %s", r, got, want)
		}
	}
}

// clientEscapable lists the ranges of escapable_by_client in
// sockjs-protocol.py (duplicates included, as there).
var clientEscapable = [][2]rune{
	{'"', '"'}, {0x00, 0x1f}, {0x7f, 0x9f}, {0xad, 0xad}, {0x600, 0x604}, {0x70f, 0x70f},
	{0x17b4, 0x17b5}, {0x2000, 0x20ff}, {0xfeff, 0xfeff}, {0xfff0, 0xffff},
	{0x300, 0x333}, {0x33d, 0x346}, {0x34a, 0x34c}, {0x350, 0x352}, {0x357, 0x358},
	{0x35c, 0x362}, {0x374, 0x374}, {0x37e, 0x37e}, {0x387, 0x387}, {0x591, 0x5af},
	{0x5c4, 0x5c4}, {0x610, 0x617}, {0x653, 0x654}, {0x657, 0x65b}, {0x65d, 0x65e},
	{0x6df, 0x6e2}, {0x6eb, 0x6ec}, {0x730, 0x730}, {0x732, 0x733}, {0x735, 0x736},
	{0x73a, 0x73a}, {0x73d, 0x73d}, {0x73f, 0x741}, {0x743, 0x743}, {0x745, 0x745},
	{0x747, 0x747}, {0x7eb, 0x7f1}, {0x951, 0x951}, {0x958, 0x95f}, {0x9dc, 0x9dd},
	{0x9df, 0x9df}, {0xa33, 0xa33}, {0xa36, 0xa36}, {0xa59, 0xa5b}, {0xa5e, 0xa5e},
	{0xb5c, 0xb5d}, {0xe38, 0xe39}, {0xf43, 0xf43}, {0xf4d, 0xf4d}, {0xf52, 0xf52},
	{0xf57, 0xf57}, {0xf5c, 0xf5c}, {0xf69, 0xf69}, {0xf72, 0xf76}, {0xf78, 0xf78},
	{0xf80, 0xf83}, {0xf93, 0xf93}, {0xf9d, 0xf9d}, {0xfa2, 0xfa2}, {0xfa7, 0xfa7},
	{0xfac, 0xfac}, {0xfb9, 0xfb9}, {0x1939, 0x193a}, {0x1a17, 0x1a17}, {0x1b6b, 0x1b6b},
	{0x1cda, 0x1cdb}, {0x1dc0, 0x1dcf}, {0x1dfc, 0x1dfc}, {0x1dfe, 0x1dfe}, {0x1f71, 0x1f71},
	{0x1f73, 0x1f73}, {0x1f75, 0x1f75}, {0x1f77, 0x1f77}, {0x1f79, 0x1f79}, {0x1f7b, 0x1f7b},
	{0x1f7d, 0x1f7d}, {0x1fbb, 0x1fbb}, {0x1fbe, 0x1fbe}, {0x1fc9, 0x1fc9}, {0x1fcb, 0x1fcb},
	{0x1fd3, 0x1fd3}, {0x1fdb, 0x1fdb}, {0x1fe3, 0x1fe3}, {0x1feb, 0x1feb}, {0x1fee, 0x1fef},
	{0x1ff9, 0x1ff9}, {0x1ffb, 0x1ffb}, {0x1ffd, 0x1ffd}, {0x2126, 0x2126}, {0x212a, 0x212b},
	{0x2329, 0x232a}, {0x2adc, 0x2adc}, {0x302b, 0x302c}, {0xaab2, 0xaab3}, {0xf900, 0xfa0d},
	{0xfa10, 0xfa10}, {0xfa12, 0xfa12}, {0xfa15, 0xfa1e}, {0xfa20, 0xfa20}, {0xfa22, 0xfa22},
	{0xfa25, 0xfa26}, {0xfa2a, 0xfa2d}, {0xfa30, 0xfa6d}, {0xfa70, 0xfad9}, {0xfb1d, 0xfb1d},
	{0xfb1f, 0xfb1f}, {0xfb2a, 0xfb36}, {0xfb38, 0xfb3c}, {0xfb3e, 0xfb3e}, {0xfb40, 0xfb41},
	{0xfb43, 0xfb44}, {0xfb46, 0xfb4e},
}

// TestClientKillerString replays JSONEncoding.test_xhr_server_decodes: the
// client posts client_killer_string_esc (every code point of
// escapable_by_client as \uxxxx) and the echo, parsed as JSON, must equal
// it parsed as JSON.
func TestClientKillerString(t *testing.T) {
	var esc strings.Builder
	var want []rune
	esc.WriteByte('"')
	for cp := rune(0); cp < 0x10000; cp++ {
		for _, rg := range clientEscapable {
			if rg[0] <= cp && cp <= rg[1] {
				fmt.Fprintf(&esc, `\u%04x`, cp)
				want = append(want, cp)
				break
			}
		}
	}
	esc.WriteByte('"')
	msgs, err := DecodeMessages([]byte("[" + esc.String() + "]"))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0] != string(want) {
		t.Fatalf("decoded client killer string differs")
	}
	frame := AppendMessages(nil, msgs)
	var back []string
	if err := json.Unmarshal(frame[1:], &back); err != nil {
		t.Fatal(err)
	}
	var orig string
	if err := json.Unmarshal([]byte(esc.String()), &orig); err != nil {
		t.Fatal(err)
	}
	if len(back) != 1 || back[0] != orig {
		t.Errorf("echo of client killer string differs after JSON parsing")
	}
}

func TestAppendMessages(t *testing.T) {
	tests := []struct {
		name string
		msgs []string
		want string
	}{
		{"nil", nil, `a[]`},
		{"empty", []string{}, `a[]`},
		{"one empty string", []string{""}, `a[""]`},
		{"one", []string{"x"}, `a["x"]`},
		{"two", []string{"m1", "m2"}, `a["m1","m2"]`},
		{"escapes", []string{`"`, "\n", "<\u2028>"}, `a["\"","\n","\u003c\u2028\u003e"]`},
		{"suite eventsource payload", []string{"  \x00\n\r "}, `a["  \u0000\n\r "]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendMessages(nil, tt.msgs)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if got := string(AppendMessages([]byte("x"), tt.msgs)); got != "x"+tt.want {
				t.Errorf("with prefix: got %s", got)
			}
		})
	}
}

func TestAppendClose(t *testing.T) {
	tests := []struct {
		name   string
		code   int
		reason string
		want   string
	}{
		{"go away", 3000, "Go away!", `c[3000,"Go away!"]`},
		{"another connection", 2010, "Another connection still open", `c[2010,"Another connection still open"]`},
		{"interrupted", 1002, "Connection interrupted", `c[1002,"Connection interrupted"]`},
		{"normal", 1000, "Normal closure", `c[1000,"Normal closure"]`},
		{"empty reason", 3000, "", `c[3000,""]`},
		{"escaped reason", 4000, "<\"x\">", `c[4000,"\u003c\"x\"\u003e"]`},
		{"zero", 0, "x", `c[0,"x"]`},
		{"negative", -1, "x", `c[-1,"x"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendClose(nil, tt.code, tt.reason)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAppendJSString(t *testing.T) {
	tests := []struct {
		name, frame, want string
	}{
		{"open", "o", `"o"`},
		{"heartbeat", "h", `"h"`},
		{"suite jsonp message", `a["x"]`, `"a[\"x\"]"`},
		{"close", `c[3000,"Go away!"]`, `"c[3000,\"Go away!\"]"`},
		{"escaped message", `a["\u2028\n"]`, `"a[\"\\u2028\\n\"]"`},
		// Frames built by this package never hold these raw, but
		// AppendJSString must be safe on its own.
		{"raw script end", `a["</script>"]`, `"a[\"\u003c/script\u003e\"]"`},
		{"raw line separators", "\u2028\u2029", `"\u2028\u2029"`},
		{"raw html comment", "<!--", `"\u003c!--"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendJSString(nil, []byte(tt.frame))); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			var back string
			if err := json.Unmarshal([]byte(tt.want), &back); err != nil || back != tt.frame {
				t.Errorf("JSON parsing %s gives %q, %v; want %q", tt.want, back, err, tt.frame)
			}
		})
	}
}

// TestHTMLSafety checks §9 of the protocol notes: a message cannot end the
// script element of htmlfile or break jsonp, whatever it contains.
func TestHTMLSafety(t *testing.T) {
	for _, m := range []string{"</script>", "</SCRIPT >", "<!--", "<script>", "]]>", "\u2028", "\u2029", "&lt;"} {
		t.Run(m, func(t *testing.T) {
			f := AppendMessages(nil, []string{m})
			j := string(AppendJSString(nil, f))
			for _, bad := range []string{"<", ">", "&", "\u2028", "\u2029"} {
				if strings.Contains(string(f), bad) || strings.Contains(j, bad) {
					t.Errorf("%q: frame %s or J(frame) %s contains %q", m, f, j, bad)
				}
			}
		})
	}
}

func TestAppendEventSourceData(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", `a["x"]`, `a["x"]`},
		{"suite payload", `a["  \u0000\n\r "]`, `a["  \u0000\n\r "]`},
		{"percent", `a["%41"]`, `a["%2541"]`},
		{"cr lf nul", "\r\n\x00", "%0D%0A%00"},
		{"mixed", "a%b\rc\nd\x00e", "a%25b%0Dc%0Ad%00e"},
		{"other bytes kept", "\x01\t\x7f한<&", "\x01\t\x7f한<&"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendEventSourceData(nil, []byte(tt.in))); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got := string(AppendEventSourceData([]byte("data: "), []byte(tt.in))); got != "data: "+tt.want {
				t.Errorf("with prefix: got %q", got)
			}
		})
	}
}

func TestValidCallback(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"simple", "callback", true},
		{"all classes", "aZ09_.-", true},
		{"dotted", "parent.foo_bar-1", true},
		{"single", "x", true},
		{"32 chars", strings.Repeat("a", 32), true},
		{"33 chars", strings.Repeat("a", 33), false},
		{"empty", "", false},
		{"space", " ", false},
		{"star", "*", false},
		{"paren", "abc(", false},
		{"percent", "abc%28", false},
		{"semicolon", "a;b", false},
		{"quote", `a"`, false},
		{"angle", "a<", false},
		{"nul", "a\x00", false},
		{"non-ascii", "é", false},
		{"newline", "a\n", false},
		{"slash", "a/b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidCallback(tt.in); got != tt.want {
				t.Errorf("ValidCallback(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFrameConstants(t *testing.T) {
	if Open != "o" || Heartbeat != "h" {
		t.Errorf("Open = %q, Heartbeat = %q", Open, Heartbeat)
	}
	if ErrPayloadExpected.Error() != "Payload expected." || ErrBrokenJSON.Error() != "Broken JSON encoding." {
		t.Errorf("error texts: %q, %q", ErrPayloadExpected, ErrBrokenJSON)
	}
}

// TestAppendNoAllocs checks that encoding allocates nothing when dst has
// room for the result.
func TestAppendNoAllocs(t *testing.T) {
	msgs := []string{strings.Repeat("안녕 <😀> \u2028\x00"+wtf8(0xd800)+"\xff ascii text ", 20), "short"}
	frame := AppendMessages(nil, msgs)
	dst := make([]byte, 0, 8*len(frame))
	tests := []struct {
		name string
		f    func()
	}{
		{"AppendQuote", func() { AppendQuote(dst, msgs[0]) }},
		{"AppendMessages", func() { AppendMessages(dst, msgs) }},
		{"AppendClose", func() { AppendClose(dst, 3000, msgs[0]) }},
		{"AppendJSString", func() { AppendJSString(dst, frame) }},
		{"AppendEventSourceData", func() { AppendEventSourceData(dst, frame) }},
		{"ValidCallback", func() { ValidCallback("callback") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.f); n != 0 {
				t.Errorf("%v allocations, want 0", n)
			}
		})
	}
}
