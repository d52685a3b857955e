// What the suite runs: the modes, the transports and the cases. The cases
// themselves are implemented in page/harness.js under the same names.
'use strict';

// Every transport of sockjs-client 1.6.1 that Chromium can use; the
// xdr-* transports need IE's XDomainRequest. htmlfile requires the page
// and the SockJS server to share an origin; cross-origin, sockjs-client
// reaches it only through iframe-htmlfile.
const TRANSPORTS = [
  { name: 'websocket', modes: ['cross', 'same', 'https'] },
  { name: 'xhr-streaming', modes: ['cross', 'same', 'https'] },
  { name: 'xhr-polling', modes: ['cross', 'same', 'https'] },
  { name: 'eventsource', modes: ['cross', 'same', 'https'] },
  { name: 'iframe-eventsource', modes: ['cross', 'same', 'https'] },
  { name: 'iframe-htmlfile', modes: ['cross', 'same', 'https'] },
  { name: 'iframe-xhr-polling', modes: ['cross', 'same', 'https'] },
  { name: 'jsonp-polling', modes: ['cross', 'same', 'https'] },
  { name: 'htmlfile', modes: ['same'] },
];

const MODES = {
  // Page on http://127.0.0.1:PAGEPORT, SockJS server on
  // http://localhost:SERVERPORT: another origin and another site, so XHR
  // goes through CORS with credentials and the iframe transports load the
  // server's iframe page, which loads the bundle from the client URL.
  cross: 'page and SockJS server on different origins',
  // Page and SockJS services on one origin, through the proxy in
  // lib/pageserver.js (HTTP and websocket upgrades).
  same: 'page and SockJS server on one origin (through a proxy)',
  // As cross, over HTTPS: page on https://127.0.0.1:HTTPSPAGEPORT, SockJS
  // server on https://localhost:TLSPORT speaking HTTP/2 (websockets open
  // their own HTTP/1.1 connections), with a certificate made for the run.
  // SERVER=go only (the Go server's -tls-cert and -tls-key).
  https: 'page and SockJS server on different origins, over HTTPS with HTTP/2',
};

// label: the table's column heading. timeoutMs: the in-page limit of the
// case; run.js adds a margin on its side.
const CASES = [
  { name: 'open', label: 'open', timeoutMs: 10000, what: 'opens with the forced transport' },
  { name: 'ascii', label: 'ascii', timeoutMs: 10000, what: 'ASCII text, quotes, backslashes, frame-like text' },
  { name: 'empty', label: 'empty', timeoutMs: 10000, what: 'empty and one-space messages' },
  { name: 'korean', label: 'ko', timeoutMs: 10000, what: 'Korean (Hangul) text' },
  { name: 'emoji', label: 'emoji', timeoutMs: 10000, what: 'emoji: surrogate pairs, ZWJ sequences, flags' },
  { name: 'u2028', label: '2028', timeoutMs: 10000, what: 'U+2028 and U+2029' },
  { name: 'control', label: 'ctrl', timeoutMs: 10000, what: 'U+0000-U+001F, U+007F-U+009F, CR, LF, NUL' },
  { name: 'format', label: 'fmt', timeoutMs: 10000, what: 'U+200C-200F, 2028-202F, 2060-206F, FEFF, FFF0-FFFF' },
  { name: 'surrogates', label: 'surr', timeoutMs: 10000, what: 'lone (unpaired) surrogates' },
  { name: 'script', label: 'scrpt', timeoutMs: 6000, what: '</script> (ends htmlfile\'s inline script) and a message after it' },
  { name: 'comment', label: '<!--', timeoutMs: 6000, what: '<!-- <script> (HTML parser escape states) and a message after it' },
  { name: 'percent', label: 'pct', timeoutMs: 10000, what: '%41, %, %zz, %25 ... (eventsource decodeURI)' },
  { name: 'big64k', label: '64k', timeoutMs: 20000, what: 'one 64 KiB message' },
  { name: 'big1m', label: '1m', timeoutMs: 30000, what: 'one 1 MiB message' },
  { name: 'order1000', label: 'x1000', timeoutMs: 30000, what: '1000 back-to-back messages, in order' },
  { name: 'onopen', label: 'onopen', timeoutMs: 10000, what: 'messages sent inside the open handler' },
  { name: 'srvclose', label: 'srvcl', timeoutMs: 10000, what: 'server closes with 3000 "Go away!" (/close)' },
  { name: 'cliclose', label: 'clicl', timeoutMs: 10000, what: 'client close(4000, "bye"), nothing after it' },
  { name: 'reconnect', label: 'recon', timeoutMs: 20000, what: 'new connections after client and server closes' },
  { name: 'cookie', label: 'cookie', timeoutMs: 10000, what: 'echo on /cookie_needed_echo (JSESSIONID)' },
  { name: 'nows', label: 'nows', timeoutMs: 10000, what: '/disabled_websocket_echo: websocket refused, others echo' },
];

module.exports = { TRANSPORTS, MODES, CASES };
