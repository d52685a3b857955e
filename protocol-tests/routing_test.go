package protocoltests

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// endpoints are the paths of a service with the methods each accepts.
var endpoints = []struct {
	name, path string
	allowed    []string
}{
	{"greeting", "", []string{"GET"}},
	{"greeting_slash", "/", []string{"GET"}},
	{"iframe", "/iframe.html", []string{"GET"}},
	{"info", "/info", []string{"GET", "OPTIONS"}},
	{"rawwebsocket", "/websocket", []string{"GET"}},
	{"xhr", "/0/0/xhr", []string{"POST", "OPTIONS"}},
	{"xhr_send", "/0/0/xhr_send", []string{"POST", "OPTIONS"}},
	{"xhr_streaming", "/0/0/xhr_streaming", []string{"POST", "OPTIONS"}},
	{"eventsource", "/0/0/eventsource", []string{"GET"}},
	{"htmlfile", "/0/0/htmlfile", []string{"GET"}},
	{"jsonp", "/0/0/jsonp", []string{"GET"}},
	{"jsonp_send", "/0/0/jsonp_send", []string{"POST"}},
	{"websocket", "/0/0/websocket", []string{"GET"}},
}

// TestRouting is the 404/405 matrix beyond the upstream tests.
func TestRouting(t *testing.T) {
	checkSkip(t)
	// Every known path answers a wrong method with the exact 405 of
	// PROTOCOL.md §1, and its Allow lists what the path accepts. OPTIONS on
	// GET-only paths is left out: a server may answer CORS preflights there.
	for _, e := range endpoints {
		run(t, "method_not_allowed/"+e.name, func(t *testing.T) {
			methods := []string{"PUT", "DELETE", "PATCH"}
			if e.allowed[0] == "GET" {
				methods = append(methods, "POST")
			} else {
				methods = append(methods, "GET")
			}
			for _, m := range methods {
				r := request(t, m, service("echo")+e.path, "", nil)
				check(t, r.status == 405, "%s %s: status %d, want 405", m, e.path, r.status)
				verify405(t, r)
				for _, a := range e.allowed {
					check(t, hasToken(r.get("Allow"), a), "%s %s: Allow %q lacks %s", m, e.path, r.get("Allow"), a)
				}
			}
		})
	}
	// Paths that are not SockJS URLs. Segments are split on the escaped
	// path: %2F does not separate segments.
	for _, p := range []string{"/0/0/unknown", "/0/0/xhr_sendx", "/0/0/XHR", "/0/0/0/xhr", "/0/0", "/0/0/", "/0",
		"/a/b%2Fxhr", "/info.json", "/iframe.html.x", "/0/0/eventsource/x"} {
		run(t, "not_found/"+strings.NewReplacer("/", "_", "%", "").Replace(strings.TrimPrefix(p, "/")), func(t *testing.T) {
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				r := request(t, m, service("echo")+p, "", nil)
				check(t, r.status == 404, "%s %s: status %d, want 404", m, p, r.status)
			}
		})
	}
	run(t, "encoded_slash_is_opaque", func(t *testing.T) {
		u := service("echo") + "/a%2Fb/" + newID() + "/xhr"
		r := post(t, u, "")
		eq(t, "status", r.status, 200)
		eq(t, "body", string(r.body), "o\n")
	})
	run(t, "disabled_websocket", func(t *testing.T) {
		for _, p := range []string{"/0/0/websocket", "/websocket"} {
			u := service("disabled_websocket_echo") + p
			verify404(t, get(t, u))
			_, resp, err := dialWS(u, nil)
			check(t, err != nil && resp != nil && resp.StatusCode == 404, "websocket %s: want 404, got %v", p, err)
		}
	})
	run(t, "unknown_session_senders", func(t *testing.T) {
		u := newSession(service("echo"))
		for _, ct := range []string{"", "text/plain", "application/json", "application/xml"} {
			r := post(t, u+"/xhr_send", `["x"]`, [2]string{"Content-Type", ct})
			check(t, r.status == 404, "xhr_send (Content-Type %q) to an unknown session: status %d, want 404", ct, r.status)
		}
		r := post(t, u+"/jsonp_send", "d=%5B%22x%22%5D", form)
		check(t, r.status == 404, "jsonp_send (form) to an unknown session: status %d, want 404", r.status)
		r = post(t, u+"/jsonp_send", `["x"]`, [2]string{"Content-Type", "text/plain"})
		check(t, r.status == 404, "jsonp_send (text/plain) to an unknown session: status %d, want 404", r.status)
		eq(t, "a receiver still opens a new session", string(post(t, u+"/xhr", "").body), "o\n")
	})
	run(t, "options_creates_no_session", func(t *testing.T) {
		u := newSession(service("echo"))
		for _, p := range []string{"/xhr", "/xhr_streaming", "/xhr_send"} {
			r := options(t, u+p, [2]string{"Origin", "test"}, [2]string{"Access-Control-Request-Method", "POST"})
			check(t, r.status == 204 || r.status == 200, "OPTIONS %s: status %d", p, r.status)
		}
		verify404(t, post(t, u+"/xhr_send", `["x"]`))
	})
}

// TestJSESSIONID extends JsessionidCookie: the request's cookie value is
// echoed on every transport, never set on the greeting or the iframe, and
// the services without the option never set it.
func TestJSESSIONID(t *testing.T) {
	checkSkip(t)
	cookie := [2]string{"Cookie", "JSESSIONID=abcdef"}
	receivers := []struct {
		name, method, suffix string
	}{
		{"xhr", http.MethodPost, "xhr"},
		{"xhr_streaming", http.MethodPost, "xhr_streaming"},
		{"eventsource", http.MethodGet, "eventsource"},
		{"htmlfile", http.MethodGet, "htmlfile?c=cb"},
		{"jsonp", http.MethodGet, "jsonp?c=cb"},
	}
	for _, rc := range receivers {
		run(t, "echoed/"+rc.name, func(t *testing.T) {
			r := async(t, rc.method, newSession(service("cookie_needed_echo"))+"/"+rc.suffix, hdrs{cookie})
			eq(t, "status", r.status, 200)
			verifyCookie(t, r, "abcdef")
		})
		run(t, "not_needed/"+rc.name, func(t *testing.T) {
			r := async(t, rc.method, newSession(service("echo"))+"/"+rc.suffix, hdrs{cookie})
			eq(t, "status", r.status, 200)
			verifyNoCookie(t, r)
		})
	}
	run(t, "echoed/jsonp_send", func(t *testing.T) {
		u := newSession(service("cookie_needed_echo"))
		eq(t, "open", get(t, u+"/jsonp?c=x").status, 200)
		r := post(t, u+"/jsonp_send", "d=%5B%22x%22%5D", form, cookie)
		eq(t, "body", string(r.body), "ok")
		verifyCookie(t, r, "abcdef")
	})
	run(t, "not_needed/senders", func(t *testing.T) {
		u := newSession(service("echo"))
		eq(t, "open", post(t, u+"/xhr", "").status, 200)
		verifyNoCookie(t, post(t, u+"/xhr_send", `["x"]`, cookie))
		verifyNoCookie(t, post(t, u+"/jsonp_send", "d=%5B%22x%22%5D", form, cookie))
		verifyNoCookie(t, options(t, u+"/xhr", cookie, [2]string{"Origin", "test"}))
	})
	for _, p := range []struct{ name, path string }{{"greeting", ""}, {"greeting_slash", "/"}, {"iframe", "/iframe.html"}, {"info", "/info"}} {
		run(t, "no_cookie/"+p.name, func(t *testing.T) {
			r := get(t, service("cookie_needed_echo")+p.path, cookie)
			eq(t, "status", r.status, 200)
			verifyNoCookie(t, r)
		})
	}
}

// TestHTTPVersions checks HTTP/1.0 on every HTTP transport (no chunking; a
// body delimited by Content-Length or by closing the connection) and a
// whole session over one HTTP/1.1 keep-alive connection.
func TestHTTPVersions(t *testing.T) {
	checkSkip(t)
	for _, tr := range httpTransports {
		run(t, "http10/"+tr.name, func(t *testing.T) {
			svc := service("close")
			want := []string{openFrame, goAwayFrame}
			if !tr.streaming {
				svc, want = service("echo"), []string{openFrame}
			}
			u := newSession(svc) + "/" + tr.name + tr.query
			c, err := dialRaw(u)
			noErr(t, err)
			defer c.Close()
			r := rawExchange(t, c, tr.method, u, "HTTP/1.0")
			eq(t, "status", r.status, 200)
			eq(t, "Transfer-Encoding", r.get("Transfer-Encoding"), "")
			if tr.streaming {
				eq(t, "Content-Length", r.get("Content-Length"), "")
			}
			dec := newDecoder(tr.name, c.mode.wrap(r.bodyReader()))
			for _, w := range want {
				f, err := dec.next()
				noErr(t, err)
				eq(t, "frame", f, w)
			}
			_, err = dec.next()
			eq(t, "end of the body", err, io.EOF)
			if r.kind == bodyEOF {
				noErr(t, c.expectClosed(closeWait))
			}
		})
	}
	run(t, "http11_keepalive", func(t *testing.T) {
		u := newSession(service("echo"))
		c, err := dialRaw(u)
		noErr(t, err)
		defer c.Close()
		steps := []struct {
			method, url, body, want string
			status                  int
			// partial, rest: the echo service answers each message as it
			// receives it, so a poll may get only the first echo; the
			// next poll must then bring the rest.
			partial, rest string
		}{
			{"GET", service("echo"), "", "Welcome to SockJS!\n", 200, "", ""},
			{"GET", service("echo") + "/info", "", "", 200, "", ""},
			{"OPTIONS", u + "/xhr", "", "", 204, "", ""},
			{"POST", u + "/xhr", "", "o\n", 200, "", ""},
			{"POST", u + "/xhr_send", `["a","b"]`, "", 204, "", ""},
			{method: "POST", url: u + "/xhr", want: "a[\"a\",\"b\"]\n", status: 200, partial: "a[\"a\"]\n", rest: "a[\"b\"]\n"},
			{"GET", service("echo") + "/iframe.html", "", "", 200, "", ""},
			{"POST", u + "/jsonp_send", `["c"]`, "ok", 200, "", ""},
			{"GET", u + "/jsonp?c=x", "", `a[\"c\"]`, 200, "", ""},
		}
		for i, s := range steps {
			noErr(t, c.write(rawRequest{method: s.method, url: s.url, body: []byte(s.body), header: hdrs{{"Origin", "test"}}}))
			r, err := c.readResponse(s.method, "")
			if err != nil {
				t.Fatalf("step %d (%s %s): %v", i, s.method, s.url, err)
			}
			noErr(t, r.readBody())
			if s.partial != "" && string(r.body) == s.partial {
				noErr(t, c.write(rawRequest{method: s.method, url: s.url, header: hdrs{{"Origin", "test"}}}))
				if r, err = c.readResponse(s.method, ""); err != nil {
					t.Fatalf("step %d (%s %s), second poll: %v", i, s.method, s.url, err)
				}
				noErr(t, r.readBody())
				s.want = s.rest
			}
			if s.method == "OPTIONS" {
				check(t, r.status == 200 || r.status == 204, "step %d: OPTIONS status %d", i, r.status)
			} else {
				eq(t, fmt.Sprintf("step %d (%s %s) status", i, s.method, s.url), r.status, s.status)
			}
			if s.want != "" {
				check(t, strings.Contains(string(r.body), s.want), "step %d (%s %s): body %q lacks %q", i, s.method, s.url, r.body, s.want)
			}
			check(t, !hasToken(r.get("Connection"), "close") && r.kind != bodyEOF,
				"step %d (%s %s): the server closes the keep-alive connection", i, s.method, s.url)
		}
	})
}

// TestChunking reads streaming responses one HTTP/1.1 chunk at a time, as
// the upstream suite does, and checks that the prelude, the open frame and
// every later frame each fill exactly one chunk, for messages whose frames
// cross Go's 2 KiB chunking buffer and the 4096-byte response limit.
func TestChunking(t *testing.T) {
	checkSkip(t)
	for _, tr := range streamingTransports {
		for _, size := range []int{1, 100, 2000, 2047, 2048, 2049, 4000, 10000, 65536} {
			run(t, fmt.Sprintf("%s/%d", tr.name, size), func(t *testing.T) {
				u := newSession(service("echo"))
				r := async(t, tr.method, u+"/"+tr.name+tr.query, nil)
				eq(t, "status", r.status, 200)
				eq(t, "Transfer-Encoding", strings.ToLower(r.get("Transfer-Encoding")), "chunked")
				checkPrelude(t, tr, read(t, r))
				eq(t, "open chunk", read(t, r), wrapFrame(tr.name, openFrame))
				s := &sender{tr: tr, sessURL: u}
				defer s.close()
				msg := strings.Repeat("x", size-1) + "é"
				noErr(t, s.send(msg))
				frames := chunkFrames(t, tr, read(t, r))
				eq(t, "frames in the chunk", len(frames), 1)
				check(t, frames[0].kind == 'a' && len(frames[0].msgs) == 1 && frames[0].msgs[0] == msg,
					"chunk frame %q, want the %d-byte message", clip(frames[0].text), len(msg))
			})
		}
		run(t, tr.name+"/burst", func(t *testing.T) {
			u := newSession(service("echo"))
			r := async(t, tr.method, u+"/"+tr.name+tr.query, nil)
			eq(t, "status", r.status, 200)
			checkPrelude(t, tr, read(t, r))
			eq(t, "open chunk", read(t, r), wrapFrame(tr.name, openFrame))
			const n = 40
			sent := make(chan error, 1)
			go func() {
				s := &sender{tr: tr, sessURL: u}
				defer s.close()
				for i := 0; i < n; i++ {
					if err := s.send(fmt.Sprint(i)); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
			var got []string
			for len(got) < n {
				frames := chunkFrames(t, tr, read(t, r))
				eq(t, "frames in one chunk", len(frames), 1)
				got = append(got, frames[0].msgs...)
			}
			noErr(t, <-sent)
			checkSequence(t, got)
		})
		run(t, tr.name+"/close", func(t *testing.T) {
			r := async(t, tr.method, newSession(service("close"))+"/"+tr.name+tr.query, nil)
			eq(t, "status", r.status, 200)
			checkPrelude(t, tr, read(t, r))
			eq(t, "open chunk", read(t, r), wrapFrame(tr.name, openFrame))
			frames := chunkFrames(t, tr, read(t, r))
			eq(t, "close chunk", frames[0].text, goAwayFrame)
			readEnd(t, r)
		})
	}
}

// checkPrelude checks a streaming transport's prelude chunk.
func checkPrelude(t *testing.T, tr *transport, chunk string) {
	t.Helper()
	if tr == tHTMLFile {
		eq(t, "prelude chunk", strings.TrimSpace(chunk), htmlfileHead("callback"))
		check(t, len(chunk) > 1024, "prelude is %d bytes, want more than 1024", len(chunk))
		return
	}
	eq(t, "prelude chunk", chunk, preludeOf(tr.name))
}

// chunkFrames decodes one chunk on its own; it must hold whole frames and
// no more (heartbeat frames are dropped).
func chunkFrames(t *testing.T, tr *transport, chunk string) []frame {
	t.Helper()
	name := tr.name
	if name == "xhr_streaming" {
		name = "xhr" // no prelude in a later chunk
	}
	dec := newDecoder(name, strings.NewReader(chunk))
	var frames []frame
	for {
		text, err := dec.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chunk %s does not hold whole frames: %v", describe(chunk), err)
		}
		f, err := parseFrame(text)
		noErr(t, err)
		if f.kind != 'h' {
			frames = append(frames, f)
		}
	}
	check(t, len(frames) > 0, "chunk %s holds no frame", describe(chunk))
	return frames
}
