#!/usr/bin/env node
// Browser end-to-end suite: sockjs-client 1.6.1 in Debian's Chromium,
// driven by playwright-core, against a SockJS server. See README.md.
//
// Environment:
//   SERVER          go | node (default: node until cmd/sockjs-echo lands)
//   SERVER_CMD      start another server (see lib/sockjs-server.js)
//   SERVER_URL      use a server that is already running (start it with
//                   client URL http://127.0.0.1:E2E_PAGE_PORT/sockjs.min.js
//                   for the iframe transports)
//   E2E_PAGE_PORT   port of the cross-origin page server (default: free)
//   MODES           comma list of cross,same,https (default all three;
//                   https only with SERVER=go)
//   TRANSPORTS      comma list, default all
//   CASES           comma list, default all
//   E2E_BUDGET_MS   the whole run's limit (default 480000); cases not
//                   started by then count as failed
//   CHROMIUM        the browser binary (default /usr/bin/chromium)
//   E2E_VERBOSE=1   print every case as it finishes
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { chromium } = require('playwright-core');
const pageserver = require('./lib/pageserver');
const sockjsServer = require('./lib/sockjs-server');
const { TRANSPORTS, MODES, CASES } = require('./cases');
const EXPECTED = require('./expected-failures');

// Everything this run puts in the temporary directory (Chromium's fresh
// --user-data-dir, the go build output) goes into one directory of its own,
// removed at exit even when Chromium was killed before playwright-core
// could clean up after it (timeout signals the whole process group).
const runTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sockjs-e2e-'));
process.env.TMPDIR = runTmp;
process.on('exit', () => fs.rmSync(runTmp, { recursive: true, force: true }));

const env = process.env;
const list = (v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : null);
const kind = env.SERVER || (env.SERVER_CMD || env.SERVER_URL ? 'custom' : 'node');
// The HTTPS run needs the Go server's -tls-cert and -tls-key.
const modes = list(env.MODES) || Object.keys(MODES).filter((m) => m !== 'https' || kind === 'go');
const onlyTransports = list(env.TRANSPORTS);
const onlyCases = list(env.CASES);
const budgetMs = Number(env.E2E_BUDGET_MS || 480000);
const verbose = env.E2E_VERBOSE === '1';
const chromiumPath = env.CHROMIUM || '/usr/bin/chromium';
// Node-side margin over a case's in-page timeout before the page is
// declared stuck and replaced.
const MARGIN_MS = 5000;

const t0 = Date.now();
const log = (msg) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

for (const m of modes) {
  if (!MODES[m]) {
    console.error(`unknown mode ${m}; modes: ${Object.keys(MODES).join(', ')}`);
    process.exit(2);
  }
}
for (const [what, names, known] of [['transport', onlyTransports, TRANSPORTS.map((t) => t.name)],
  ['case', onlyCases, CASES.map((c) => c.name)]]) {
  for (const n of names || []) {
    if (!known.includes(n)) {
      console.error(`unknown ${what} ${n}; known: ${known.join(', ')}`);
      process.exit(2);
    }
  }
}
if (!EXPECTED[kind]) {
  console.error(`no expected-failure list for SERVER=${kind} in expected-failures.js`);
  process.exit(2);
}

function expectedFor(mode, transport, name) {
  const match = (pat, v) => pat === '*' || pat === v || (Array.isArray(pat) && pat.includes(v));
  return EXPECTED[kind].find((e) => match(e.mode, mode) && match(e.transport, transport) && match(e.case, name));
}

// results[mode][transport][case] = {status, detail, ms}; status is one of
// pass, fail, xfail (listed and failed), xpass (listed and passed), notrun.
const results = {};
const cleanups = [];
let finished = false;
let aborting = false;
let notRunWhy = '';

async function cleanupAll() {
  while (cleanups.length) {
    const f = cleanups.pop();
    try {
      await f();
    } catch (err) {
      console.error(`cleanup: ${err.message}`);
    }
  }
}

function record(mode, transport, name, ok, detail, ms) {
  const exp = expectedFor(mode, transport, name);
  let status;
  if (ok) {
    status = exp && !exp.flaky ? 'xpass' : 'pass';
  } else {
    status = exp ? 'xfail' : 'fail';
  }
  results[mode][transport][name] = { status, detail, ms, reason: exp ? exp.reason : '' };
  if (verbose || status === 'fail' || status === 'xpass') {
    log(`${mode} ${transport} ${name}: ${status}${ms !== undefined ? ` (${ms} ms)` : ''}${detail ? ' - ' + detail : ''}`);
  }
}

async function newPage(browser, url, errors) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push('page error: ' + err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      errors.push('console: ' + msg.text());
    }
  });
  await page.goto(url, { timeout: 15000 });
  const names = await page.evaluate(() => window.e2eCaseNames);
  const missing = CASES.map((c) => c.name).filter((n) => !(names || []).includes(n));
  if (missing.length) {
    throw new Error(`harness.js lacks the cases ${missing.join(', ')}`);
  }
  return { context, page };
}

// runOne runs one case in page, with a node-side deadline in case the page
// itself is stuck. Resolves to {ok, detail, ms, stuck}.
async function runOne(page, opts) {
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, stuck: true, detail: `page unresponsive for ${opts.timeoutMs + MARGIN_MS} ms` }),
      opts.timeoutMs + MARGIN_MS);
  });
  const run = page.evaluate((o) => window.e2eRun(o), opts)
    .catch((err) => ({ ok: false, stuck: true, detail: 'evaluate: ' + err.message.split('\n')[0] }));
  const r = await Promise.race([run, deadline]);
  clearTimeout(timer);
  return r;
}

function pad(s, n) {
  s = String(s);
  return s + ' '.repeat(Math.max(0, n - s.length));
}

const CELL = { pass: 'ok', fail: 'FAIL', xfail: 'xf', xpass: 'XP', notrun: '??' };

function report(serverName) {
  const cases = CASES.filter((c) => !onlyCases || onlyCases.includes(c.name));
  const counts = { pass: 0, fail: 0, xfail: 0, xpass: 0, notrun: 0 };
  const failures = [];
  const xfails = [];
  let notrun = 0;
  for (const mode of modes) {
    const rows = results[mode];
    if (!rows || !Object.keys(rows).length) {
      continue;
    }
    console.log('');
    console.log(`mode ${mode}: ${MODES[mode]} (server: ${serverName})`);
    const w0 = Math.max(...TRANSPORTS.map((t) => t.name.length)) + 2;
    const widths = cases.map((c) => Math.max(c.label.length, 4) + 1);
    console.log((pad('transport', w0) + cases.map((c, i) => pad(c.label, widths[i])).join('')).trimEnd());
    for (const t of TRANSPORTS) {
      if (!rows[t.name]) {
        continue;
      }
      let line = pad(t.name, w0);
      cases.forEach((c, i) => {
        const r = rows[t.name][c.name];
        line += pad(r ? CELL[r.status] : '--', widths[i]);
        if (r) {
          counts[r.status]++;
          const where = `${mode} ${t.name} ${c.name}`;
          if (r.status === 'xfail') {
            xfails.push(`${where}: ${r.reason}`);
          } else if (r.status === 'notrun') {
            notrun++;
          } else if (r.status !== 'pass') {
            failures.push(`${where}: ${r.status === 'xpass' ? 'passed but is listed as an expected failure (' + r.reason + ')' : r.detail}`);
          }
        }
      });
      console.log(line.trimEnd());
    }
  }
  console.log('');
  console.log('ok = passed, FAIL = failed, xf = known failure (expected-failures.js), XP = listed as known failure but passed,');
  console.log('?? = not run (suite budget or a stuck page), -- = not applicable. Cases:');
  for (const c of cases) {
    console.log(`  ${pad(c.label, 7)} ${pad(c.name, 11)} ${c.what}`);
  }
  if (xfails.length) {
    console.log('');
    console.log(`known failures of SERVER=${kind} (${xfails.length}):`);
    xfails.forEach((f) => console.log('  ' + f));
  }
  if (failures.length) {
    console.log('');
    console.log(`failures (${failures.length}):`);
    failures.forEach((f) => console.log('  ' + f));
  }
  if (notrun) {
    console.log('');
    console.log(`${notrun} case(s) not run (${notRunWhy}), counted as failed`);
  }
  console.log('');
  if (counts.xfail) {
    console.log(`e2e: ${counts.xfail} known failure(s) of SERVER=${kind} not counted as failed`);
  }
  const failed = counts.fail + counts.xpass + counts.notrun;
  console.log(`e2e: ${counts.pass} passed, ${failed} failed`);
  return failed;
}

async function main() {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} not found (apt-get install chromium; run.sh does it)`);
  }

  // 1. The page server of the cross-origin mode. It also serves the bundle
  // the SockJS server's iframe page loads (the client URL).
  const pages = await pageserver.start(null, Number(env.E2E_PAGE_PORT || 0));
  cleanups.push(() => pages.close());
  const clientURL = `http://127.0.0.1:${pages.port}/sockjs.min.js`;

  // 2. The SockJS server.
  const server = await sockjsServer.start({
    kind,
    cmd: env.SERVER_CMD,
    url: env.SERVER_URL,
    clientURL,
    readyTimeoutMs: 120000,
  }, log);
  cleanups.push(() => server.stop());

  // 3. The same-origin front: page and SockJS services through one port.
  const front = await pageserver.start(server.port);
  cleanups.push(() => front.close());

  const modeURLs = {
    cross: { page: `http://127.0.0.1:${pages.port}/`, sockjs: `http://localhost:${server.port}` },
    same: { page: `http://127.0.0.1:${front.port}/`, sockjs: `http://127.0.0.1:${front.port}` },
  };

  // The HTTPS run: a certificate made for this run, an HTTPS page server
  // (which also serves the client URL, so that the iframe page, itself on
  // HTTPS, loads no mixed content) and a second Go server with TLS and
  // HTTP/2. Chromium is told to accept the certificate
  // (--ignore-certificate-errors below).
  let tlsServer = null;
  if (modes.includes('https')) {
    if (kind !== 'go') {
      throw new Error('MODES=https needs SERVER=go (the server must serve TLS itself)');
    }
    const certFile = path.join(runTmp, 'cert.pem');
    const keyFile = path.join(runTmp, 'key.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', keyFile, '-out', certFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) {
      throw new Error(`openssl could not make the HTTPS run's certificate (${r.error ? r.error.message : 'exit ' + r.status}): ${r.stderr}`);
    }
    const tlsPages = await pageserver.start(null, 0, { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) });
    cleanups.push(() => tlsPages.close());
    tlsServer = await sockjsServer.start({
      kind,
      clientURL: `https://127.0.0.1:${tlsPages.port}/sockjs.min.js`,
      tls: { certFile, keyFile },
      readyTimeoutMs: 120000,
    }, log);
    cleanups.push(() => tlsServer.stop());
    modeURLs.https = { page: `https://127.0.0.1:${tlsPages.port}/`, sockjs: `https://localhost:${tlsServer.port}` };
  }

  // 4. Chromium. playwright-core gives it a new, empty --user-data-dir in
  // the temporary directory (runTmp) and removes it on close.
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic',
      '--ignore-certificate-errors'],
  });
  cleanups.push(() => browser.close());
  log(`chromium ${browser.version()}, client URL ${clientURL}`);

  for (const mode of modes) {
    results[mode] = {};
    const urls = modeURLs[mode];
    log(`mode ${mode}: page ${urls.page}, SockJS ${urls.sockjs}/echo`);
    for (const t of TRANSPORTS) {
      if (!t.modes.includes(mode) || (onlyTransports && !onlyTransports.includes(t.name))) {
        continue;
      }
      results[mode][t.name] = {};
      const cases = CASES.filter((c) => !onlyCases || onlyCases.includes(c.name));
      const started = Date.now();
      // One browser context (cookies, cache, connection pool) per transport.
      const errors = [];
      let ctx = null;
      for (const c of cases) {
        if (Date.now() - t0 > budgetMs) {
          notRunWhy = `the suite budget E2E_BUDGET_MS=${budgetMs} was used up`;
          results[mode][t.name][c.name] = { status: 'notrun' };
          continue;
        }
        // Each case starts on a freshly loaded page. Chromium allows 6
        // connections per host, and a closed jsonp-polling connection
        // leaves its last poll pending until the server's next heartbeat
        // (removing a <script> does not cancel its request); unloading the
        // page does, so that one case cannot starve the next.
        if (ctx) {
          await ctx.page.goto(urls.page, { timeout: 15000 }).catch(() => {
            ctx.context.close().catch(() => {});
            ctx = null;
          });
        }
        if (!ctx) {
          ctx = await newPage(browser, urls.page, errors);
        }
        errors.length = 0;
        const r = await runOne(ctx.page, { name: c.name, transport: t.name, base: urls.sockjs, timeoutMs: c.timeoutMs });
        let detail = r.detail || '';
        if (!r.ok && errors.length) {
          detail += ' [' + errors.slice(0, 3).join(' | ').slice(0, 400) + ']';
        }
        record(mode, t.name, c.name, r.ok, detail, r.ms);
        if (r.stuck) {
          await ctx.context.close().catch(() => {});
          ctx = null;
        }
      }
      if (ctx) {
        await ctx.context.close().catch(() => {});
      }
      const row = Object.values(results[mode][t.name]);
      const bad = row.filter((r) => r.status !== 'pass' && r.status !== 'xfail').length;
      const xf = row.filter((r) => r.status === 'xfail').length;
      log(`${mode} ${t.name}: ${row.length - bad - xf} ok, ${xf} known failures, ${bad} failed (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    }
  }
  // Did the HTTPS run use HTTP/2? The TLS server counts requests per
  // protocol and says so when it stops.
  let h2Failed = 0;
  if (tlsServer) {
    await tlsServer.stop();
    const m = /requests served: HTTP\/2 (\d+), HTTP\/1\.1 (\d+)/.exec(tlsServer.output());
    if (!m || Number(m[1]) === 0) {
      h2Failed = 1;
      log(`https: no request went over HTTP/2 (${m ? m[0] : 'no count in the server output'})`);
    } else {
      log(`https: ${m[0]} (HTTP/1.1: the websocket connections)`);
    }
  }
  finished = true;
  await cleanupAll();
  const failed = report(server.name);
  if (h2Failed) {
    console.log('e2e: the HTTPS run did not use HTTP/2: counted as 1 more failure');
  }
  return failed + h2Failed;
}

async function abort(why) {
  if (finished) {
    return;
  }
  finished = true;
  aborting = true;
  log(`aborting: ${why}`);
  await cleanupAll();
  // Cases that never ran count as failed.
  notRunWhy = why;
  for (const mode of modes) {
    results[mode] = results[mode] || {};
    for (const t of TRANSPORTS) {
      if (!t.modes.includes(mode) || (onlyTransports && !onlyTransports.includes(t.name))) {
        continue;
      }
      results[mode][t.name] = results[mode][t.name] || {};
      for (const c of CASES) {
        if ((!onlyCases || onlyCases.includes(c.name)) && !results[mode][t.name][c.name]) {
          results[mode][t.name][c.name] = { status: 'notrun' };
        }
      }
    }
  }
  report(kind);
  process.exit(1);
}

process.on('SIGTERM', () => abort('SIGTERM, e.g. the E2E_TIMEOUT limit of run.sh'));
process.on('SIGINT', () => abort('SIGINT'));
process.on('uncaughtException', (err) => abort(`uncaught exception: ${err.stack || err}`));

main().then((failed) => {
  process.exit(failed ? 1 : 0);
}, async (err) => {
  if (aborting) {
    return; // abort() reports and exits
  }
  console.error(`e2e: ${err.stack || err}`);
  finished = true;
  await cleanupAll();
  console.log('e2e: 0 passed, 1 failed');
  process.exit(1);
});
