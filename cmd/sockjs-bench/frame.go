package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The load tool only sends messages it made itself, from [a-z0-9-], so a
// message needs no JSON escaping on the way out and normally none on the way
// back. parseArray still handles escapes (through encoding/json) in case a
// server escapes more than it must.

// appendSendFrame appends msgs as the JSON array a SockJS client sends:
// ["m1","m2"].
func appendSendFrame(dst []byte, msgs [][]byte) []byte {
	dst = append(dst, '[')
	for i, m := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, m...)
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

var errServerClosed = errors.New("server sent a close frame")

// closedError is a SockJS close frame from the server.
type closedError struct{ frame string }

func (e *closedError) Error() string { return "server closed the session: " + e.frame }
func (e *closedError) Unwrap() error { return errServerClosed }

// frameKind classifies a server frame: 'o', 'h', 'a', 'm' (a single
// message, the "m" frame of old protocol versions, unused) or 'c'.
func frameKind(f []byte) byte {
	if len(f) == 0 {
		return 0
	}
	return f[0]
}

// parseArray splits the body of an "a" frame, a["m1","m2"], into its
// messages. Without escapes the messages alias f; with escapes they are
// decoded copies. dst is reused.
func parseArray(dst [][]byte, f []byte) ([][]byte, error) {
	dst = dst[:0]
	if len(f) < 3 || f[0] != 'a' || f[1] != '[' || f[len(f)-1] != ']' {
		return dst, fmt.Errorf("malformed frame %.40q", f)
	}
	body := f[2 : len(f)-1]
	for i := 0; i < len(body); {
		if body[i] != '"' {
			return dst, fmt.Errorf("malformed frame %.40q", f)
		}
		j := i + 1
		for j < len(body) && body[j] != '"' && body[j] != '\\' {
			j++
		}
		if j == len(body) {
			return dst, fmt.Errorf("malformed frame %.40q", f)
		}
		if body[j] == '\\' {
			return parseArraySlow(dst[:0], f)
		}
		dst = append(dst, body[i+1:j])
		i = j + 1
		if i < len(body) {
			if body[i] != ',' {
				return dst, fmt.Errorf("malformed frame %.40q", f)
			}
			i++
		}
	}
	return dst, nil
}

func parseArraySlow(dst [][]byte, f []byte) ([][]byte, error) {
	var msgs []string
	if err := json.Unmarshal(f[1:], &msgs); err != nil {
		return dst, fmt.Errorf("malformed frame %.40q: %v", f, err)
	}
	for _, m := range msgs {
		dst = append(dst, []byte(m))
	}
	return dst, nil
}

// unescapeEventSource undoes the %-escaping of eventsource data in place
// (sockjs-client applies decodeURI-like unescaping of %XX).
func unescapeEventSource(b []byte) []byte {
	if !strings.Contains(string(b), "%") {
		return b
	}
	out := b[:0]
	for i := 0; i < len(b); i++ {
		if b[i] == '%' && i+2 < len(b) {
			if v, ok := unhex(b[i+1], b[i+2]); ok {
				out = append(out, v)
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

func unhex(a, b byte) (byte, bool) {
	h := func(c byte) (byte, bool) {
		switch {
		case '0' <= c && c <= '9':
			return c - '0', true
		case 'a' <= c && c <= 'f':
			return c - 'a' + 10, true
		case 'A' <= c && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	x, ok1 := h(a)
	y, ok2 := h(b)
	return x<<4 | y, ok1 && ok2
}
