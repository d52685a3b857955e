package protocoltests

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// limitReason is why a conforming server may fail TestLimits.
const limitReason = "the limits are server options: the suite assumes the echo services refuse a body or message of SOCKJS_OVERSIZE bytes (16 MiB unless set); set it just above the server's limit, or skip TestLimits for a server without limits"

// TestLimits sends a body or message of SOCKJS_OVERSIZE bytes to each
// sender and websocket endpoint: posts must be refused with 413, websockets
// closed with 1009 (PROTOCOL.md §9).
func TestLimits(t *testing.T) {
	checkSkip(t)
	n := cfg.oversize
	payload := `["` + strings.Repeat("x", n) + `"]`
	run(t, "xhr_send", func(t *testing.T) {
		mayFail(t, limitReason)
		u := newSession(service("echo"))
		eq(t, "open", post(t, u+"/xhr", "").status, 200)
		eq(t, "status", postLarge(t, u+"/xhr_send", "text/plain", payload), 413)
	})
	run(t, "jsonp_send", func(t *testing.T) {
		mayFail(t, limitReason)
		u := newSession(service("echo"))
		eq(t, "open", get(t, u+"/jsonp?c=x").status, 200)
		eq(t, "status", postLarge(t, u+"/jsonp_send", "application/x-www-form-urlencoded", "d="+url.QueryEscape(payload)), 413)
	})
	run(t, "websocket", func(t *testing.T) {
		mayFail(t, limitReason)
		ws := wsOpen(t, newSession(service("echo"))+"/websocket")
		eq(t, "first message", wsRecv(t, ws), "o")
		eq(t, "close code", sendLarge(t, ws, payload), websocket.CloseMessageTooBig)
	})
	run(t, "rawwebsocket", func(t *testing.T) {
		mayFail(t, limitReason)
		ws := wsOpen(t, service("echo")+"/websocket")
		eq(t, "close code", sendLarge(t, ws, payload[2:len(payload)-2]), websocket.CloseMessageTooBig)
	})
}

// postLarge posts a large body and returns the status. The body is written
// while the response is awaited: a server may answer and close before
// reading it all.
func postLarge(t *testing.T, u, contentType, body string) int {
	t.Helper()
	c, err := dialRaw(u)
	noErr(t, err)
	defer c.Close()
	req := rawRequest{method: http.MethodPost, url: u, header: hdrs{{"Content-Type", contentType}}}
	head := req
	head.noLength = true
	head.header = append(hdrs{{"Content-Length", strconv.Itoa(len(body))}}, req.header...)
	noErr(t, c.write(head))
	written := make(chan error, 1)
	go func() {
		_ = c.conn.SetWriteDeadline(time.Now().Add(cfg.ioTimeout + 10*time.Second))
		_, err := c.conn.Write([]byte(body))
		written <- err
	}()
	c.setTimeout(cfg.ioTimeout + 10*time.Second)
	r, err := c.readResponse(http.MethodPost, "")
	c.Close()
	<-written
	noErr(t, err)
	return r.status
}

// sendLarge writes a large websocket message and returns the close code the
// server answers with.
func sendLarge(t *testing.T, ws *websocket.Conn, msg string) int {
	t.Helper()
	written := make(chan error, 1)
	go func() {
		_ = ws.SetWriteDeadline(time.Now().Add(cfg.ioTimeout + 10*time.Second))
		written <- ws.WriteMessage(websocket.TextMessage, []byte(msg))
	}()
	noErr(t, ws.SetReadDeadline(time.Now().Add(cfg.ioTimeout+10*time.Second)))
	var err error
	for err == nil {
		var b []byte
		_, b, err = ws.ReadMessage()
		if err == nil && len(b) > 64 {
			ws.Close()
			<-written
			t.Fatalf("the oversized message was accepted and echoed (%d bytes)", len(b))
		}
	}
	ws.Close()
	<-written
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("want a close frame with code 1009, got %v", err)
	}
	return ce.Code
}
