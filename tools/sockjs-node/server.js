// The four SockJS test services on sockjs-node 0.3.24, the reference server.
// Used only to compare against: protocol-tests scores it, the Go client tests
// talk to it. Listens on PORT (default 8082) on 127.0.0.1 only.
'use strict';
const http = require('http');
const sockjs = require('sockjs');

const port = Number(process.env.PORT || 8082);
const host = process.env.HOST || '127.0.0.1';
const clientURL = process.env.CLIENT_URL || 'https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js';
const quiet = { sockjs_url: clientURL, log: () => {} };

function echo(conn) {
  conn.on('data', (m) => conn.write(m));
}

const services = [
  ['/echo', Object.assign({ response_limit: 4096 }, quiet), echo],
  ['/disabled_websocket_echo', Object.assign({ websocket: false }, quiet), echo],
  ['/cookie_needed_echo', Object.assign({ jsessionid: true }, quiet), echo],
  ['/close', quiet, (conn) => conn.close(3000, 'Go away!')],
];

const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
for (const [prefix, opts, fn] of services) {
  const s = sockjs.createServer(opts);
  s.on('connection', fn);
  s.installHandlers(server, { prefix });
}
server.listen(port, host, () => {
  console.log(`sockjs-node listening on http://${host}:${port}`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
