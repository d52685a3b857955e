package transports

import "strings"

type routeKind uint8

const (
	routeNotFound routeKind = iota
	routeGreeting
	routeInfo
	routeIframe
	routeRawWebsocket
	routeSession
)

// routed is the result of splitting a path.
type routed struct {
	kind      routeKind
	server    string // routeSession only; ignored, as the protocol says
	session   string
	transport string // the last segment, e.g. "xhr_send"; not validated here
}

// route splits an escaped path relative to the service prefix. It never
// decodes: %2F cannot create a segment, and ids are opaque.
func route(p string) routed {
	switch p {
	case "", "/":
		return routed{kind: routeGreeting}
	case "/info":
		return routed{kind: routeInfo}
	case "/websocket":
		return routed{kind: routeRawWebsocket}
	}
	if len(p) < 2 || p[0] != '/' {
		return routed{}
	}
	rest := p[1:]
	if isIframeName(rest) {
		return routed{kind: routeIframe}
	}
	server, rest, ok := strings.Cut(rest, "/")
	if !ok || !validID(server) {
		return routed{}
	}
	sess, transport, ok := strings.Cut(rest, "/")
	if !ok || !validID(sess) || transport == "" || strings.IndexByte(transport, '/') >= 0 {
		return routed{}
	}
	return routed{kind: routeSession, server: server, session: sess, transport: transport}
}

// MaxIDLength bounds server and session ids, in bytes of the escaped
// path; longer ones are answered 404. SockJS clients use 3 and 8
// characters; every session keeps its id and the URL that carried it.
const MaxIDLength = 128

// validID: a server or session id is any non-empty segment without '.', at
// most MaxIDLength bytes long.
func validID(s string) bool {
	return s != "" && len(s) <= MaxIDLength && strings.IndexByte(s, '.') < 0
}

// isIframeName matches iframe.html and iframe<v>.html, v in [0-9a-z._-]*.
func isIframeName(s string) bool {
	v, ok := strings.CutPrefix(s, "iframe")
	if !ok {
		return false
	}
	v, ok = strings.CutSuffix(v, ".html")
	if !ok {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
