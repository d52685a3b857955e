package client

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/go-sockjs/sockjs/internal/frame"
)

func TestParseFrame(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want inFrame
		err  bool
	}{
		{name: "open", in: "o", want: inFrame{kind: frameOpen}},
		{name: "heartbeat", in: "h", want: inFrame{kind: frameHeartbeat}},
		{name: "prelude", in: strings.Repeat("h", 2048), want: inFrame{kind: frameHeartbeat}},
		{name: "empty", in: "", want: inFrame{kind: frameHeartbeat}},
		{name: "messages", in: `a["a","b"]`, want: inFrame{kind: frameMessages, msgs: []string{"a", "b"}}},
		{name: "no messages", in: `a[]`, want: inFrame{kind: frameMessages, msgs: []string{}}},
		{name: "spaces", in: `a[ "x" , "y" ]`, want: inFrame{kind: frameMessages, msgs: []string{"x", "y"}}},
		{name: "escapes", in: `a["\u0000\n\r \"\\\/ \u2028 \ud83d\ude00"]`, want: inFrame{kind: frameMessages, msgs: []string{"\x00\n\r \"\\/ \u2028 😀"}}},
		{name: "raw utf8", in: `a["안녕 😀"]`, want: inFrame{kind: frameMessages, msgs: []string{"안녕 😀"}}},
		{name: "lone surrogate", in: `a["\ud800","x\udfffy"]`, want: inFrame{kind: frameMessages, msgs: []string{wtf8(0xd800), "x" + wtf8(0xdfff) + "y"}}},
		{name: "legacy m", in: `m"hi"`, want: inFrame{kind: frameMessages, msgs: []string{"hi"}}},
		{name: "close", in: `c[3000,"Go away!"]`, want: inFrame{kind: frameClose, code: 3000, reason: "Go away!"}},
		{name: "close 2010", in: `c[2010,"Another connection still open"]`, want: inFrame{kind: frameClose, code: 2010, reason: "Another connection still open"}},
		{name: "close spaces", in: `c[ 1002 , "Connection interrupted" ]`, want: inFrame{kind: frameClose, code: 1002, reason: "Connection interrupted"}},
		{name: "close escaped reason", in: `c[3001,"\u00e9\ud800"]`, want: inFrame{kind: frameClose, code: 3001, reason: "é" + wtf8(0xd800)}},
		{name: "close negative", in: `c[-1,""]`, want: inFrame{kind: frameClose, code: -1, reason: ""}},

		{name: "open with data", in: "ox", err: true},
		{name: "h with data", in: "hx", err: true},
		{name: "unknown", in: "x", err: true},
		{name: "a without array", in: "a", err: true},
		{name: "a broken", in: `a["x"`, err: true},
		{name: "a not strings", in: `a[1]`, err: true},
		{name: "a object", in: `a{}`, err: true},
		{name: "a trailing", in: `a["x"]x`, err: true},
		{name: "m not string", in: `m1`, err: true},
		{name: "close empty", in: `c`, err: true},
		{name: "close no reason", in: `c[3000]`, err: true},
		{name: "close string code", in: `c["3000","x"]`, err: true},
		{name: "close float code", in: `c[3000.5,"x"]`, err: true},
		{name: "close leading zero", in: `c[03000,"x"]`, err: true},
		{name: "close huge code", in: `c[99999999999,"x"]`, err: true},
		{name: "close three items", in: `c[3000,"x","y"]`, err: true},
		{name: "close reason not string", in: `c[3000,1]`, err: true},
		{name: "close unterminated", in: `c[3000,"x"`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFrame([]byte(tt.in))
			if tt.err {
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("parseFrame(%q) = %+v, %v; want an ErrProtocol", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFrame(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseFrame(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendPayload(t *testing.T) {
	tests := []struct {
		msgs []string
		want string
	}{
		{nil, `[]`},
		{[]string{""}, `[""]`},
		{[]string{"a", "b"}, `["a","b"]`},
		{[]string{"\"\\\n\x00"}, `["\"\\\n\u0000"]`},
		{[]string{wtf8(0xd800)}, `["\ud800"]`},
		{[]string{"안녕"}, `["안녕"]`},
	}
	for _, tt := range tests {
		got := string(appendPayload([]byte("prefix"), tt.msgs))
		if got != "prefix"+tt.want {
			t.Errorf("appendPayload(%q) = %s, want prefix%s", tt.msgs, got, tt.want)
		}
		back, err := frame.DecodeMessages([]byte(tt.want))
		if err != nil || len(back) != len(tt.msgs) {
			t.Errorf("decode %s: %q, %v", tt.want, back, err)
			continue
		}
		for i := range back {
			if back[i] != tt.msgs[i] {
				t.Errorf("round trip %q -> %q", tt.msgs[i], back[i])
			}
		}
	}
}

func TestAppendWireUTF8(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc 안녕 😀", "abc 안녕 😀"},
		{wtf8(0xd800), "\ufffd"},
		{"a" + wtf8(0xdbff) + wtf8(0xdc00) + "b", "a\ufffd\ufffdb"},
		{"\xff\xfe", "\ufffd\ufffd"},
		{"\xed\xa0", "\ufffd\ufffd"},
	}
	for _, tt := range tests {
		if got := string(appendWireUTF8(nil, tt.in)); got != tt.want {
			t.Errorf("appendWireUTF8(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
