package main

import (
	"net/http"
	"strings"

	"github.com/gorilla/websocket"
)

// gorillaEcho is the ceiling for the websocket transports: a bare
// gorilla/websocket echo with the least work SockJS framing needs.
//
//	/echo/websocket                 echoes every message as is
//	/echo/<server>/<id>/websocket   writes the open frame "o", then answers
//	                                each message ["m",...] with a["m",...]
//	                                (prepending one byte, without parsing)
//
// Nothing else: no sessions, no heartbeats, no validation.
func gorillaEcho() http.Handler {
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		framed := strings.HasSuffix(r.URL.Path, "/websocket") && strings.Count(r.URL.Path, "/") == 4
		if r.URL.Path != "/echo/websocket" && !framed {
			http.NotFound(w, r)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		var buf []byte
		if framed {
			if c.WriteMessage(websocket.TextMessage, []byte("o")) != nil {
				return
			}
		}
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if framed {
				buf = append(append(buf[:0], 'a'), p...)
				p = buf
			}
			if c.WriteMessage(websocket.TextMessage, p) != nil {
				return
			}
		}
	})
}
