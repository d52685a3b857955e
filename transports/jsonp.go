package transports

import "net/http"

// jsonp-polling: GET /{server}/{session}/jsonp?c=callback answers one frame
// as /**/callback("frame");. The /**/ prefix and nosniff defend against
// Rosetta-Flash-style content sniffing.
var jsonpPolling = &framing{
	name:        "jsonp-polling",
	contentType: typeJavaScript,
	callback:    true,
	referer:     true,
	escape:      escapeJSString,
	prefix:      "/**/",
	suffix:      ");\r\n",
}

// jsonpSend serves POST /{server}/{session}/jsonp_send: the messages come in
// the form field d (application/x-www-form-urlencoded) or as the raw body
// (any other type); 200 "ok" on success.
func (s *Server) jsonpSend(w http.ResponseWriter, r *http.Request, id string) {
	if !s.checkOrigin(w, r, true) {
		return
	}
	h := w.Header()
	s.setCookie(h, r)
	if !s.send(w, r, id, true) {
		return
	}
	set(h, "Content-Type", typeText)
	setNoCache(h)
	w.Write([]byte("ok"))
}
