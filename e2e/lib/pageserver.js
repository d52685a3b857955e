// The page server: serves the test page, the harness and the sockjs-client
// bundle, and, when given a SockJS server port, forwards the four SockJS
// services to it (plain HTTP and websocket upgrades), so that the page and
// the SockJS URLs share one origin. Node's standard library only.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const path = require('path');

const E2E = path.join(__dirname, '..');
const FILES = {
  '/': ['page/index.html', 'text/html; charset=utf-8'],
  '/index.html': ['page/index.html', 'text/html; charset=utf-8'],
  '/harness.js': ['page/harness.js', 'application/javascript; charset=utf-8'],
  '/sockjs.min.js': ['node_modules/sockjs-client/dist/sockjs.min.js', 'application/javascript; charset=utf-8'],
};

// The SockJS services of the echo servers (PROTOCOL.md section 8).
const PROXIED = /^\/(echo|close|disabled_websocket_echo|cookie_needed_echo)(\/|\?|$)/;

// Hop-by-hop headers: never forwarded by a proxy (RFC 9110 section 7.6.1).
const HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'];

function stripHop(headers) {
  const out = Object.assign({}, headers);
  const listed = String(headers.connection || '').toLowerCase().split(',').map((s) => s.trim());
  for (const h of HOP.concat(listed)) {
    delete out[h];
  }
  return out;
}

function serveFile(req, res) {
  const url = req.url.split('?')[0];
  const f = FILES[url];
  if (!f || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(url === '/favicon.ico' ? 204 : 404, { 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  const body = fs.readFileSync(path.join(E2E, f[0]));
  res.writeHead(200, {
    'Content-Type': f[1],
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

// proxy forwards one request to the SockJS server and streams the answer
// back chunk by chunk as it arrives (streaming transports depend on it).
// When the browser goes away first, the upstream request is torn down too,
// so the SockJS server sees the receiver disappear as it would directly.
function proxy(req, res, port, agent) {
  const upstream = http.request({
    host: '127.0.0.1',
    port,
    method: req.method,
    path: req.url,
    headers: stripHop(req.headers),
    agent,
  }, (ures) => {
    res.writeHead(ures.statusCode, stripHop(ures.headers));
    res.flushHeaders();
    ures.on('data', (chunk) => res.write(chunk));
    ures.on('end', () => res.end());
    ures.on('aborted', () => res.destroy());
    ures.on('error', () => res.destroy());
  });
  upstream.on('error', (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end('e2e proxy: ' + err.message + '\n');
    } else {
      res.destroy();
    }
  });
  res.on('close', () => {
    if (!res.writableFinished) {
      upstream.destroy();
    }
  });
  req.pipe(upstream);
}

// tunnel forwards a websocket upgrade: it replays the request head to the
// SockJS server and then copies bytes both ways until either side closes.
function tunnel(req, socket, head, port, sockets) {
  const up = net.connect(port, '127.0.0.1');
  sockets.add(up);
  up.setNoDelay(true);
  socket.setNoDelay(true);
  const done = () => {
    socket.destroy();
    up.destroy();
    sockets.delete(up);
  };
  up.on('error', done);
  socket.on('error', done);
  up.on('close', done);
  socket.on('close', done);
  up.on('connect', () => {
    let raw = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    }
    up.write(raw + '\r\n');
    if (head && head.length) {
      up.write(head);
    }
    socket.pipe(up);
    up.pipe(socket);
  });
}

// start listens on 127.0.0.1 on port (0 or absent: a free one). With
// sockjsPort it also forwards the SockJS services there. With tls ({cert,
// key}, PEM) it serves HTTPS. Resolves to {port, close()}.
function start(sockjsPort, port, tls) {
  const sockets = new Set();
  const agent = new http.Agent({ keepAlive: true });
  const create = tls ? (h) => https.createServer(tls, h) : (h) => http.createServer(h);
  const server = create((req, res) => {
    if (sockjsPort && PROXIED.test(req.url)) {
      proxy(req, res, sockjsPort, agent);
    } else {
      serveFile(req, res);
    }
  });
  server.on(tls ? 'secureConnection' : 'connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => {
    if (sockjsPort && PROXIED.test(req.url)) {
      tunnel(req, socket, head, sockjsPort, sockets);
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    }
  });
  // Long polls and streams must not be cut by the proxy's own timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 60000;
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port || 0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        close() {
          agent.destroy();
          for (const s of sockets) {
            s.destroy();
          }
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}

module.exports = { start };
