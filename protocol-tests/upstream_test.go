package protocoltests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestUpstream is the official suite (sockjs-protocol.py and http-quirks.py
// at sockjs/sockjs-protocol fdf5b7d), one subtest per test, named
// Class/test_name. Each keeps the meaning of the original; where the
// original assertion cannot fail (PROTOCOL.md §8), the port checks what the
// comment says. Differences are noted at each test.
func TestUpstream(t *testing.T) {
	checkSkip(t)
	for _, class := range upstreamClasses {
		t.Run(class.name, func(t *testing.T) {
			t.Parallel()
			checkSkip(t)
			for _, tc := range class.tests {
				run(t, tc.name, tc.f)
			}
		})
	}
}

type upstreamTest struct {
	name string
	f    func(t *testing.T)
}

var upstreamClasses = []struct {
	name  string
	tests []upstreamTest
}{
	{"BaseUrlGreeting", []upstreamTest{
		{"test_greeting", testGreeting},
		{"test_notFound", testNotFound},
	}},
	{"IframePage", []upstreamTest{
		{"test_simpleUrl", func(t *testing.T) { verifyIframe(t, service("echo")+"/iframe.html") }},
		{"test_versionedUrl", testIframeVersioned},
		{"test_queriedUrl", testIframeQueried},
		{"test_invalidUrl", testIframeInvalid},
		{"test_cacheability", testIframeCacheability},
	}},
	{"InfoTest", []upstreamTest{
		{"test_basic", testInfoBasic},
		{"test_entropy", testInfoEntropy},
		{"test_options", func(t *testing.T) { verifyOptions(t, service("echo")+"/info", "OPTIONS, GET") }},
		{"test_options_null_origin", testInfoNullOrigin},
		{"test_disabled_websocket", testInfoDisabledWebsocket},
	}},
	{"SessionURLs", []upstreamTest{
		{"test_anyValue", testSessionAnyValue},
		{"test_invalidPaths", testSessionInvalidPaths},
		{"test_ignoringServerId", testIgnoringServerID},
	}},
	{"Protocol", []upstreamTest{
		{"test_simpleSession", testSimpleSession},
		{"test_closeSession", testCloseSession},
	}},
	{"WebsocketHttpErrors", []upstreamTest{
		{"test_httpMethod", testWebsocketHTTPMethod},
		{"test_invalidConnectionHeader", testWebsocketInvalidConnection},
		{"test_invalidMethod", testWebsocketInvalidMethod},
	}},
	{"Websocket", []upstreamTest{
		{"test_transport", testWebsocketTransport},
		{"test_close", testWebsocketClose},
		{"test_headersSanity", testWebsocketHeadersSanity},
		{"test_empty_frame", testWebsocketEmptyFrame},
		{"test_reuseSessionId", testWebsocketReuseSessionID},
		{"test_haproxy", testWebsocketHaproxy},
		{"test_broken_json", testWebsocketBrokenJSON},
	}},
	{"XhrPolling", []upstreamTest{
		{"test_options", testXhrOptions},
		{"test_transport", testXhrTransport},
		{"test_invalid_session", testXhrInvalidSession},
		{"test_invalid_json", testXhrInvalidJSON},
		{"test_content_types", testXhrContentTypes},
		{"test_request_headers_cors", testXhrRequestHeadersCORS},
		{"test_sending_empty_frame", testXhrSendingEmptyFrame},
	}},
	{"XhrStreaming", []upstreamTest{
		{"test_options", func(t *testing.T) { verifyOptions(t, service("echo")+"/abc/abc/xhr_streaming", "OPTIONS, POST") }},
		{"test_transport", testXhrStreamingTransport},
		{"test_response_limit", testXhrStreamingResponseLimit},
	}},
	{"EventSource", []upstreamTest{
		{"test_transport", testEventSourceTransport},
		{"test_response_limit", testEventSourceResponseLimit},
	}},
	{"HtmlFile", []upstreamTest{
		{"test_transport", testHtmlFileTransport},
		{"test_no_callback", func(t *testing.T) { verifyNoCallback(t, "htmlfile") }},
		{"test_invalid_callback", func(t *testing.T) { verifyInvalidCallback(t, "htmlfile") }},
		{"test_response_limit", testHtmlFileResponseLimit},
	}},
	{"JsonPolling", []upstreamTest{
		{"test_transport", testJsonpTransport},
		{"test_no_callback", func(t *testing.T) { verifyNoCallback(t, "jsonp") }},
		{"test_invalid_callback", func(t *testing.T) { verifyInvalidCallback(t, "jsonp") }},
		{"test_invalid_json", testJsonpInvalidJSON},
		{"test_content_types", testJsonpContentTypes},
		{"test_close", testJsonpClose},
		{"test_sending_empty_frame", testJsonpSendingEmptyFrame},
	}},
	{"JsessionidCookie", []upstreamTest{
		{"test_basic", testCookieBasic},
		{"test_xhr", testCookieXhr},
		{"test_xhr_streaming", func(t *testing.T) { testCookieStream(t, http.MethodPost, "xhr_streaming") }},
		{"test_eventsource", func(t *testing.T) { testCookieStream(t, http.MethodGet, "eventsource") }},
		{"test_htmlfile", func(t *testing.T) { testCookieStream(t, http.MethodGet, "htmlfile?c=%63allback") }},
		{"test_jsonp", testCookieJsonp},
	}},
	{"RawWebsocket", []upstreamTest{
		{"test_transport", testRawWebsocketTransport},
		{"test_close", testRawWebsocketClose},
	}},
	{"JSONEncoding", []upstreamTest{
		{"test_xhr_server_encodes", testXhrServerEncodes},
		{"test_xhr_server_decodes", testXhrServerDecodes},
	}},
	{"HandlingClose", []upstreamTest{
		{"test_close_frame", testCloseFrame},
		{"test_close_request", testCloseRequest},
		{"test_abort_xhr_streaming", testAbortXhrStreaming},
		{"test_abort_xhr_polling", testAbortXhrPolling},
	}},
	{"Http10", []upstreamTest{
		{"test_synchronous", testHTTP10Synchronous},
		{"test_streaming", testHTTP10Streaming},
	}},
	{"Http11", []upstreamTest{
		{"test_synchronous", testHTTP11Synchronous},
		{"test_streaming", testHTTP11Streaming},
	}},
	{"HttpQuirks", []upstreamTest{
		{"test_emptyContentLengthForPost", testEmptyContentLengthForPost},
	}},
}

// --- BaseUrlGreeting ---

func testGreeting(t *testing.T) {
	for _, u := range []string{service("echo"), service("echo") + "/"} {
		r := get(t, u)
		eq(t, "status of "+u, r.status, 200)
		verifyContentType(t, r, "text/plain;charset=UTF-8")
		eq(t, "body", string(r.body), "Welcome to SockJS!\n")
		verifyNoCookie(t, r)
	}
}

func testNotFound(t *testing.T) {
	for _, suffix := range []string{"/a", "/a.html", "//", "///", "/a/a", "/a/a/", "/a", "/a/"} {
		r := get(t, service("echo")+suffix)
		check(t, r.status == 404, "GET %s: status %d, want 404", suffix, r.status)
	}
}

// --- IframePage ---

// iframeRE is the iframe page of the protocol; only the client URL varies.
var iframeRE = regexp.MustCompile(`^` + regexp.QuoteMeta(`<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="`) + `([^"]*)` + regexp.QuoteMeta(`"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>`) + `$`)

// verifyIframe checks an iframe page: cacheable, exact body, no cookie.
func verifyIframe(t *testing.T, url string) *rawResponse {
	t.Helper()
	r := get(t, url)
	eq(t, "status of "+url, r.status, 200)
	verifyContentType(t, r, "text/html;charset=UTF-8")
	check(t, strings.Contains(r.get("Cache-Control"), "public"), "Cache-Control %q lacks public", r.get("Cache-Control"))
	check(t, maxAgeRE.MatchString(r.get("Cache-Control")),
		"Cache-Control %q: max-age must be large, one year (31536000) is best", r.get("Cache-Control"))
	check(t, r.get("Expires") != "", "no Expires header")
	check(t, r.get("ETag") != "", "no ETag header")
	eq(t, "Last-Modified", r.get("Last-Modified"), "")
	m := iframeRE.FindStringSubmatch(strings.TrimSpace(string(r.body)))
	check(t, m != nil, "iframe body does not match the protocol's page:\n%s", r.body)
	check(t, strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "http"),
		"sockjs_url %q must start with / or http", m[1])
	verifyNoCookie(t, r)
	return r
}

func testIframeVersioned(t *testing.T) {
	for _, s := range []string{"/iframe-a.html", "/iframe-.html", "/iframe-0.1.2.html", "/iframe-0.1.2abc-dirty.2144.html"} {
		verifyIframe(t, service("echo")+s)
	}
}

func testIframeQueried(t *testing.T) {
	for _, s := range []string{"/iframe-a.html?t=1234", "/iframe-0.1.2.html?t=123414", "/iframe-0.1.2abc-dirty.2144.html?t=qweqweq123"} {
		verifyIframe(t, service("echo")+s)
	}
}

func testIframeInvalid(t *testing.T) {
	for _, s := range []string{"/iframe.htm", "/iframe", "/IFRAME.HTML", "/IFRAME", "/iframe.HTML", "/iframe.xml", "/iframe-/.html"} {
		r := get(t, service("echo")+s)
		check(t, r.status == 404, "GET %s: status %d, want 404", s, r.status)
	}
}

func testIframeCacheability(t *testing.T) {
	u := service("echo") + "/iframe.html"
	r1, r2 := get(t, u), get(t, u)
	eq(t, "ETag of the second request", r2.get("ETag"), r1.get("ETag"))
	check(t, r1.get("ETag") != "", "no ETag header")
	r := get(t, u, [2]string{"If-None-Match", r1.get("ETag")})
	eq(t, "status with If-None-Match", r.status, 304)
	eq(t, "Content-Type", r.get("Content-Type"), "")
	eq(t, "body", string(r.body), "")
}

// --- InfoTest ---

// decodeInfo decodes an /info body keeping numbers exact.
func decodeInfo(t *testing.T, body []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var data map[string]any
	if err := d.Decode(&data); err != nil {
		t.Fatalf("/info body %q: %v", clip(string(body)), err)
	}
	return data
}

// entropyOf returns /info's entropy, which must be an integer. The upstream
// test checks the type; its comment asks for the range [0, 2^32-1], which is
// checked too.
func entropyOf(t *testing.T, data map[string]any) uint64 {
	t.Helper()
	n, ok := data["entropy"].(json.Number)
	check(t, ok, "entropy %v is not a number", data["entropy"])
	v, err := strconv.ParseUint(n.String(), 10, 32)
	check(t, err == nil, "entropy %s is not an integer in [0, 2^32-1]", n)
	return v
}

func testInfoBasic(t *testing.T) {
	r := get(t, service("echo")+"/info", [2]string{"Origin", "test"})
	eq(t, "status", r.status, 200)
	verifyContentType(t, r, "application/json;charset=UTF-8")
	verifyNoCookie(t, r)
	verifyNotCached(t, r)
	verifyCORS(t, r, "test")
	data := decodeInfo(t, r.body)
	eq(t, "websocket", data["websocket"], any(true))
	_, isBool := data["cookie_needed"].(bool)
	check(t, isBool, "cookie_needed %v is not a boolean", data["cookie_needed"])
	origins, _ := json.Marshal(data["origins"])
	eq(t, "origins", string(origins), `["*:*"]`)
	entropyOf(t, data)
}

func testInfoEntropy(t *testing.T) {
	e1 := entropyOf(t, decodeInfo(t, get(t, service("echo")+"/info").body))
	e2 := entropyOf(t, decodeInfo(t, get(t, service("echo")+"/info").body))
	check(t, e1 != e2, "two /info answers have the same entropy %d", e1)
}

// testInfoNullOrigin: the upstream comment says "*"; its assertion, which
// this keeps, requires "null".
func testInfoNullOrigin(t *testing.T) {
	r := options(t, service("echo")+"/info", [2]string{"Origin", "null"}, [2]string{"Access-Control-Request-Method", "POST"})
	check(t, r.status == 204 || r.status == 200, "status %d, want 204 or 200", r.status)
	eq(t, "body", string(r.body), "")
	eq(t, "Access-Control-Allow-Origin", r.get("Access-Control-Allow-Origin"), "null")
}

func testInfoDisabledWebsocket(t *testing.T) {
	r := get(t, service("disabled_websocket_echo")+"/info")
	eq(t, "status", r.status, 200)
	eq(t, "websocket", decodeInfo(t, r.body)["websocket"], any(false))
}

// --- SessionURLs ---

// verifySessionURL opens a session at a session path with xhr.
func verifySessionURL(t *testing.T, sessionPart string) {
	t.Helper()
	r := post(t, service("echo")+sessionPart+"/xhr", "")
	eq(t, "status of "+sessionPart, r.status, 200)
	eq(t, "body of "+sessionPart, string(r.body), "o\n")
}

// testSessionAnyValue: the random suffix is wider than upstream's 0-1024 so
// that runs less than a disconnect delay apart cannot meet.
func testSessionAnyValue(t *testing.T) {
	r := strconv.FormatUint(rand.Uint64()>>16, 10)
	verifySessionURL(t, "/a/a"+r)
	for _, part := range []string{"/_/_" + r, "/1/" + r, "/abcdefgh_i-j%20/abcdefg_i-j%20" + r} {
		verifySessionURL(t, part)
	}
}

func testSessionInvalidPaths(t *testing.T) {
	for _, s := range []string{"//", "/a./a", "/a/a.", "/./.", "/", "///"} {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			r := request(t, m, service("echo")+s+"/xhr", "", nil)
			check(t, r.status == 404, "%s %s/xhr: status %d, want 404", m, s, r.status)
		}
	}
}

func testIgnoringServerID(t *testing.T) {
	id := newID()
	r := post(t, service("echo")+"/000/"+id+"/xhr", "")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "o\n")
	r = post(t, service("echo")+"/000/"+id+"/xhr_send", `["a"]`)
	eq(t, "xhr_send status", r.status, 204)
	eq(t, "xhr_send body", string(r.body), "")
	r = post(t, service("echo")+"/999/"+id+"/xhr", "")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "a[\"a\"]\n")
}

// --- Protocol ---

func testSimpleSession(t *testing.T) {
	u := newSession(service("echo"))
	r := post(t, u+"/xhr", "")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "o\n")

	r = post(t, u+"/xhr_send", `["a"]`)
	eq(t, "xhr_send status", r.status, 204)
	eq(t, "xhr_send body", string(r.body), "")

	r = post(t, u+"/xhr", "")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "a[\"a\"]\n")

	r = post(t, service("echo")+"/000/bad_session/xhr_send", `["a"]`)
	verify404(t, r)

	// Two receiving connections on one session: the second gets 2010.
	r1 := postNoRead(t, u+"/xhr")
	time.Sleep(250 * time.Millisecond)
	r2 := post(t, u+"/xhr", "")
	eq(t, "second receiver", string(r2.body), busyFrame+"\n")
	eq(t, "second receiver status", r2.status, 200)
	r1.Close()
}

func testCloseSession(t *testing.T) {
	u := newSession(service("close"))
	r := post(t, u+"/xhr", "")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "o\n")
	for i := 0; i < 2; i++ {
		r = post(t, u+"/xhr", "")
		eq(t, "status", r.status, 200)
		eq(t, "body", string(r.body), goAwayFrame+"\n")
	}
}

// --- WebsocketHttpErrors ---

func testWebsocketHTTPMethod(t *testing.T) {
	eq(t, "status", get(t, service("echo")+"/0/0/websocket").status, 400)
}

// testWebsocketInvalidConnectionHeader: upstream also has an assertion on
// the body that cannot fail; only the status is checked, as upstream.
func testWebsocketInvalidConnection(t *testing.T) {
	r := get(t, service("echo")+"/0/0/websocket", [2]string{"Upgrade", "WebSocket"}, [2]string{"Connection", "close"})
	eq(t, "status", r.status, 400)
}

func testWebsocketInvalidMethod(t *testing.T) {
	for _, h := range []hdrs{{{"Upgrade", "WebSocket"}, {"Connection", "Upgrade"}}, nil} {
		verify405(t, post(t, service("echo")+"/0/0/websocket", "", h...))
	}
}

// --- Websocket ---

// wsOpen dials a websocket and closes it when the test ends.
func wsOpen(t *testing.T, u string) *websocket.Conn {
	t.Helper()
	ws, resp, err := dialWS(u, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("websocket %s: %v (status %d)", u, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// wsRecv reads one text message.
func wsRecv(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	noErr(t, ws.SetReadDeadline(time.Now().Add(cfg.ioTimeout)))
	_, b, err := ws.ReadMessage()
	noErr(t, err)
	return string(b)
}

// wsSend writes one text message.
func wsSend(t *testing.T, ws *websocket.Conn, msg string) {
	t.Helper()
	noErr(t, ws.SetWriteDeadline(time.Now().Add(cfg.ioTimeout)))
	noErr(t, ws.WriteMessage(websocket.TextMessage, []byte(msg)))
}

// wsExpectClosed checks that the server ends the websocket: the next read
// fails with a close frame or the end of the connection, not a timeout.
func wsExpectClosed(t *testing.T, ws *websocket.Conn) error {
	t.Helper()
	noErr(t, ws.SetReadDeadline(time.Now().Add(cfg.ioTimeout)))
	_, b, err := ws.ReadMessage()
	if err == nil {
		t.Fatalf("want the websocket closed, got message %s", describe(string(b)))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("websocket not closed within %v", cfg.ioTimeout)
	}
	return err
}

func testWebsocketTransport(t *testing.T) {
	ws := wsOpen(t, newSession(service("echo"))+"/websocket")
	eq(t, "first message", wsRecv(t, ws), "o")
	wsSend(t, ws, `["a"]`)
	eq(t, "echo", wsRecv(t, ws), `a["a"]`)
}

func testWebsocketClose(t *testing.T) {
	ws := wsOpen(t, newSession(service("close"))+"/websocket")
	eq(t, "first message", wsRecv(t, ws), "o")
	eq(t, "second message", wsRecv(t, ws), goAwayFrame)
	wsExpectClosed(t, ws)
}

func testWebsocketHeadersSanity(t *testing.T) {
	u := newSession(service("echo")) + "/websocket"
	r := getAsync(t, u,
		[2]string{"Upgrade", "websocket"},
		[2]string{"Connection", "Upgrade"},
		[2]string{"Sec-WebSocket-Version", "13"},
		[2]string{"Sec-WebSocket-Origin", "http://asd"},
		[2]string{"Sec-WebSocket-Key", "x3JJHMbDL1EzLkh9GBhXDw=="})
	eq(t, "status", r.status, 101)
	eq(t, "Sec-WebSocket-Accept", r.get("Sec-WebSocket-Accept"), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=")
	eq(t, "Connection", strings.ToLower(r.get("Connection")), "upgrade")
	eq(t, "Upgrade", strings.ToLower(r.get("Upgrade")), "websocket")
	eq(t, "Content-Length", r.get("Content-Length"), "")
}

func testWebsocketEmptyFrame(t *testing.T) {
	ws := wsOpen(t, newSession(service("echo"))+"/websocket")
	eq(t, "first message", wsRecv(t, ws), "o")
	wsSend(t, ws, "")
	wsSend(t, ws, "[]")
	wsSend(t, ws, `["a"]`)
	eq(t, "echo", wsRecv(t, ws), `a["a"]`)
}

// testWebsocketReuseSessionID: upstream's on_close check never runs; here
// both connections must stay usable while the other one is in use.
func testWebsocketReuseSessionID(t *testing.T) {
	u := newSession(service("echo")) + "/websocket"
	ws1 := wsOpen(t, u)
	eq(t, "ws1 first message", wsRecv(t, ws1), "o")
	ws2 := wsOpen(t, u)
	eq(t, "ws2 first message", wsRecv(t, ws2), "o")
	wsSend(t, ws1, `["a"]`)
	eq(t, "ws1 echo", wsRecv(t, ws1), `a["a"]`)
	wsSend(t, ws2, `["b"]`)
	eq(t, "ws2 echo", wsRecv(t, ws2), `a["b"]`)
	wsSend(t, ws1, `["c"]`)
	eq(t, "ws1 echo after ws2 was used", wsRecv(t, ws1), `a["c"]`)
	ws1.Close()
	ws2.Close()

	ws3 := wsOpen(t, u)
	eq(t, "reused id: first message", wsRecv(t, ws3), "o")
	wsSend(t, ws3, `["a"]`)
	eq(t, "reused id: echo", wsRecv(t, ws3), `a["a"]`)
}

// testWebsocketHaproxy is the hixie-76 handshake with the response headers
// written before the key nonce arrives.
func testWebsocketHaproxy(t *testing.T) {
	mayFail(t, "hixie-76 (draft-76 websockets, 2010) is obsolete and no browser in use speaks it; PROTOCOL.md §6.2")
	u := newSession(service("echo")) + "/websocket"
	origin := strings.SplitN(u, "/", 4)[:3]
	c, err := dialRaw(u)
	noErr(t, err)
	defer c.Close()
	noErr(t, c.write(rawRequest{method: http.MethodGet, url: u, header: hdrs{
		{"Connection", "Upgrade"},
		{"Upgrade", "WebSocket"},
		{"Origin", strings.Join(origin, "/")},
		{"Sec-WebSocket-Key1", "4 @1  46546xW%0l 1 5"},
		{"Sec-WebSocket-Key2", "12998 5 Y3 1  .P00"},
	}}))
	r, err := c.readResponse(http.MethodGet, "")
	noErr(t, err)
	eq(t, "status", r.status, 101)
	eq(t, "Connection", strings.ToLower(r.get("Connection")), "upgrade")
	eq(t, "Upgrade", strings.ToLower(r.get("Upgrade")), "websocket")
	eq(t, "Sec-WebSocket-Location", r.get("Sec-WebSocket-Location"), wsURL(u))
	eq(t, "Sec-WebSocket-Origin", r.get("Sec-WebSocket-Origin"), strings.Join(origin, "/"))
	check(t, !r.has("Content-Length"), "101 with Content-Length %q", r.get("Content-Length"))
	_, err = c.conn.Write([]byte("aaaaaaaa"))
	noErr(t, err)
	got := make([]byte, 16)
	_, err = io.ReadFull(c.br, got)
	noErr(t, err)
	want := []byte{0xca, 0x34, 0x00, 0xd8, 0xa5, 0x08, 0x47, 0x97, 0x2c, 0xd5, 0x71, 0x5a, 0xba, 0xbf, 0x43, 0x7b}
	check(t, bytes.Equal(got, want), "hixie-76 key answer %x, want %x", got, want)
}

// testWebsocketBrokenJSON: the server must end the connection; one message
// (for example a close frame) may come first.
func testWebsocketBrokenJSON(t *testing.T) {
	ws := wsOpen(t, newSession(service("echo"))+"/websocket")
	eq(t, "first message", wsRecv(t, ws), "o")
	wsSend(t, ws, `["a`)
	noErr(t, ws.SetReadDeadline(time.Now().Add(cfg.ioTimeout)))
	if _, b, err := ws.ReadMessage(); err == nil {
		t.Logf("message before the close: %s", describe(string(b)))
		wsExpectClosed(t, ws)
	} else {
		var ne net.Error
		check(t, !(errors.As(err, &ne) && ne.Timeout()), "websocket not closed within %v after broken JSON", cfg.ioTimeout)
	}
}

// --- XhrPolling ---

func testXhrOptions(t *testing.T) {
	for _, s := range []string{"/xhr", "/xhr_send"} {
		verifyOptions(t, service("echo")+"/abc/abc"+s, "OPTIONS, POST")
	}
}

func testXhrTransport(t *testing.T) {
	u := newSession(service("echo"))
	r := post(t, u+"/xhr", "", [2]string{"Origin", "test"})
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "o\n")
	verifyContentType(t, r, "application/javascript;charset=UTF-8")
	verifyCORS(t, r, "test")
	verifyNotCached(t, r)

	r = post(t, u+"/xhr_send", `["x"]`, [2]string{"Origin", "test"})
	eq(t, "xhr_send status", r.status, 204)
	eq(t, "xhr_send body", string(r.body), "")
	verifyContentType(t, r, "text/plain;charset=UTF-8")
	verifyCORS(t, r, "test")
	verifyNotCached(t, r)

	r = post(t, u+"/xhr", "")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "a[\"x\"]\n")
}

func testXhrInvalidSession(t *testing.T) {
	verify404(t, post(t, newSession(service("echo"))+"/xhr_send", `["x"]`))
}

func testXhrInvalidJSON(t *testing.T) {
	u := newSession(service("echo"))
	r := post(t, u+"/xhr", "")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "o\n")

	r = post(t, u+"/xhr_send", `["x`)
	eq(t, "status of broken JSON", r.status, 500)
	check(t, strings.Contains(string(r.body), "Broken JSON encoding."), "body %q lacks \"Broken JSON encoding.\"", r.body)

	r = post(t, u+"/xhr_send", "")
	eq(t, "status of an empty body", r.status, 500)
	check(t, strings.Contains(string(r.body), "Payload expected."), "body %q lacks \"Payload expected.\"", r.body)

	r = post(t, u+"/xhr_send", `["a"]`)
	eq(t, "xhr_send body", string(r.body), "")
	eq(t, "xhr_send status", r.status, 204)

	r = post(t, u+"/xhr", "")
	eq(t, "body", string(r.body), "a[\"a\"]\n")
	eq(t, "status", r.status, 200)
}

func testXhrContentTypes(t *testing.T) {
	u := newSession(service("echo"))
	r := post(t, u+"/xhr", "")
	eq(t, "body", string(r.body), "o\n")
	ctypes := []string{"text/plain", "T", "application/json", "application/xml", "",
		"application/json; charset=utf-8", "text/xml; charset=utf-8", "text/xml"}
	for _, ct := range ctypes {
		r := post(t, u+"/xhr_send", `["a"]`, [2]string{"Content-Type", ct})
		check(t, r.status == 204, "xhr_send with Content-Type %q: status %d, want 204", ct, r.status)
		eq(t, "xhr_send body", string(r.body), "")
	}
	r = post(t, u+"/xhr", "")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "a["+strings.Repeat(`"a",`, len(ctypes)-1)+`"a"]`+"\n")
}

func testXhrRequestHeadersCORS(t *testing.T) {
	cases := []struct {
		h    hdrs
		want string
	}{
		{hdrs{{"Origin", "test"}, {"Access-Control-Request-Method", "POST"}, {"Access-Control-Request-Headers", "a, b, c"}}, "a, b, c"},
		{hdrs{{"Origin", "test"}, {"Access-Control-Request-Method", "POST"}, {"Access-Control-Request-Headers", ""}}, ""},
		{hdrs{{"Origin", "test"}, {"Access-Control-Request-Method", "POST"}}, ""},
	}
	for _, c := range cases {
		r := options(t, newSession(service("echo"))+"/xhr", c.h...)
		check(t, r.status == 204 || r.status == 200, "status %d, want 204 or 200", r.status)
		verifyCORS(t, r, "test")
		eq(t, "Access-Control-Allow-Headers", r.get("Access-Control-Allow-Headers"), c.want)
	}
}

func testXhrSendingEmptyFrame(t *testing.T) {
	u := newSession(service("echo"))
	r := post(t, u+"/xhr", "")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "o\n")
	eq(t, "status of []", post(t, u+"/xhr_send", "[]").status, 204)
	eq(t, "status of [\"a\"]", post(t, u+"/xhr_send", `["a"]`).status, 204)
	r = post(t, u+"/xhr", "")
	eq(t, "body", string(r.body), "a[\"a\"]\n")
	eq(t, "status", r.status, 200)
}

// --- XhrStreaming ---

func testXhrStreamingTransport(t *testing.T) {
	u := newSession(service("echo"))
	r := postAsync(t, u+"/xhr_streaming", [2]string{"Origin", "test"})
	eq(t, "status", r.status, 200)
	verifyContentType(t, r, "application/javascript;charset=UTF-8")
	verifyCORS(t, r, "test")
	verifyNotCached(t, r)
	eq(t, "prelude chunk", read(t, r), strings.Repeat("h", 2048)+"\n")
	eq(t, "open chunk", read(t, r), "o\n")
	r1 := post(t, u+"/xhr_send", `["x"]`)
	eq(t, "xhr_send status", r1.status, 204)
	eq(t, "xhr_send body", string(r1.body), "")
	eq(t, "message chunk", read(t, r), "a[\"x\"]\n")
}

func testXhrStreamingResponseLimit(t *testing.T) {
	u := newSession(service("echo"))
	r := postAsync(t, u+"/xhr_streaming")
	eq(t, "status", r.status, 200)
	check(t, read(t, r) != "", "empty prelude")
	eq(t, "open chunk", read(t, r), "o\n")
	msg := `"` + strings.Repeat("x", 128) + `"`
	for i := 0; i < 31; i++ {
		r1 := post(t, u+"/xhr_send", "["+msg+"]")
		eq(t, "xhr_send status", r1.status, 204)
		eq(t, fmt.Sprintf("message chunk %d", i), read(t, r), "a["+msg+"]\n")
	}
	readEnd(t, r)
}

// --- EventSource ---

func testEventSourceTransport(t *testing.T) {
	u := newSession(service("echo"))
	r := getAsync(t, u+"/eventsource")
	eq(t, "status", r.status, 200)
	verifyContentType(t, r, "text/event-stream")
	verifyNotCached(t, r)
	eq(t, "prelude chunk", read(t, r), "\r\n")
	eq(t, "open chunk", read(t, r), "data: o\r\n\r\n")
	r1 := post(t, u+"/xhr_send", `["x"]`)
	eq(t, "xhr_send body", string(r1.body), "")
	eq(t, "xhr_send status", r1.status, 204)
	eq(t, "message chunk", read(t, r), "data: a[\"x\"]\r\n\r\n")
	r1 = post(t, u+"/xhr_send", `["  \u0000\n\r "]`)
	eq(t, "xhr_send body", string(r1.body), "")
	eq(t, "xhr_send status", r1.status, 204)
	eq(t, "message chunk", read(t, r), `data: a["  \u0000\n\r "]`+"\r\n\r\n")
}

func testEventSourceResponseLimit(t *testing.T) {
	u := newSession(service("echo"))
	r := getAsync(t, u+"/eventsource")
	eq(t, "status", r.status, 200)
	check(t, read(t, r) != "", "empty prelude")
	eq(t, "open chunk", read(t, r), "data: o\r\n\r\n")
	msg := `"` + strings.Repeat("x", 4096) + `"`
	r1 := post(t, u+"/xhr_send", "["+msg+"]")
	eq(t, "xhr_send status", r1.status, 204)
	eq(t, "message chunk", read(t, r), "data: a["+msg+"]\r\n\r\n")
	readEnd(t, r)
}

// --- HtmlFile ---

// htmlfileHead is the htmlfile prelude for a callback, without padding.
func htmlfileHead(callback string) string {
	return `<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.` + callback + `;
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>`
}

func testHtmlFileTransport(t *testing.T) {
	u := newSession(service("echo"))
	r := getAsync(t, u+"/htmlfile?c=%63allback")
	eq(t, "status", r.status, 200)
	verifyContentType(t, r, "text/html;charset=UTF-8")
	verifyNotCached(t, r)
	d := read(t, r)
	eq(t, "prelude chunk", strings.TrimSpace(d), htmlfileHead("callback"))
	check(t, len(d) > 1024, "prelude is %d bytes, want more than 1024", len(d))
	eq(t, "open chunk", read(t, r), "<script>\np(\"o\");\n</script>\r\n")
	r1 := post(t, u+"/xhr_send", `["x"]`)
	eq(t, "xhr_send body", string(r1.body), "")
	eq(t, "xhr_send status", r1.status, 204)
	eq(t, "message chunk", read(t, r), "<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n")
}

func verifyNoCallback(t *testing.T, tr string) {
	r := get(t, service("echo")+"/a/a/"+tr)
	eq(t, "status", r.status, 500)
	check(t, strings.Contains(string(r.body), `"callback" parameter required`), "body %q lacks `\"callback\" parameter required`", r.body)
}

func verifyInvalidCallback(t *testing.T, tr string) {
	for _, cb := range []string{"%20", "*", "abc(", "abc%28"} {
		r := get(t, service("echo")+"/a/a/"+tr+"?c="+cb)
		check(t, r.status == 500, "callback %q: status %d, want 500", cb, r.status)
		check(t, strings.Contains(string(r.body), `invalid "callback" parameter`), "callback %q: body %q lacks `invalid \"callback\" parameter`", cb, r.body)
	}
}

func testHtmlFileResponseLimit(t *testing.T) {
	u := newSession(service("echo"))
	r := getAsync(t, u+"/htmlfile?c=callback")
	eq(t, "status", r.status, 200)
	check(t, read(t, r) != "", "empty prelude")
	eq(t, "open chunk", read(t, r), "<script>\np(\"o\");\n</script>\r\n")
	msg := strings.Repeat("x", 4096)
	r1 := post(t, u+"/xhr_send", `["`+msg+`"]`)
	eq(t, "xhr_send status", r1.status, 204)
	eq(t, "message chunk", read(t, r), "<script>\np(\"a[\\\""+msg+"\\\"]\");\n</script>\r\n")
	readEnd(t, r)
}

// --- JsonPolling ---

// form is the Content-Type of jsonp_send's form posts.
var form = [2]string{"Content-Type", "application/x-www-form-urlencoded"}

func testJsonpTransport(t *testing.T) {
	u := newSession(service("echo"))
	r := get(t, u+"/jsonp?c=%63allback")
	eq(t, "status", r.status, 200)
	verifyContentType(t, r, "application/javascript;charset=UTF-8")
	verifyNotCached(t, r)
	eq(t, "body", string(r.body), "/**/callback(\"o\");\r\n")

	r = post(t, u+"/jsonp_send", "d=%5B%22x%22%5D", form)
	eq(t, "jsonp_send body", string(r.body), "ok")
	eq(t, "jsonp_send status", r.status, 200)
	verifyContentType(t, r, "text/plain;charset=UTF-8")
	verifyNotCached(t, r)

	r = get(t, u+"/jsonp?c=%63allback")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "/**/callback(\"a[\\\"x\\\"]\");\r\n")
}

func testJsonpInvalidJSON(t *testing.T) {
	u := newSession(service("echo"))
	r := get(t, u+"/jsonp?c=x")
	eq(t, "body", string(r.body), "/**/x(\"o\");\r\n")

	r = post(t, u+"/jsonp_send", "d=%5B%22x", form)
	eq(t, "status of broken JSON", r.status, 500)
	check(t, strings.Contains(string(r.body), "Broken JSON encoding."), "body %q lacks \"Broken JSON encoding.\"", r.body)

	for _, data := range []string{"", "d=", "p=p"} {
		r = post(t, u+"/jsonp_send", data, form)
		check(t, r.status == 500, "jsonp_send %q: status %d, want 500", data, r.status)
		check(t, strings.Contains(string(r.body), "Payload expected."), "jsonp_send %q: body %q lacks \"Payload expected.\"", data, r.body)
	}

	r = post(t, u+"/jsonp_send", "d=%5B%22b%22%5D", form)
	eq(t, "jsonp_send body", string(r.body), "ok")

	r = get(t, u+"/jsonp?c=x")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "/**/x(\"a[\\\"b\\\"]\");\r\n")
}

func testJsonpContentTypes(t *testing.T) {
	u := newSession(service("echo"))
	r := get(t, u+"/jsonp?c=x")
	eq(t, "body", string(r.body), "/**/x(\"o\");\r\n")
	r = post(t, u+"/jsonp_send", "d=%5B%22abc%22%5D", form)
	eq(t, "jsonp_send (form) body", string(r.body), "ok")
	r = post(t, u+"/jsonp_send", `["%61bc"]`, [2]string{"Content-Type", "text/plain"})
	eq(t, "jsonp_send (text/plain) body", string(r.body), "ok")
	r = get(t, u+"/jsonp?c=x")
	eq(t, "status", r.status, 200)
	// The echo service answers each message as it receives it, so the
	// second echo may miss this poll (sockjs-node echoes synchronously,
	// within jsonp_send); it must then be all the next poll gets.
	if string(r.body) == "/**/x(\"a[\\\"abc\\\"]\");\r\n" {
		r = get(t, u+"/jsonp?c=x")
		eq(t, "second poll body", string(r.body), "/**/x(\"a[\\\"%61bc\\\"]\");\r\n")
		return
	}
	eq(t, "body", string(r.body), "/**/x(\"a[\\\"abc\\\",\\\"%61bc\\\"]\");\r\n")
}

func testJsonpClose(t *testing.T) {
	u := newSession(service("close"))
	r := get(t, u+"/jsonp?c=x")
	eq(t, "body", string(r.body), "/**/x(\"o\");\r\n")
	for i := 0; i < 2; i++ {
		r = get(t, u+"/jsonp?c=x")
		eq(t, "body", string(r.body), "/**/x(\"c[3000,\\\"Go away!\\\"]\");\r\n")
	}
}

func testJsonpSendingEmptyFrame(t *testing.T) {
	u := newSession(service("echo"))
	r := get(t, u+"/jsonp?c=x")
	eq(t, "body", string(r.body), "/**/x(\"o\");\r\n")
	r = post(t, u+"/jsonp_send", "d=%5B%5D", form)
	eq(t, "jsonp_send [] body", string(r.body), "ok")
	r = post(t, u+"/jsonp_send", "d=%5B%22x%22%5D", form)
	eq(t, "jsonp_send body", string(r.body), "ok")
	r = get(t, u+"/jsonp?c=x")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "/**/x(\"a[\\\"x\\\"]\");\r\n")
}

// --- JsessionidCookie ---

func testCookieBasic(t *testing.T) {
	r := get(t, service("cookie_needed_echo")+"/info")
	eq(t, "status", r.status, 200)
	verifyNoCookie(t, r)
	eq(t, "cookie_needed", decodeInfo(t, r.body)["cookie_needed"], any(true))
}

func testCookieXhr(t *testing.T) {
	r := post(t, newSession(service("cookie_needed_echo"))+"/xhr", "")
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "o\n")
	verifyCookie(t, r, "dummy")

	r = post(t, newSession(service("cookie_needed_echo"))+"/xhr", "", [2]string{"Cookie", "JSESSIONID=abcdef"})
	eq(t, "status", r.status, 200)
	eq(t, "body", string(r.body), "o\n")
	verifyCookie(t, r, "abcdef")
}

func testCookieStream(t *testing.T, method, suffix string) {
	r := async(t, method, newSession(service("cookie_needed_echo"))+"/"+suffix, nil)
	eq(t, "status", r.status, 200)
	verifyCookie(t, r, "dummy")
}

func testCookieJsonp(t *testing.T) {
	u := newSession(service("cookie_needed_echo"))
	r := get(t, u+"/jsonp?c=%63allback")
	eq(t, "status", r.status, 200)
	verifyCookie(t, r, "dummy")
	eq(t, "body", string(r.body), "/**/callback(\"o\");\r\n")
	r = post(t, u+"/jsonp_send", "d=%5B%22x%22%5D", form)
	eq(t, "jsonp_send body", string(r.body), "ok")
	eq(t, "jsonp_send status", r.status, 200)
	verifyCookie(t, r, "dummy")
}

// --- RawWebsocket ---

func testRawWebsocketTransport(t *testing.T) {
	ws := wsOpen(t, service("echo")+"/websocket")
	wsSend(t, ws, "Hello world!\uffff")
	eq(t, "echo", wsRecv(t, ws), "Hello world!\uffff")
}

func testRawWebsocketClose(t *testing.T) {
	ws := wsOpen(t, service("close")+"/websocket")
	err := wsExpectClosed(t, ws)
	var ce *websocket.CloseError
	check(t, errors.As(err, &ce), "want a close frame, got %v", err)
	eq(t, "close reason", ce.Text, "Go away!")
}

// --- JSONEncoding ---

// clientEscapable is the set of characters sockjs-client escapes before
// sending (the upstream escapable_by_client), as inclusive ranges.
var clientEscapable = [][2]rune{
	{'"', '"'}, {0x00, 0x1f}, {0x7f, 0x9f}, {0xad, 0xad}, {0x600, 0x604}, {0x70f, 0x70f},
	{0x17b4, 0x17b5}, {0x2000, 0x20ff}, {0xfeff, 0xfeff}, {0xfff0, 0xffff},
	{0x300, 0x333}, {0x33d, 0x346}, {0x34a, 0x34c}, {0x350, 0x352}, {0x357, 0x358}, {0x35c, 0x362},
	{0x374, 0x374}, {0x37e, 0x37e}, {0x387, 0x387}, {0x591, 0x5af}, {0x5c4, 0x5c4}, {0x610, 0x617},
	{0x653, 0x654}, {0x657, 0x65b}, {0x65d, 0x65e}, {0x6df, 0x6e2}, {0x6eb, 0x6ec}, {0x730, 0x730},
	{0x732, 0x733}, {0x735, 0x736}, {0x73a, 0x73a}, {0x73d, 0x73d}, {0x73f, 0x741}, {0x743, 0x743},
	{0x745, 0x745}, {0x747, 0x747}, {0x7eb, 0x7f1}, {0x951, 0x951}, {0x958, 0x95f}, {0x9dc, 0x9dd},
	{0x9df, 0x9df}, {0xa33, 0xa33}, {0xa36, 0xa36}, {0xa59, 0xa5b}, {0xa5e, 0xa5e}, {0xb5c, 0xb5d},
	{0xe38, 0xe39}, {0xf43, 0xf43}, {0xf4d, 0xf4d}, {0xf52, 0xf52}, {0xf57, 0xf57}, {0xf5c, 0xf5c},
	{0xf69, 0xf69}, {0xf72, 0xf76}, {0xf78, 0xf78}, {0xf80, 0xf83}, {0xf93, 0xf93}, {0xf9d, 0xf9d},
	{0xfa2, 0xfa2}, {0xfa7, 0xfa7}, {0xfac, 0xfac}, {0xfb9, 0xfb9}, {0x1939, 0x193a}, {0x1a17, 0x1a17},
	{0x1b6b, 0x1b6b}, {0x1cda, 0x1cdb}, {0x1dc0, 0x1dcf}, {0x1dfc, 0x1dfc}, {0x1dfe, 0x1dfe},
	{0x1f71, 0x1f71}, {0x1f73, 0x1f73}, {0x1f75, 0x1f75}, {0x1f77, 0x1f77}, {0x1f79, 0x1f79},
	{0x1f7b, 0x1f7b}, {0x1f7d, 0x1f7d}, {0x1fbb, 0x1fbb}, {0x1fbe, 0x1fbe}, {0x1fc9, 0x1fc9},
	{0x1fcb, 0x1fcb}, {0x1fd3, 0x1fd3}, {0x1fdb, 0x1fdb}, {0x1fe3, 0x1fe3}, {0x1feb, 0x1feb},
	{0x1fee, 0x1fef}, {0x1ff9, 0x1ff9}, {0x1ffb, 0x1ffb}, {0x1ffd, 0x1ffd}, {0x2126, 0x2126},
	{0x212a, 0x212b}, {0x2329, 0x232a}, {0x2adc, 0x2adc}, {0x302b, 0x302c}, {0xaab2, 0xaab3},
	{0xf900, 0xfa0d}, {0xfa10, 0xfa10}, {0xfa12, 0xfa12}, {0xfa15, 0xfa1e}, {0xfa20, 0xfa20},
	{0xfa22, 0xfa22}, {0xfa25, 0xfa26}, {0xfa2a, 0xfa2d}, {0xfa30, 0xfa6d}, {0xfa70, 0xfad9},
	{0xfb1d, 0xfb1d}, {0xfb1f, 0xfb1f}, {0xfb2a, 0xfb36}, {0xfb38, 0xfb3c}, {0xfb3e, 0xfb3e},
	{0xfb40, 0xfb41}, {0xfb43, 0xfb44}, {0xfb46, 0xfb4e},
}

// serverEscapable is the set of characters from U+00FF up that a server
// must send \u-escaped (the upstream escapable_by_server).
var serverEscapable = [][2]rune{{0x200c, 0x200f}, {0x2028, 0x202f}, {0x2060, 0x206f}, {0xfff0, 0xffff}}

// escapedRun returns the JSON string literal escaping, in lower-case \uXXXX
// form and in code point order, every code point from `from` up that is in
// one of the ranges.
func escapedRun(ranges [][2]rune, from rune) string {
	var b strings.Builder
	b.WriteByte('"')
	for r := from; r < 0x10000; r++ {
		for _, rg := range ranges {
			if r >= rg[0] && r <= rg[1] {
				fmt.Fprintf(&b, `\u%04x`, r)
				break
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func testXhrServerEncodes(t *testing.T) {
	u := newSession(service("echo"))
	r := post(t, u+"/xhr", "")
	eq(t, "body", string(r.body), "o\n")
	eq(t, "status", r.status, 200)
	want := escapedRun(serverEscapable, 255)
	raw, _, err := decodeJSONString(want)
	noErr(t, err)
	r = post(t, u+"/xhr_send", `["`+raw+`"]`)
	eq(t, "xhr_send status", r.status, 204)
	r = post(t, u+"/xhr", "")
	eq(t, "status", r.status, 200)
	body := strings.TrimSpace(string(r.body))
	check(t, len(body) > 3, "short body %q", body)
	eq(t, "escaped message", body[2:len(body)-1], want)
}

func testXhrServerDecodes(t *testing.T) {
	u := newSession(service("echo"))
	r := post(t, u+"/xhr", "")
	eq(t, "body", string(r.body), "o\n")
	eq(t, "status", r.status, 200)
	sent := escapedRun(clientEscapable, 0)
	r = post(t, u+"/xhr_send", "["+sent+"]")
	eq(t, "xhr_send status", r.status, 204)
	r = post(t, u+"/xhr", "")
	eq(t, "status", r.status, 200)
	body := strings.TrimSpace(string(r.body))
	check(t, len(body) > 3, "short body %q", body)
	got, rest, err := decodeJSONString(body[2 : len(body)-1])
	noErr(t, err)
	eq(t, "trailing data", rest, "")
	want, _, _ := decodeJSONString(sent)
	if got != want {
		gu, wu := units(got), units(want)
		for i := range min(len(gu), len(wu)) {
			if gu[i] != wu[i] {
				t.Fatalf("decoded message differs at code unit %d: got U+%04X, want U+%04X", i, gu[i], wu[i])
			}
		}
		t.Fatalf("decoded message has %d code units, want %d", len(gu), len(wu))
	}
}

// --- HandlingClose ---

func testCloseFrame(t *testing.T) {
	u := newSession(service("close"))
	r1 := postAsync(t, u+"/xhr_streaming")
	read(t, r1)
	eq(t, "r1 open chunk", read(t, r1), "o\n")
	eq(t, "r1 close chunk", read(t, r1), goAwayFrame+"\n")
	r2 := postAsync(t, u+"/xhr_streaming")
	read(t, r2)
	eq(t, "r2 close chunk", read(t, r2), goAwayFrame+"\n")
	readEnd(t, r1)
	readEnd(t, r2)
}

func testCloseRequest(t *testing.T) {
	u := newSession(service("echo"))
	r1 := postAsync(t, u+"/xhr_streaming")
	read(t, r1)
	eq(t, "r1 open chunk", read(t, r1), "o\n")
	r2 := postAsync(t, u+"/xhr_streaming")
	read(t, r2)
	eq(t, "r2 close chunk", read(t, r2), busyFrame+"\n")
	readEnd(t, r2)
}

// isOpenOrInterrupted reports whether a frame line is one of the two
// answers allowed after a receiver was aborted.
func isOpenOrInterrupted(s string) bool {
	return s == "o\n" || s == interruptFrame+"\n"
}

func testAbortXhrStreaming(t *testing.T) {
	u := newSession(service("echo"))
	r1 := postAsync(t, u+"/xhr_streaming")
	read(t, r1)
	eq(t, "r1 open chunk", read(t, r1), "o\n")
	r2 := postAsync(t, u+"/xhr_streaming")
	read(t, r2)
	eq(t, "r2 close chunk", read(t, r2), busyFrame+"\n")
	readEnd(t, r2)
	r1.conn.Close()
	r3 := postAsync(t, u+"/xhr_streaming")
	read(t, r3)
	got := read(t, r3)
	check(t, isOpenOrInterrupted(got), "after an abort: got %q, want %q or %q", got, "o\n", interruptFrame+"\n")
}

func testAbortXhrPolling(t *testing.T) {
	u := newSession(service("echo"))
	r1 := post(t, u+"/xhr", "")
	eq(t, "r1 body", string(r1.body), "o\n")
	held := postNoRead(t, u+"/xhr")
	time.Sleep(250 * time.Millisecond)
	r2 := post(t, u+"/xhr", "")
	eq(t, "r2 body", string(r2.body), busyFrame+"\n")
	held.Close()
	r3 := post(t, u+"/xhr", "")
	check(t, isOpenOrInterrupted(string(r3.body)), "after an abort: got %q, want %q or %q", r3.body, "o\n", interruptFrame+"\n")
}

// --- Http10 and Http11 ---

// rawExchange sends one request on c and reads the response head.
func rawExchange(t *testing.T, c *rawConn, method, url, proto string, h ...[2]string) *rawResponse {
	t.Helper()
	noErr(t, c.write(rawRequest{method: method, url: url, proto: proto, header: h}))
	r, err := c.readResponse(method, proto)
	noErr(t, err)
	return r
}

// readN reads exactly n bytes from the connection.
func readN(t *testing.T, c *rawConn, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := io.ReadFull(c.br, b)
	noErr(t, err)
	return string(b)
}

// closeWait is how long a server may take to close a finished connection.
const closeWait = time.Second

func testHTTP10Synchronous(t *testing.T) {
	u := service("echo")
	c, err := dialRaw(u)
	noErr(t, err)
	defer c.Close()
	r := rawExchange(t, c, http.MethodGet, u, "HTTP/1.0", [2]string{"Connection", "Keep-Alive"})
	eq(t, "status", r.status, 200)
	check(t, r.proto == "1.0" || r.proto == "1.1", "response version %q", r.proto)
	eq(t, "Transfer-Encoding", r.get("Transfer-Encoding"), "")
	if r.get("Content-Length") == "" {
		eq(t, "Connection", strings.ToLower(r.get("Connection")), "close")
		b, err := io.ReadAll(c.br)
		noErr(t, err)
		eq(t, "body", string(b), "Welcome to SockJS!\n")
		return
	}
	eq(t, "Content-Length", r.get("Content-Length"), "19")
	eq(t, "body", readN(t, c, 19), "Welcome to SockJS!\n")
	conn := strings.ToLower(r.get("Connection"))
	if conn == "close" || conn == "" {
		noErr(t, c.expectClosed(closeWait))
		return
	}
	eq(t, "Connection", conn, "keep-alive")
	r = rawExchange(t, c, http.MethodGet, u, "HTTP/1.0", [2]string{"Connection", "Keep-Alive"})
	eq(t, "status of the second request", r.status, 200)
}

func testHTTP10Streaming(t *testing.T) {
	u := newSession(service("close")) + "/xhr_streaming"
	c, err := dialRaw(u)
	noErr(t, err)
	defer c.Close()
	r := rawExchange(t, c, http.MethodPost, u, "HTTP/1.0", [2]string{"Connection", "Keep-Alive"})
	eq(t, "status", r.status, 200)
	eq(t, "Transfer-Encoding", r.get("Transfer-Encoding"), "")
	eq(t, "Content-Length", r.get("Content-Length"), "")
	eq(t, "first prelude byte", readN(t, c, 2048+1)[:1], "h")
	eq(t, "open frame", readN(t, c, 2), "o\n")
	eq(t, "close frame", readN(t, c, 19), goAwayFrame+"\n")
	noErr(t, c.expectClosed(closeWait))
}

// testHTTP11Synchronous: upstream's check of the response version cannot
// fail; here it must be 1.1.
func testHTTP11Synchronous(t *testing.T) {
	u := service("echo")
	c, err := dialRaw(u)
	noErr(t, err)
	defer c.Close()
	r := rawExchange(t, c, http.MethodGet, u, "HTTP/1.1", [2]string{"Connection", "Keep-Alive"})
	eq(t, "response version", r.proto, "1.1")
	conn := strings.ToLower(r.get("Connection"))
	check(t, conn == "keep-alive" || conn == "", "Connection %q: the server does not support keep-alive", conn)
	if r.get("Content-Length") != "" {
		eq(t, "Content-Length", r.get("Content-Length"), "19")
		eq(t, "body", readN(t, c, 19), "Welcome to SockJS!\n")
		eq(t, "Transfer-Encoding", r.get("Transfer-Encoding"), "")
	} else {
		eq(t, "Transfer-Encoding", strings.ToLower(r.get("Transfer-Encoding")), "chunked")
		b, err := r.chunks.next()
		noErr(t, err)
		eq(t, "first chunk", string(b), "Welcome to SockJS!\n")
		_, err = r.chunks.next()
		eq(t, "end of the body", err, io.EOF)
	}
	r = rawExchange(t, c, http.MethodGet, u, "HTTP/1.1", [2]string{"Connection", "Keep-Alive"})
	eq(t, "status of the second request", r.status, 200)
}

// testHTTP11Streaming: upstream only checks that Transfer-Encoding is
// present; here it must be chunked, which its chunk reads need anyway.
func testHTTP11Streaming(t *testing.T) {
	u := newSession(service("close")) + "/xhr_streaming"
	c, err := dialRaw(u)
	noErr(t, err)
	defer c.Close()
	r := rawExchange(t, c, http.MethodPost, u, "HTTP/1.1", [2]string{"Connection", "Keep-Alive"})
	eq(t, "status", r.status, 200)
	eq(t, "Transfer-Encoding", strings.ToLower(r.get("Transfer-Encoding")), "chunked")
	eq(t, "Content-Length", r.get("Content-Length"), "")
	eq(t, "first prelude byte", read(t, r)[:1], "h")
	eq(t, "open chunk", read(t, r), "o\n")
	eq(t, "close chunk", read(t, r), goAwayFrame+"\n")
	readEnd(t, r)
}

// --- HttpQuirks ---

func testEmptyContentLengthForPost(t *testing.T) {
	u := newSession(service("echo")) + "/xhr"
	r, err := roundTrip(rawRequest{method: http.MethodPost, url: u, noLength: true})
	noErr(t, err)
	eq(t, "body", string(r.body), "o\n")
	eq(t, "status", r.status, 200)
}
