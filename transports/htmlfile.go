package transports

import "strings"

// htmlfile: GET /{server}/{session}/htmlfile?c=callback; a page in a hidden
// iframe that calls parent.callback with each frame, as a JavaScript string
// inside a <script> element. The string escaping keeps '<', '>' and '&' out
// of the page, so a message cannot end the script element.
var htmlFile = &framing{
	name:        "htmlfile",
	contentType: typeHTML,
	streaming:   true,
	callback:    true,
	referer:     true,
	framed:      true,
	escape:      escapeJSString,
	prefix:      "<script>\np(",
	suffix:      ");\n</script>\r\n",
	prelude:     htmlfilePrelude,
}

const htmlfileHead = `<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.`

const htmlfileTail = `;
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>
`

// htmlfilePrelude renders the page head for a validated callback, padded
// past 1024 bytes (Safari renders nothing before that).
func htmlfilePrelude(callback string) []byte {
	n := len(htmlfileHead) + len(callback) + len(htmlfileTail)
	pad := 0
	if n < 1024 {
		pad = 1024 - n
	}
	var b strings.Builder
	b.Grow(n + pad + 4)
	b.WriteString(htmlfileHead)
	b.WriteString(callback)
	b.WriteString(htmlfileTail)
	b.WriteString(strings.Repeat(" ", pad))
	b.WriteString("\r\n\r\n")
	return []byte(b.String())
}
