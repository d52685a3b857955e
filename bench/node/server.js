// sockjs-node 0.3.24 with its default options (response_limit 128 KiB, raw
// websocket on) serving an echo at /echo, for the comparison driver. The
// test server in tools/sockjs-node uses response_limit 4096 for the
// protocol suite, which would handicap the streaming transports here.
//
//	NODE_PATH=tools/sockjs-node/node_modules PORT=9003 node bench/node/server.js
'use strict';
const http = require('http');
const sockjs = require('sockjs');

const port = Number(process.env.PORT || 9003);
const host = '127.0.0.1';

const echo = sockjs.createServer({ log: () => {} });
echo.on('connection', (conn) => {
  conn.on('data', (m) => conn.write(m));
});
const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
echo.installHandlers(server, { prefix: '/echo' });
server.listen(port, host, () => {
  console.log(`listening node ${host}:${port} pid ${process.pid}`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
