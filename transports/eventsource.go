package transports

// eventsource: GET /{server}/{session}/eventsource; server-sent events, one
// "data:" event per frame. The frame text is escaped (% CR LF NUL) because
// sockjs-client decodes it with decodeURI and SSE framing cannot carry CR or
// LF.
var eventSource = &framing{
	name:        "eventsource",
	contentType: typeEventSrc,
	streaming:   true,
	cors:        true, // a cross-origin EventSource is a CORS request
	escape:      escapeEventSource,
	prefix:      "data: ",
	suffix:      "\r\n\r\n",
	prelude:     func(string) []byte { return eventSourcePrelude },
}

var eventSourcePrelude = []byte("\r\n")
