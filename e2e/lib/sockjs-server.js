// Starting the SockJS server under test, waiting until it answers, and
// stopping it.
//
//   SERVER=go    go build ./cmd/sockjs-echo, then run it with
//                -addr 127.0.0.1:PORT -client-url URL (and, for the
//                HTTPS run, -tls-cert and -tls-key)
//   SERVER=node  tools/sockjs-node/server.js (sockjs-node 0.3.24) with
//                PORT, HOST and CLIENT_URL in its environment
//   SERVER_CMD   any other server: a shell command in which {port}, {addr}
//                and {client_url} are replaced (implies SERVER=custom
//                unless SERVER is set, which then picks the expected-failure
//                list)
//   SERVER_URL   a server that is already running, e.g.
//                http://127.0.0.1:8081; nothing is started or stopped
'use strict';

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const os = require('os');
const path = require('path');

const REPO = path.join(__dirname, '..', '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function get(url, timeoutMs) {
  return new Promise((resolve) => {
    // The HTTPS run's certificate is made for the run: not checked here.
    const req = (url.startsWith('https:') ? https : http).get(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.setTimeout(timeoutMs, () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

// waitReady polls GET base/echo until it answers 200 (the greeting), the
// process exits, or timeoutMs passes.
async function waitReady(base, proc, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) {
      throw new Error(`the SockJS server exited with code ${proc.exitCode} before it was ready`);
    }
    if ((await get(base + '/echo', 1000)) === 200) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the SockJS server did not answer GET ${base}/echo with 200 within ${timeoutMs} ms`);
}

function buildGo(log) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockjs-e2e-go-'));
  const bin = path.join(dir, 'sockjs-echo');
  log(`building ./cmd/sockjs-echo`);
  const r = spawnSync('go', ['build', '-o', bin, './cmd/sockjs-echo'], {
    cwd: REPO,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 300000,
  });
  if (r.status !== 0) {
    throw new Error(`go build ./cmd/sockjs-echo failed (${r.error ? r.error.message : 'exit ' + r.status})`);
  }
  return { bin, dir };
}

// start starts the configured server with the given client URL. Resolves
// to {name, kind, base, stop()}; base has no trailing slash.
async function start(opts, log) {
  if (opts.url) {
    const base = opts.url.replace(/\/+$/, '');
    await waitReady(base, null, 10000);
    return { name: opts.kind, base, port: Number(new URL(base).port || 80), stop: async () => {} };
  }
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  let cmd;
  let args;
  let env = process.env;
  let cleanup = () => {};
  if (opts.cmd) {
    const line = opts.cmd
      .replace(/\{port\}/g, String(port))
      .replace(/\{addr\}/g, addr)
      .replace(/\{client_url\}/g, opts.clientURL);
    cmd = '/bin/sh';
    args = ['-c', line];
  } else if (opts.kind === 'go') {
    const built = buildGo(log);
    cmd = built.bin;
    args = ['-addr', addr, '-client-url', opts.clientURL];
    if (opts.tls) {
      args.push('-tls-cert', opts.tls.certFile, '-tls-key', opts.tls.keyFile);
    }
    cleanup = () => fs.rmSync(built.dir, { recursive: true, force: true });
  } else if (opts.kind === 'node') {
    cmd = process.execPath;
    args = [path.join(REPO, 'tools', 'sockjs-node', 'server.js')];
    env = Object.assign({}, process.env, { PORT: String(port), HOST: '127.0.0.1', CLIENT_URL: opts.clientURL });
  } else {
    throw new Error(`unknown SERVER=${opts.kind} (go, node, or set SERVER_CMD / SERVER_URL)`);
  }
  log(`starting ${opts.kind} server: ${[cmd].concat(args).join(' ')}`);
  // A shell command runs in its own process group, so that stopping it
  // reaches the server the shell started, not only the shell.
  const group = Boolean(opts.cmd);
  const proc = spawn(cmd, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
  const signal = (sig) => {
    try {
      if (group) {
        process.kill(-proc.pid, sig);
      } else {
        proc.kill(sig);
      }
    } catch (err) {
      // already gone
    }
  };
  // Keep the server's output for a failure report; show its first lines.
  const output = [];
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 200) {
      output.shift();
    }
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  proc.on('error', (err) => output.push(`spawn error: ${err.message}\n`));
  // Never leave the server behind, even if the runner dies.
  const reap = () => {
    if (group || (proc.exitCode === null && proc.signalCode === null)) {
      signal('SIGKILL');
    }
    cleanup();
  };
  process.on('exit', reap);
  const base = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  try {
    await waitReady(base, proc, opts.readyTimeoutMs || 60000);
  } catch (err) {
    signal('SIGKILL');
    cleanup();
    err.message += '\n--- server output ---\n' + output.join('');
    throw err;
  }
  log(`server ready at ${base}`);
  return {
    name: opts.kind,
    base,
    port,
    output: () => output.join(''),
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        if (group) {
          signal('SIGKILL');
        }
        cleanup();
        resolve();
        return;
      }
      const t = setTimeout(() => signal('SIGKILL'), 3000);
      proc.on('exit', () => {
        clearTimeout(t);
        if (group) {
          signal('SIGKILL'); // whatever the shell left
        }
        cleanup();
        resolve();
      });
      signal('SIGTERM');
    }),
  };
}

module.exports = { start, freePort };
