// Known failures per server. A run passes when every case passes except
// exactly the ones listed for its server: a listed case that passes is an
// error too (an "unexpected pass": fix the list). An entry with
// flaky: true may pass or fail.
//
// Fields: mode ('cross', 'same' or '*'), transport (name or '*'), case
// (name from cases.js), reason (printed with the result).
'use strict';

module.exports = {
  // Our server: must pass everything.
  go: [],

  // sockjs-node 0.3.24, the reference server (tools/sockjs-node).
  node: [
    // htmlfile writes each frame as <script>\np(JSON.stringify(frame));\n</script>
    // (trans-htmlfile.js) without escaping '<' or '/': a message containing
    // </script> ends the script element early, the rest of the frame is
    // parsed as HTML and the message ("<script>..." included) runs as
    // script in the server's origin, and this and later messages are lost.
    // Same-origin, the injected script reaches the test page itself.
    // PROTOCOL.md section 9. jsonp is not affected: its frames arrive as an
    // external script, where </script> is just text.
    { mode: '*', transport: ['htmlfile', 'iframe-htmlfile'], case: 'script',
      reason: 'htmlfile frames are not HTML-escaped: </script> in a message ends the script element (message lost, markup runs as script)' },
    // The same defect: '<!-- <script>' inside the inline script puts the
    // HTML parser into the "script data double escaped" state, in which the
    // frame's own </script> no longer closes the element; this and every
    // later frame are swallowed.
    { mode: '*', transport: ['htmlfile', 'iframe-htmlfile'], case: 'comment',
      reason: 'htmlfile frames are not HTML-escaped: <!-- <script> in a message keeps the frame\'s </script> from closing it (messages lost)' },
  ],

  // SERVER_CMD / SERVER_URL without SERVER: nothing is expected to fail.
  custom: [],
};
