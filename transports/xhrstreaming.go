package transports

import "bytes"

// xhr-streaming: POST /{server}/{session}/xhr_streaming; a prelude of 2048
// 'h' (so that old browsers start delivering progress events), then one frame
// per line until the response limit.
var xhrStreaming = &framing{
	name:        "xhr-streaming",
	contentType: typeJavaScript,
	streaming:   true,
	cors:        true,
	suffix:      "\n",
	prelude:     func(string) []byte { return xhrPrelude },
}

var xhrPrelude = append(bytes.Repeat([]byte{'h'}, 2048), '\n')
