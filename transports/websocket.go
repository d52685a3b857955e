package transports

import (
	"net/http"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
)

// upgrader performs RFC 6455 handshakes. Origins are checked before it runs.
type upgrader struct{ websocket.Upgrader }

func newUpgrader(cfg *Config) upgrader {
	return upgrader{websocket.Upgrader{
		ReadBufferSize:    cfg.ReadBufferSize,
		WriteBufferSize:   cfg.WriteBufferSize,
		WriteBufferPool:   &sync.Pool{},
		EnableCompression: cfg.WebsocketCompression,
		HandshakeTimeout:  cfg.WriteTimeout, // writing the 101
		CheckOrigin:       func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			fail(w, status, reason.Error()+"\n")
		},
	}}
}

// checkUpgrade answers 400 unless r asks for a websocket upgrade.
func checkUpgrade(w http.ResponseWriter, r *http.Request) bool {
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		fail(w, http.StatusBadRequest, `Can "Upgrade" only to "WebSocket".`)
		return false
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		fail(w, http.StatusBadRequest, `"Connection" must be "Upgrade".`)
		return false
	}
	return true
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// websocket serves GET /{server}/{session}/websocket: a SockJS-framed
// session over one websocket. Its session is not in the table: it lives as
// long as the connection, and its id may be reused at any time.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request, id string) {
	if !checkUpgrade(w, r) || !s.checkOrigin(w, r, false) {
		return
	}
	hixie := isHixie76(r)
	if hixie && !s.cfg.Hixie76 {
		fail(w, http.StatusBadRequest, "hixie-76 websockets are not enabled (see Options.Hixie76)\n")
		return
	}
	sess, err := s.table.OpenDetached(id, "websocket", r)
	if err != nil {
		openFailed(w, err)
		return
	}
	var conn msgConn
	if hixie {
		conn, err = acceptHixie76(w, r)
	} else {
		var c *websocket.Conn
		c, err = s.up.upgrade(w, r)
		if err == nil {
			conn = newGorillaConn(c, s.cfg.WriteTimeout)
		}
	}
	if err != nil {
		s.table.Abandon(sess)
		return
	}
	s.table.Start(sess)
	s.startConn(conn, sess, true)
}
