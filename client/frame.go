package client

import (
	"strconv"

	"github.com/go-sockjs/sockjs/internal/frame"
)

// frameKind is the type of a frame received from the server.
type frameKind uint8

const (
	frameHeartbeat frameKind = iota // h (also the xhr-streaming prelude), or an empty frame
	frameOpen                       // o
	frameMessages                   // a[...] (or the legacy m"...")
	frameClose                      // c[code,"reason"]
)

// inFrame is one decoded frame from the server.
type inFrame struct {
	kind   frameKind
	msgs   []string // frameMessages
	code   int      // frameClose
	reason string   // frameClose

	// fromWebSocket marks a frameClose made from a WebSocket close frame
	// rather than a c[...] frame.
	fromWebSocket bool
}

// parseFrame decodes one SockJS frame, as found on a line of an xhr
// response, in the data of an eventsource event or in a websocket text
// message. The result does not alias b.
//
// A frame made only of 'h' bytes is a heartbeat: this covers both h and the
// 2048-byte prelude of xhr-streaming. An empty frame is ignored like a
// heartbeat, as sockjs-client does. Message payloads keep unpaired UTF-16
// surrogates as WTF-8 bytes (see frame.DecodeMessages).
func parseFrame(b []byte) (inFrame, error) {
	if len(b) == 0 {
		return inFrame{kind: frameHeartbeat}, nil
	}
	switch b[0] {
	case 'o':
		if len(b) == 1 {
			return inFrame{kind: frameOpen}, nil
		}
	case 'h':
		if allH(b) {
			return inFrame{kind: frameHeartbeat}, nil
		}
	case 'a':
		msgs, err := frame.DecodeMessages(b[1:])
		if err != nil {
			return inFrame{}, protocolError("bad messages frame %s: %v", quoteFrame(b), err)
		}
		return inFrame{kind: frameMessages, msgs: msgs}, nil
	case 'm':
		// A single JSON string; no server in use today sends it, but
		// sockjs-client still accepts it.
		s, ok := oneString(b[1:])
		if !ok {
			return inFrame{}, protocolError("bad message frame %s", quoteFrame(b))
		}
		return inFrame{kind: frameMessages, msgs: []string{s}}, nil
	case 'c':
		code, reason, ok := parseClose(b[1:])
		if !ok {
			return inFrame{}, protocolError("bad close frame %s", quoteFrame(b))
		}
		return inFrame{kind: frameClose, code: code, reason: reason}, nil
	}
	return inFrame{}, protocolError("unknown frame %s", quoteFrame(b))
}

func allH(b []byte) bool {
	for _, c := range b {
		if c != 'h' {
			return false
		}
	}
	return true
}

// oneString decodes b, a single JSON string literal with optional JSON
// whitespace around it.
func oneString(b []byte) (string, bool) {
	buf := make([]byte, 0, len(b)+2)
	buf = append(buf, '[')
	buf = append(buf, b...)
	buf = append(buf, ']')
	msgs, err := frame.DecodeMessages(buf)
	if err != nil || len(msgs) != 1 {
		return "", false
	}
	return msgs[0], true
}

// parseClose decodes the payload of a close frame: [code,"reason"], with
// optional JSON whitespace. The code must be a JSON integer that fits in an
// int32.
func parseClose(b []byte) (code int, reason string, ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return 0, "", false
	}
	i = skipWS(b, i+1)
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := i
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	if i == digits || i-digits > 1 && b[digits] == '0' {
		return 0, "", false // no digits, or a leading zero
	}
	n, err := strconv.ParseInt(string(b[start:i]), 10, 32)
	if err != nil {
		return 0, "", false
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ',' {
		return 0, "", false
	}
	// What is left, `"reason"]`, is decoded as the tail of a one-string
	// array.
	rest := b[i:]
	buf := make([]byte, 0, len(rest))
	buf = append(buf, '[')
	buf = append(buf, rest[1:]...)
	msgs, err := frame.DecodeMessages(buf)
	if err != nil || len(msgs) != 1 {
		return 0, "", false
	}
	return int(n), msgs[0], true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// quoteFrame shortens a frame for an error message.
func quoteFrame(b []byte) string {
	const max = 64
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// appendPayload appends msgs as the JSON array of strings that xhr_send
// and the framed websocket expect, ["m1","m2"], escaped like the server
// escapes its frames; an unpaired surrogate held as WTF-8 goes out as
// \udXXX.
func appendPayload(dst []byte, msgs []string) []byte {
	// frame.AppendMessages writes the a[...] frame; the payload is the same
	// without the leading 'a'.
	n := len(dst)
	dst = frame.AppendMessages(dst, msgs)
	copy(dst[n:], dst[n+1:])
	return dst[:len(dst)-1]
}
