package transports

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStreams: each streaming transport, taken over from net/http (the
// default on HTTP/1.x) or left in it, sends its headers and prelude, the
// open frame and echoes, each frame as one chunk.
func TestStreams(t *testing.T) {
	for _, hijack := range []bool{true, false} {
		ts, _ := testServer(t, func(c *Config) { c.NoStreamHijack = !hijack })
		for _, tc := range []struct {
			transport, method, query string
			contentType, open        string // the open frame as wrapped
		}{
			{"xhr_streaming", "POST", "", "application/javascript; charset=UTF-8", "o\n"},
			{"eventsource", "GET", "", "text/event-stream", "data: o\r\n\r\n"},
			{"htmlfile", "GET", "?c=cb", "text/html; charset=UTF-8", "<script>\np(\"o\");\n</script>\r\n"},
		} {
			t.Run(fmt.Sprintf("%s/hijack=%v", tc.transport, hijack), func(t *testing.T) {
				id := fmt.Sprintf("%s-%v", tc.transport, hijack)
				req, _ := http.NewRequest(tc.method, ts.URL+"/0/"+id+"/"+tc.transport+tc.query, nil)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				if res.StatusCode != 200 || res.Header.Get("Content-Type") != tc.contentType ||
					!strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
					t.Fatalf("status %d, headers %v", res.StatusCode, res.Header)
				}
				if got := res.Header.Get("Connection") == "close" || res.Close; got != hijack {
					t.Errorf("connection closes after the response: %v, want %v", got, hijack)
				}
				if len(res.TransferEncoding) != 1 || res.TransferEncoding[0] != "chunked" {
					t.Errorf("transfer encoding %v, want chunked", res.TransferEncoding)
				}
				br := bufio.NewReader(res.Body)
				readUntil := func(want string) {
					t.Helper()
					var got []byte
					deadline := time.Now().Add(5 * time.Second)
					for !strings.HasSuffix(string(got), want) {
						if time.Now().After(deadline) {
							t.Fatalf("got %q, want it to end with %q", got, want)
						}
						b, err := br.ReadByte()
						if err != nil {
							t.Fatalf("after %q: %v", got, err)
						}
						got = append(got, b)
					}
				}
				readUntil(tc.open)
				do(t, "POST", ts.URL+"/0/"+id+"/xhr_send", `["x"]`)
				readUntil(echoFrame(tc.transport))
			})
		}
	}
}

// echoFrame is a["x"] as each transport wraps it.
func echoFrame(transport string) string {
	switch transport {
	case "eventsource":
		return "data: a[\"x\"]\r\n\r\n"
	case "htmlfile":
		return "<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n"
	}
	return "a[\"x\"]\n"
}

// TestStreamLimitThenNext: a taken-over stream that reaches its response
// limit ends normally even when the client closes the connection the
// moment it has read the last chunk: the session goes on.
func TestStreamLimitThenNext(t *testing.T) {
	ts, _ := testServer(t, nil) // response limit 4096, messages up to 1024 bytes
	msg := strings.Repeat("m", 900)
	for i := range 40 {
		id := fmt.Sprintf("limit%d", i)
		base := ts.URL + "/0/" + id
		req, _ := http.NewRequest("POST", base+"/xhr_streaming", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan string)
		go func() {
			var b strings.Builder
			bufio.NewReader(res.Body).WriteTo(&b) // to the end of the response
			res.Body.Close()
			done <- b.String()
		}()
		for range 5 {
			do(t, "POST", base+"/xhr_send", `["`+msg+`"]`)
		}
		select {
		case body := <-done:
			if strings.Contains(body, "c[") {
				t.Fatalf("round %d: stream closed the session: ...%q", i, body[max(0, len(body)-40):])
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: the stream did not end at its response limit", i)
		}
		// Two rounds: the first poll may get a message queued before an
		// interrupted receiver closed the session.
		for _, next := range []string{"next", "again"} {
			do(t, "POST", base+"/xhr_send", `["`+next+`"]`)
			deadline := time.Now().Add(5 * time.Second)
			var got string
			for !strings.Contains(got, next) {
				if time.Now().After(deadline) || strings.Contains(got, "c[") {
					t.Fatalf("round %d: after the stream ended, a poll got %q", i, got)
				}
				_, got = do(t, "POST", base+"/xhr", "")
			}
		}
	}
}
