// In-page half of the e2e suite. run.js loads index.html (which loads
// sockjs-client 1.6.1 and this file) and calls window.e2eRun once per case.
// Every case opens its own SockJS connection(s) with exactly one transport
// allowed, checks that this transport is the one in use, and closes every
// connection it opened before it returns.
(function () {
  'use strict';

  // Every Conn not yet closed by its case, so that a failed or timed-out
  // case does not leave a session (or an iframe) behind for the next one.
  var live = [];
  // What the current case is waiting for; a timeout reports it.
  var waiting = '';

  function Failure(msg) {
    this.message = msg;
  }

  function fail(msg) {
    return new Failure(msg);
  }

  // show renders a string for a failure message: JSON with every
  // non-ASCII code unit as \uXXXX, cut to max characters.
  function show(s, max) {
    if (typeof s !== 'string') {
      return String(s);
    }
    max = max || 60;
    var out = '"';
    for (var i = 0; i < s.length && out.length < max; i++) {
      var c = s.charCodeAt(i);
      if (c === 0x22 || c === 0x5c) {
        out += '\\' + s[i];
      } else if (c < 0x20 || c > 0x7e) {
        out += '\\u' + ('000' + c.toString(16)).slice(-4);
      } else {
        out += s[i];
      }
    }
    return out + (i < s.length ? '..."' : '"') + (s.length > 40 ? ' (' + s.length + ' units)' : '');
  }

  function firstDiff(a, b) {
    var n = Math.min(a.length, b.length);
    for (var i = 0; i < n; i++) {
      if (a.charCodeAt(i) !== b.charCodeAt(i)) {
        return i;
      }
    }
    return n;
  }

  // describe explains how got differs from want.
  function describe(want, got) {
    if (typeof got !== 'string') {
      return 'got a ' + typeof got + ' instead of ' + show(want);
    }
    if (want.length <= 40 && got.length <= 40) {
      return 'got ' + show(got) + ', want ' + show(want);
    }
    var i = firstDiff(want, got);
    return 'got ' + got.length + ' code units, want ' + want.length +
      '; first difference at ' + i + ': got ' + show(got.slice(i, i + 8)) +
      ', want ' + show(want.slice(i, i + 8));
  }

  function sleep(ms) {
    return new Promise(function (r) { setTimeout(r, ms); });
  }

  // Conn wraps one SockJS instance and records everything it reports.
  function Conn(base, service, transport, onOpenSend) {
    var self = this;
    this.transport = transport;
    this.service = service;
    this.opened = false;
    this.openTransport = null;
    this.messages = [];
    this.closed = null;
    this.errors = 0;
    this.listeners = [];
    this.sock = new SockJS(base + '/' + service, null, { transports: [transport] });
    live.push(this);
    this.sock.onopen = function () {
      self.opened = true;
      self.openTransport = self.sock.transport;
      // "Right after open": synchronously inside the open handler.
      (onOpenSend || []).forEach(function (m) { self.sock.send(m); });
      self.poke();
    };
    this.sock.onmessage = function (e) {
      self.messages.push(e.data);
      self.poke();
    };
    this.sock.onclose = function (e) {
      self.closed = { code: e.code, reason: e.reason, wasClean: e.wasClean };
      self.poke();
    };
    this.sock.onerror = function () {
      self.errors++;
    };
  }

  Conn.prototype.poke = function () {
    this.listeners.slice().forEach(function (f) { f(); });
  };

  Conn.prototype.state = function () {
    var s = this.service + ': opened=' + this.opened + ', messages=' + this.messages.length;
    if (this.closed) {
      s += ', closed ' + this.closed.code + ' ' + JSON.stringify(this.closed.reason);
    }
    return s;
  };

  // until resolves once pred(conn) holds. If the connection closes first,
  // and pred does not accept a closed connection, it fails at once.
  Conn.prototype.until = function (pred, what) {
    var self = this;
    return new Promise(function (resolve, reject) {
      function check() {
        if (pred(self)) {
          stop();
          resolve();
        } else if (self.closed) {
          stop();
          reject(fail('closed (' + self.closed.code + ' ' + JSON.stringify(self.closed.reason) +
            ') while waiting for ' + what + '; ' + self.state()));
        }
      }
      function stop() {
        var i = self.listeners.indexOf(check);
        if (i >= 0) {
          self.listeners.splice(i, 1);
        }
      }
      waiting = what + ' (' + self.state() + ')';
      self.listeners.push(check);
      check();
    });
  };

  Conn.prototype.close = function (code, reason) {
    if (this.sock.readyState === SockJS.CONNECTING || this.sock.readyState === SockJS.OPEN) {
      this.sock.close(code, reason);
    }
  };

  // open connects to service with the forced transport and checks that it
  // is the transport sockjs-client reports after the open event.
  async function open(t, service, onOpenSend) {
    var c = new Conn(t.base, service, t.transport, onOpenSend);
    await c.until(function (c) { return c.opened; }, 'the open event');
    if (c.openTransport !== t.transport) {
      throw fail('opened with transport ' + c.openTransport + ', forced ' + t.transport);
    }
    if (c.sock.readyState !== SockJS.OPEN) {
      throw fail('readyState ' + c.sock.readyState + ' after open');
    }
    return c;
  }

  async function closeAndWait(c, code, reason) {
    c.close(code, reason);
    await c.until(function (c) { return c.closed; }, 'the close event');
  }

  // expectEchoes waits for want.length more messages than c had at start
  // and compares them one by one, in order.
  async function expectEchoes(c, start, want) {
    await c.until(function (c) { return c.messages.length >= start + want.length; },
      want.length + ' echo(es)');
    var got = c.messages.slice(start);
    for (var i = 0; i < want.length; i++) {
      if (got[i] !== want[i]) {
        throw fail('message ' + i + ' of ' + want.length + ': ' + describe(want[i], got[i]));
      }
    }
    if (got.length > want.length) {
      throw fail(got.length - want.length + ' unexpected extra message(s), first ' +
        show(got[want.length]));
    }
  }

  async function echo(c, msgs) {
    var start = c.messages.length;
    msgs.forEach(function (m) { c.sock.send(m); });
    await expectEchoes(c, start, msgs);
  }

  // echoCase: open /echo, send msgs back to back, expect them back in order.
  function echoCase(msgs) {
    return async function (t) {
      var c = await open(t, 'echo');
      await echo(c, typeof msgs === 'function' ? msgs() : msgs);
      await closeAndWait(c);
    };
  }

  // big builds a message of exactly bytes UTF-8 bytes out of 64-byte blocks:
  // the block number in hex, ASCII filler, a quote and a backslash (escaped
  // by JSON), a Hangul syllable (3 bytes) and an emoji (4 bytes, a
  // surrogate pair in JavaScript), so that a lost, repeated or reordered
  // block or a character cut at a chunk boundary shows up.
  function big(bytes) {
    var filler = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU'; // 47
    var parts = [];
    for (var i = 0; i < bytes / 64; i++) {
      parts.push(('0000000' + i.toString(16)).slice(-8) + filler + '"\\' + '\ud55c' + '\ud83d\ude00');
    }
    return parts.join('');
  }

  var controls = '';
  for (var cc = 0; cc < 0x20; cc++) {
    controls += String.fromCharCode(cc);
  }
  controls += '\u007f';
  for (cc = 0x80; cc < 0xa0; cc++) {
    controls += String.fromCharCode(cc);
  }

  // The code points PROTOCOL.md section 5 says a server must send as
  // \uXXXX escapes (zero-width and bidi controls, word joiners, the
  // specials block) plus the BOM: they must arrive unchanged.
  var formats = '';
  [[0x200c, 0x200f], [0x2028, 0x202f], [0x2060, 0x206f], [0xfeff, 0xfeff], [0xfff0, 0xffff]]
    .forEach(function (r) {
      for (var c = r[0]; c <= r[1]; c++) {
        formats += String.fromCharCode(c);
      }
    });

  var cases = {
    open: async function (t) {
      var c = await open(t, 'echo');
      await closeAndWait(c);
    },

    ascii: echoCase([
      'hello world',
      'a',
      ' !"#$&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~',
      '["not", "a", "frame"]',
      'a["x"]',
      'c[3000,"Go away!"]',
    ]),

    empty: echoCase(['', ' ', '', 'x', '']),

    korean: echoCase([
      '안녕하세요',
      '다람쥐 헌 쳇바퀴에 타고파. 한국어 문장과 숫자 123, 기호 ※ 를 함께 보냅니다.',
      'ㄱㄴㄷ ㅏㅑㅓ 한글 漢字 かな',
    ]),

    emoji: echoCase([
      '\ud83d\ude00',
      '\ud83d\udc4d\ud83c\udffd \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66 \ud83c\uddf0\ud83c\uddf7',
      '\ud841\udf0e \ud83d\udca9 \u2764\ufe0f',
    ]),

    u2028: echoCase(['\u2028', '\u2029', 'a\u2028b\u2029c', '\u2028\u2029\u2028']),

    control: echoCase([controls, '\u0000', 'a\u0000b', '\r\n', '\r', '\n\n', 'tab\there']),

    format: echoCase([formats, '\ufffe', '\uffff', '\ufeffbom']),

    surrogates: echoCase(['\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', 'x\udbff', '\ud83d']),

    // htmlfile frames are inline scripts (PROTOCOL.md section 9): a
    // message must not be able to end the script element ...
    script: echoCase([
      '</script><script>parent.e2ePwned=1;top.e2ePwned=1</script>',
      '</SCRIPT >',
      'after </script>',
    ]),

    // ... nor switch the HTML parser into a state where the frame's own
    // </script> no longer ends it (<!-- followed by <script>).
    comment: echoCase([
      '<!--',
      '<!-- <script>',
      '<script>/*',
      '-->',
      ']]><![CDATA[',
      '& &amp; &lt;',
      'after <!--',
    ]),

    percent: echoCase(['%41', '%', '%zz', '100%', '%25', '%%0A', '%u0041', 'a%0D%0Ab', '%E2%82%AC']),

    big64k: echoCase(function () { return [big(64 * 1024)]; }),

    big1m: echoCase(function () { return [big(1024 * 1024)]; }),

    order1000: async function (t) {
      var c = await open(t, 'echo');
      var msgs = [];
      for (var i = 0; i < 1000; i++) {
        msgs.push('message ' + i);
      }
      await echo(c, msgs);
      await closeAndWait(c);
    },

    onopen: async function (t) {
      var c = await open(t, 'echo', ['sent in onopen', 'and another']);
      await expectEchoes(c, 0, ['sent in onopen', 'and another']);
      await closeAndWait(c);
    },

    srvclose: async function (t) {
      var c = new Conn(t.base, 'close', t.transport);
      await c.until(function (c) { return c.closed; }, 'the close event from /close');
      if (!c.opened) {
        throw fail('closed without opening: ' + c.state());
      }
      if (c.openTransport !== t.transport) {
        throw fail('opened with transport ' + c.openTransport + ', forced ' + t.transport);
      }
      if (c.closed.code !== 3000 || c.closed.reason !== 'Go away!') {
        throw fail('close ' + c.closed.code + ' ' + JSON.stringify(c.closed.reason) +
          ', want 3000 "Go away!"');
      }
      if (c.messages.length) {
        throw fail('unexpected message ' + show(c.messages[0]));
      }
    },

    cliclose: async function (t) {
      var c = await open(t, 'echo');
      await echo(c, ['before close']);
      var t0 = Date.now();
      await closeAndWait(c, 4000, 'bye');
      var ms = Date.now() - t0;
      if (c.closed.code !== 4000 || c.closed.reason !== 'bye') {
        throw fail('close ' + c.closed.code + ' ' + JSON.stringify(c.closed.reason) +
          ', want 4000 "bye"');
      }
      if (c.sock.readyState !== SockJS.CLOSED) {
        throw fail('readyState ' + c.sock.readyState + ' after close');
      }
      if (ms > 2000) {
        throw fail('close event after ' + ms + ' ms');
      }
      c.sock.send('after close'); // must be ignored, not throw
      await sleep(200);
      if (c.messages.length !== 1) {
        throw fail('message after close: ' + show(c.messages[1]));
      }
    },

    reconnect: async function (t) {
      for (var i = 0; i < 3; i++) {
        var c = await open(t, 'echo');
        await echo(c, ['round ' + i]);
        await closeAndWait(c);
      }
      // and after a close by the server
      var s = new Conn(t.base, 'close', t.transport);
      await s.until(function (s) { return s.closed; }, 'the close event from /close');
      c = await open(t, 'echo');
      await echo(c, ['after a server close']);
      await closeAndWait(c);
    },

    cookie: async function (t) {
      var c = await open(t, 'cookie_needed_echo');
      await echo(c, ['cookie_needed_echo', '\ud55c']);
      await closeAndWait(c);
    },

    nows: async function (t) {
      if (t.transport === 'websocket') {
        // /info says websocket:false, so the only allowed transport is
        // disabled and sockjs-client gives up without opening.
        var c = new Conn(t.base, 'disabled_websocket_echo', t.transport);
        await c.until(function (c) { return c.closed; }, 'the close event');
        if (c.opened || c.closed.code !== 2000) {
          throw fail('want close 2000 without open; ' + c.state());
        }
        return;
      }
      c = await open(t, 'disabled_websocket_echo');
      await echo(c, ['no websocket here']);
      await closeAndWait(c);
    },
  };

  // e2eRun runs one case and resolves to {ok, detail, ms}; it never rejects.
  window.e2eRun = async function (opts) {
    var t0 = Date.now();
    var fn = cases[opts.name];
    var timer;
    waiting = 'start';
    live = [];
    var result;
    try {
      if (!fn) {
        throw fail('no such case ' + opts.name);
      }
      var timeout = new Promise(function (resolve, reject) {
        timer = setTimeout(function () {
          reject(fail('timed out after ' + opts.timeoutMs + ' ms waiting for ' + waiting));
        }, opts.timeoutMs);
      });
      await Promise.race([fn({ base: opts.base, transport: opts.transport }), timeout]);
      result = { ok: true, detail: '' };
    } catch (e) {
      result = { ok: false, detail: e instanceof Failure ? e.message : 'exception: ' + (e && e.stack || e) };
    }
    clearTimeout(timer);
    live.forEach(function (c) {
      try { c.close(); } catch (ignored) { /* already closing */ }
    });
    live = [];
    if (window.e2ePwned) {
      result = { ok: false, detail: 'a message ran as script in the page. ' + result.detail };
      window.e2ePwned = undefined;
    }
    result.ms = Date.now() - t0;
    return result;
  };

  window.e2eCaseNames = Object.keys(cases);
}());
