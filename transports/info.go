package transports

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"html"
	"net/http"
	"strconv"
)

// greeting answers the service's root URL.
func (s *Server) greeting(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	set(h, "Content-Type", typeText)
	w.Write([]byte("Welcome to SockJS!\n"))
}

// info answers /info: the capabilities sockjs-client reads before choosing a
// transport.
func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	if !s.checkOrigin(w, r, false) {
		return
	}
	h := w.Header()
	set(h, "Content-Type", typeJSON)
	setNoCache(h)
	setCORS(h, r)
	var e [4]byte
	rand.Read(e[:])
	b := make([]byte, 0, 96)
	b = append(b, `{"websocket":`...)
	b = strconv.AppendBool(b, !s.cfg.NoWebsocket)
	b = append(b, `,"origins":["*:*"],"cookie_needed":`...)
	b = strconv.AppendBool(b, s.cfg.CookieNeeded)
	b = append(b, `,"entropy":`...)
	b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(e[:])), 10)
	b = append(b, '}')
	w.Write(b)
}

// iframePage is the rendered iframe page and its ETag.
type iframePage struct {
	body []byte
	etag string
}

func newIframePage(clientURL string) iframePage {
	body := `<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="` + html.EscapeString(clientURL) + `"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>`
	sum := md5.Sum([]byte(body))
	return iframePage{body: []byte(body), etag: `"` + hex.EncodeToString(sum[:]) + `"`}
}

// serveIframe answers /iframe*.html: the page the iframe-based transports
// load from the server's origin.
func (s *Server) serveIframe(w http.ResponseWriter, r *http.Request) {
	if !s.checkOrigin(w, r, true) {
		return
	}
	h := w.Header()
	if s.frameAncestors != "" {
		set(h, "Content-Security-Policy", s.frameAncestors)
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == s.iframe.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	set(h, "Content-Type", typeHTML)
	setCacheable(h)
	set(h, "Etag", s.iframe.etag)
	w.Write(s.iframe.body)
}
