package transports

import "net/http"

// xhr-polling: POST /{server}/{session}/xhr answers one frame per request.
var xhrPolling = &framing{
	name:        "xhr-polling",
	contentType: typeJavaScript,
	cors:        true,
	suffix:      "\n",
}

// xhrSend serves POST /{server}/{session}/xhr_send, the sender shared by
// xhr-polling, xhr-streaming, eventsource and htmlfile: a JSON array of
// messages in the body, whatever its Content-Type; 204 on success.
func (s *Server) xhrSend(w http.ResponseWriter, r *http.Request, id string) {
	if !s.checkOrigin(w, r, false) {
		return
	}
	h := w.Header()
	setCORS(h, r)
	s.setCookie(h, r)
	if !s.send(w, r, id, false) {
		return
	}
	set(h, "Content-Type", typeText)
	setNoCache(h)
	w.WriteHeader(http.StatusNoContent)
}
