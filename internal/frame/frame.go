// Package frame encodes and decodes SockJS 0.3.3 frames and messages.
//
// Server to client, a SockJS connection carries four kinds of frame:
//
//	o                   open (Open)
//	h                   heartbeat (Heartbeat)
//	a["m1","m2"]        messages (AppendMessages)
//	c[3000,"Go away!"]  close (AppendClose)
//
// Message strings are JSON string literals with the SockJS escaping rules
// (see AppendQuote). Transports that embed a frame in JavaScript (htmlfile,
// jsonp) wrap it once more with AppendJSString, and eventsource escapes it
// with AppendEventSourceData.
//
// Client to server, every payload is a JSON array of JSON strings, parsed by
// DecodeMessages.
//
// Strings and unpaired UTF-16 surrogates: a JavaScript string may hold an
// unpaired surrogate code unit (U+D800 to U+DFFF). This package carries such
// a code unit inside a Go string as its three-byte generalized UTF-8 form
// (WTF-8: ED A0..BF 80..BF). DecodeMessages produces that form for a
// "\udXXX" escape that is not half of a valid pair, and AppendQuote turns it
// back into "\udXXX", so a JavaScript string survives the round trip exactly.
//
// Everything here is allocation-conscious: the Append functions allocate
// nothing when dst has enough capacity, and DecodeMessages allocates about
// one string per message plus the result slice. The package uses neither
// encoding/json nor reflection.
package frame

import (
	"errors"
	"strconv"
)

// Errors returned by DecodeMessages. The HTTP senders (xhr_send, jsonp_send)
// answer them with status 500 and the error text as the body, which is
// exactly the text SockJS clients and the protocol test suite expect (hence
// the capital letters and full stops, unusual for Go errors).
var (
	// ErrPayloadExpected reports an empty payload (nothing but JSON
	// whitespace), or a payload that is valid JSON but not an array of
	// strings.
	ErrPayloadExpected = errors.New("Payload expected.")
	// ErrBrokenJSON reports a payload that is not valid JSON.
	ErrBrokenJSON = errors.New("Broken JSON encoding.")
	// ErrTooManyMessages: a payload with more messages than
	// DecodeMessagesMax allows.
	ErrTooManyMessages = errors.New("too many messages in one payload")
)

// Single-byte frames.
const (
	// Open is the open frame, the first frame of every session.
	Open = "o"
	// Heartbeat is the heartbeat frame, sent after a period of silence.
	Heartbeat = "h"
)

// AppendMessages appends a messages frame holding msgs to dst and returns
// the extended buffer: a["m1","m2"], with no spaces. Each message is quoted
// with AppendQuote. An empty msgs gives a[].
func AppendMessages(dst []byte, msgs []string) []byte {
	dst = append(dst, 'a', '[')
	for i, m := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendQuote(dst, m)
	}
	return append(dst, ']')
}

// AppendClose appends a close frame to dst and returns the extended buffer:
// c[code,"reason"], for example c[3000,"Go away!"]. The reason is quoted
// with AppendQuote.
func AppendClose(dst []byte, code int, reason string) []byte {
	dst = append(dst, 'c', '[')
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ',')
	dst = appendQuote(dst, reason)
	return append(dst, ']')
}

// AppendEventSourceData appends the frame f to dst with every '%', CR, LF
// and NUL byte replaced by "%25", "%0D", "%0A" and "%00" (what JavaScript's
// escape() gives for them), and returns the extended buffer. This is how a
// frame travels in an eventsource "data: " line: CR, LF and NUL would break
// the event-stream framing, and SockJS clients URI-decode the data, so a
// literal '%' must be escaped too. Every other byte is copied unchanged.
func AppendEventSourceData(dst []byte, f []byte) []byte {
	start := 0
	for i, c := range f {
		var esc string
		switch c {
		case '%':
			esc = "%25"
		case '\r':
			esc = "%0D"
		case '\n':
			esc = "%0A"
		case 0:
			esc = "%00"
		default:
			continue
		}
		dst = append(dst, f[start:i]...)
		dst = append(dst, esc...)
		start = i + 1
	}
	return append(dst, f[start:]...)
}

// maxCallbackLen is the longest callback name ValidCallback accepts; it is
// the limit sockjs-node applies to jsonp callbacks.
const maxCallbackLen = 32

// ValidCallback reports whether name is acceptable as the JavaScript
// callback of the htmlfile and jsonp transports: 1 to 32 characters, each
// one of a-z, A-Z, 0-9, '_', '.' and '-'. Anything else could inject script
// into the response, which is evaluated by the browser.
func ValidCallback(name string) bool {
	if len(name) == 0 || len(name) > maxCallbackLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}
