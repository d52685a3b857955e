package transports

import "net/http"

// rawWebsocket serves GET /websocket: one message per websocket message, no
// SockJS framing, RFC 6455 only.
func (s *Server) rawWebsocket(w http.ResponseWriter, r *http.Request) {
	if !checkUpgrade(w, r) || !s.checkOrigin(w, r, false) {
		return
	}
	sess, err := s.table.OpenDetached("", "websocket-raw", r)
	if err != nil {
		openFailed(w, err)
		return
	}
	c, err := s.up.upgrade(w, r)
	if err != nil {
		s.table.Abandon(sess)
		return
	}
	s.table.Start(sess)
	s.startConn(newGorillaConn(c, s.cfg.WriteTimeout), sess, false)
}
