// Conformance suite: the real @stomp/stompjs client (on the `ws` package)
// against a live tickroomd.
//
//	node conformance.mjs ws://127.0.0.1:PORT/ws
//
// Runs the checks one after another and prints one line per check,
// "ok  <name>  <figures>" or "FAIL <name>: <why>"; exits 0 only if every
// check passed. Set STOMPJS_DEBUG=1 to see stompjs's own frame log on
// stderr. Driven by TestStompJSConformance in ../../stompjs_test.go.
//
// The heart-beat checks only idle for real when the server offers a short
// interval (tickroomd -stomp-heart-beat 200ms); against the default 10 s
// offer they say so and pass without waiting.

import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';

const URL = process.argv[2];
if (!URL || !/^wss?:\/\//.test(URL)) {
  console.error('usage: node conformance.mjs ws://HOST:PORT/ws');
  process.exit(2);
}
const PROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];
const DEBUG = !!process.env.STOMPJS_DEBUG;

// The suite must stop by itself whatever the server does (a hung socket, a
// receipt that never comes): one limit per check, one for the whole run.
const CHECK_TIMEOUT_MS = 15_000;
const SUITE_TIMEOUT_MS = 60_000;
// Idle heart-beat checks only wait when the agreed interval is at most this.
const SHORT_HEART_BEAT_MS = 2_000;

let current = 'suite'; // the check running, for the suite timeout's line
setTimeout(() => {
  console.log(`FAIL ${current}: the suite is still running after ${SUITE_TIMEOUT_MS} ms; giving up`);
  process.exit(1);
}, SUITE_TIMEOUT_MS);

// A run tag keeps topic names apart when the suite is pointed at a server
// that other runs share.
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const topic = name => `/topic/conformance.${name}.${RUN}`;

let receiptSeq = 0;
const newReceipt = () => `r-${++receiptSeq}`;

const sleep = ms => new Promise(r => setTimeout(r, ms));

// within settles like the first of promises to settle, or rejects naming
// what was awaited once ms pass.
function within(ms, what, ...promises) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([...promises, timeout]).finally(() => clearTimeout(timer));
}

// describe renders a received frame for a failure message.
function describe(frame) {
  if (!frame) return '(none)';
  const hs = Object.entries(frame.headers).map(([k, v]) => `${k}:${JSON.stringify(v)}`).join(' ');
  let body = '';
  try { body = frame.body; } catch { /* binary */ }
  return `${frame.command} ${hs}${body ? ` body=${JSON.stringify(body.slice(0, 300))}` : ''}`;
}

function assert(cond, why) {
  if (!cond) throw new Error(why);
}

// Conn is one stompjs Client connection. Besides the client it exposes the
// ERROR frames and the close event, so that a check can fail fast (broken)
// instead of waiting for a timeout when the server gives up on it, or wait
// for them when the error is what it expects.
class Conn {
  static open(label, options = {}) {
    const c = new Conn();
    c.label = label;
    c.errors = [];
    c.unhandled = []; // MESSAGEs for no live subscription (e.g. after UNSUBSCRIBE)
    c.heartBeatsIn = 0;
    let onError, onClose, onBroken;
    c.firstError = new Promise(r => (onError = r));
    c.closed = new Promise(r => (onClose = r));
    c.broken = new Promise((_, reject) => (onBroken = reject));
    c.broken.catch(() => {}); // only awaited while a check expects the connection to live
    return new Promise((resolve, reject) => {
      c.client = new Client({
        webSocketFactory: () => new WebSocket(URL, PROTOCOLS),
        reconnectDelay: 0, // a dropped connection is a finding, not something to paper over
        connectionTimeout: 5_000,
        debug: DEBUG ? s => console.error(`[${label}] ${s}`) : () => {},
        ...options,
        onConnect: frame => {
          c.connectedFrame = frame;
          resolve(c);
        },
        onStompError: frame => {
          c.errors.push(frame);
          onError(frame);
          onBroken(new Error(`[${label}] server sent ${describe(frame)}`));
          if (!c.connectedFrame) reject(new Error(`[${label}] ERROR instead of CONNECTED: ${describe(frame)}`));
        },
        // ws reports why it failed a connection (e.g. a text message that
        // is not UTF-8) here, and then closes with a bare 1006.
        onWebSocketError: evt => (c.wsError = evt?.message ?? String(evt)),
        onWebSocketClose: evt => {
          c.closeEvent = evt;
          onClose(evt);
          const why = c.wsError ? `; ws: ${c.wsError}` : '';
          onBroken(new Error(`[${label}] WebSocket closed (${evt.code} ${evt.reason || 'no reason'}${why})`));
          if (!c.connectedFrame) reject(new Error(`[${label}] WebSocket closed before CONNECTED (${evt.code} ${evt.reason || 'no reason'}${why})`));
        },
        onUnhandledMessage: m => c.unhandled.push(m),
        onUnhandledReceipt: f => c.unhandled.push(f),
        onHeartbeatReceived: () => c.heartBeatsIn++,
      });
      c.client.activate();
    });
  }

  // alive waits for p while the connection stays up and error-free.
  alive(p, what, ms = 5_000) {
    return within(ms, what, p, this.broken);
  }

  // receipt returns a promise of the RECEIPT for id; call it before sending
  // the frame that carries the receipt header.
  receipt(id) {
    return new Promise(resolve => this.client.watchForReceipt(id, resolve));
  }

  // subscribe subscribes with a receipt and waits for it, so that what is
  // published afterwards is certain to reach the subscription.
  async subscribe(dest, headers = {}) {
    const inbox = new Inbox(this);
    const id = newReceipt();
    const got = this.receipt(id);
    const sub = this.client.subscribe(dest, m => inbox.push(m), { ...headers, receipt: id });
    await this.alive(got, `RECEIPT ${id} of SUBSCRIBE ${dest}`);
    return { sub, inbox };
  }

  // publishSync publishes with a receipt and waits for it.
  async publishSync(params) {
    const id = newReceipt();
    const got = this.receipt(id);
    this.client.publish({ ...params, headers: { ...(params.headers || {}), receipt: id } });
    await this.alive(got, `RECEIPT ${id} of SEND ${params.destination}`);
  }

  // expectError waits for the ERROR frame a check provoked; a close without
  // one fails at once.
  expectError(what, ms = 5_000) {
    const closedFirst = this.closed.then(e => {
      throw new Error(`WebSocket closed (${e.code} ${e.reason || 'no reason'}) without ${what}`);
    });
    closedFirst.catch(() => {}); // it loses the race whenever the ERROR comes first
    return within(ms, what, this.firstError, closedFirst);
  }

  async close() {
    // deactivate sends DISCONNECT when it still can; bound it anyway.
    await within(3_000, `[${this.label}] deactivate`, this.client.deactivate()).catch(() =>
      this.client.deactivate({ force: true }));
  }
}

// Inbox queues the MESSAGEs of one subscription for a check to take in turn.
class Inbox {
  constructor(conn) {
    this.conn = conn;
    this.items = [];
    this.waiter = null;
    this.total = 0;
  }
  push(m) {
    this.total++;
    this.items.push(m);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }
  async next(what = 'a MESSAGE', ms = 5_000) {
    if (this.items.length === 0) {
      const arrived = new Promise(r => (this.waiter = r));
      await this.conn.alive(arrived, what, ms);
    }
    return this.items.shift();
  }
}

// RawConn is a plain `ws` socket speaking STOMP by hand, for what stompjs
// will not send (malformed frames) or does on its own (heart-beats).
class RawConn {
  static open() {
    const c = new RawConn();
    c.frames = [];
    c.waiter = null;
    c.buf = Buffer.alloc(0);
    c.ws = new WebSocket(URL, ['v12.stomp']);
    c.closed = new Promise(r => c.ws.on('close', (code, reason) => {
      c.closeCode = code;
      r({ code, reason: reason.toString() });
      c.wake();
    }));
    c.ws.on('message', data => {
      c.buf = Buffer.concat([c.buf, Buffer.isBuffer(data) ? data : Buffer.from(data)]);
      for (let i; (i = c.buf.indexOf(0)) >= 0;) {
        c.frames.push(parseRaw(c.buf.subarray(0, i).toString('utf8')));
        c.buf = c.buf.subarray(i + 1);
      }
      c.wake();
    });
    return within(5_000, 'the raw WebSocket to open', new Promise((resolve, reject) => {
      c.ws.on('open', () => resolve(c));
      c.ws.on('error', reject);
    }));
  }
  wake() {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }
  send(s) {
    this.ws.send(s);
  }
  async nextFrame(what, ms = 5_000) {
    const deadline = Date.now() + ms;
    while (this.frames.length === 0) {
      if (this.closeCode !== undefined) throw new Error(`WebSocket closed (${this.closeCode}) while waiting for ${what}`);
      await within(Math.max(deadline - Date.now(), 1), what, new Promise(r => (this.waiter = r)));
    }
    return this.frames.shift();
  }
  async close() {
    this.ws.terminate();
  }
}

// parseRaw parses one frame, the NUL already cut off. Leading EOLs are
// heart-beats. Header values are unescaped as STOMP 1.2 says.
function parseRaw(text) {
  text = text.replace(/^(\r?\n)+/, '');
  const blank = /\r?\n\r?\n/.exec(text);
  const head = blank ? text.slice(0, blank.index) : text;
  const body = blank ? text.slice(blank.index + blank[0].length) : '';
  const [command, ...lines] = head.split(/\r?\n/);
  const headers = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    const k = line.slice(0, i);
    if (!(k in headers)) { // the first of repeated headers counts
      headers[k] = line.slice(i + 1).replace(/\\(.)/g, (_, ch) => ({ n: '\n', r: '\r', c: ':', '\\': '\\' })[ch] ?? ch);
    }
  }
  return { command, headers, body };
}

// agreed is an interval as STOMP heart-beating agrees it: 0 if either side
// does not want it, else the larger of the two.
const agreed = (ours, theirs) => (ours === 0 || theirs === 0 ? 0 : Math.max(ours, theirs));

function parseHeartBeat(v) {
  const m = /^(\d+),(\d+)$/.exec(v ?? '');
  return m ? [Number(m[1]), Number(m[2])] : null;
}

// ---- the checks -----------------------------------------------------------

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

// Shared between checks: the room the arena check joined.
let arenaRoom = null;

check('connect-heart-beat', async use => {
  const HB = 200;
  const c = use(await Conn.open('hb', { heartbeatIncoming: HB, heartbeatOutgoing: HB }));
  const h = c.connectedFrame.headers;
  assert(h.version === '1.2', `CONNECTED version ${JSON.stringify(h.version)}, want "1.2" (CONNECTED: ${describe(c.connectedFrame)})`);
  const hb = parseHeartBeat(h['heart-beat']);
  assert(hb, `CONNECTED heart-beat ${JSON.stringify(h['heart-beat'])}, want "<ms>,<ms>"`);
  assert(h.server === 'tickroom/1', `CONNECTED server ${JSON.stringify(h.server)}, want "tickroom/1"`);
  assert(h.session, 'CONNECTED has no session header');
  const proto = c.client.webSocket?.protocol;
  assert(proto === 'v12.stomp', `WebSocket subprotocol ${JSON.stringify(proto)}, want "v12.stomp"`);
  const [sx, sy] = hb;
  const down = agreed(HB, sx); // server to client
  const up = agreed(HB, sy); // client to server
  const figures = `version=1.2 heart-beat=${h['heart-beat']} agreed=${up}ms up/${down}ms down`;
  if (Math.max(up, down) === 0 || Math.max(up, down) > SHORT_HEART_BEAT_MS) {
    return `${figures}; idle check skipped (start tickroomd with -stomp-heart-beat 200ms)`;
  }
  // Idle for several intervals: stompjs drops the socket if the server's
  // beats stop (2 intervals of silence), and the server drops us if ours do.
  const idle = Math.max(5 * Math.max(up, down), 1_000);
  const before = c.heartBeatsIn;
  await c.alive(sleep(idle), 'the idle period', idle + 1_000);
  const beats = c.heartBeatsIn - before;
  if (down > 0) {
    // The server beats when it wrote nothing for half an interval, so at
    // least one per interval; allow one for timer slack.
    assert(beats >= Math.floor(idle / down) - 1, `${beats} heart-beats from the server in ${idle} ms, want about one per ${down} ms or more`);
  }
  await c.publishSync({ destination: topic('hb'), body: 'still here' });
  return `${figures} idle=${idle}ms beats-in=${beats}`;
});

check('heart-beat-timeout', async use => {
  // A raw client promises beats every 200 ms and then stays silent: the
  // server must give up after twice the agreed interval with an ERROR.
  const r = use(await RawConn.open());
  r.send('CONNECT\naccept-version:1.2\nhost:tickroom\nheart-beat:200,0\n\n\0');
  const connected = await r.nextFrame('CONNECTED');
  assert(connected.command === 'CONNECTED', `got ${connected.command} ${JSON.stringify(connected.headers)}, want CONNECTED`);
  const hb = parseHeartBeat(connected.headers['heart-beat']);
  assert(hb, `CONNECTED heart-beat ${JSON.stringify(connected.headers['heart-beat'])}, want "<ms>,<ms>"`);
  const up = agreed(200, hb[1]);
  if (up === 0 || up > SHORT_HEART_BEAT_MS) {
    return `agreed client interval ${up} ms; skipped (start tickroomd with -stomp-heart-beat 200ms)`;
  }
  const start = Date.now();
  const f = await r.nextFrame('ERROR "heart-beat timeout"', 3 * up + 2_000);
  const after = Date.now() - start;
  assert(f.command === 'ERROR' && f.headers.message === 'heart-beat timeout',
    `got ${f.command} ${JSON.stringify(f.headers)} ${JSON.stringify(f.body)}, want ERROR message:heart-beat timeout`);
  assert(after >= 2 * up * 0.9, `dropped after ${after} ms of silence, before twice the agreed ${up} ms`);
  const closed = await within(3_000, 'the close after ERROR', r.closed);
  return `agreed=${up}ms dropped-after=${after}ms close=${closed.code}`;
});

check('topic-pubsub', async use => {
  const sub = use(await Conn.open('sub'));
  const pub = use(await Conn.open('pub'));
  const dest = topic('pubsub');
  const { inbox } = await sub.subscribe(dest, { id: 'sub-pubsub' });
  const body = 'hello, tickroom — ünïcødé';
  pub.client.publish({ destination: dest, body, headers: { 'content-type': 'text/plain;charset=utf-8', 'x-trace': 'abc-123' } });
  const m = await inbox.next('the MESSAGE published by another connection');
  const h = m.headers;
  assert(m.body === body, `body ${JSON.stringify(m.body)}, want ${JSON.stringify(body)}`);
  assert(h.destination === dest, `destination ${JSON.stringify(h.destination)}, want ${dest}`);
  assert(h.subscription === 'sub-pubsub', `subscription ${JSON.stringify(h.subscription)}, want "sub-pubsub"`);
  assert(h['message-id'], `no message-id: ${describe(m)}`);
  assert(h['content-type'] === 'text/plain;charset=utf-8', `content-type ${JSON.stringify(h['content-type'])}`);
  assert(h['content-length'] === String(Buffer.byteLength(body)), `content-length ${JSON.stringify(h['content-length'])}, want ${Buffer.byteLength(body)}`);
  assert(h['x-trace'] === 'abc-123', `user header x-trace ${JSON.stringify(h['x-trace'])}, want "abc-123"`);
  // The publisher subscribes too: a topic reaches every subscriber.
  const own = await pub.subscribe(dest);
  pub.client.publish({ destination: dest, body: 'second' });
  const [a, b] = await Promise.all([inbox.next('the second MESSAGE (subscriber)'), own.inbox.next('the second MESSAGE (publisher)')]);
  assert(a.body === 'second' && b.body === 'second', `second message bodies ${JSON.stringify(a.body)}, ${JSON.stringify(b.body)}`);
  return `message-id=${h['message-id']} 2 subscribers`;
});

check('receipts', async use => {
  const c = use(await Conn.open('receipts'));
  const dest = topic('receipts');
  // One receipt per kind of frame, each awaited in the order sent: RECEIPTs
  // come back in order since frames are served in order.
  const order = [];
  const ids = ['sub', 'send', 'send-in-tx', 'send-after-abort', 'unsub'].map(k => `${k}-${newReceipt()}`);
  const got = ids.map(id => c.receipt(id).then(f => order.push(f.headers['receipt-id'])));
  const t0 = performance.now();
  const s = c.client.subscribe(dest, () => {}, { receipt: ids[0] });
  c.client.publish({ destination: dest, body: 'x', headers: { receipt: ids[1] } });
  c.client.begin('tx-receipts'); // stompjs's begin and abort take no headers, so no receipts there
  c.client.publish({ destination: dest, body: 'held', headers: { transaction: 'tx-receipts', receipt: ids[2] } });
  c.client.abort('tx-receipts');
  c.client.publish({ destination: dest, body: 'y', headers: { receipt: ids[3] } });
  s.unsubscribe({ receipt: ids[4] });
  await c.alive(Promise.all(got), `RECEIPTs ${ids.join(', ')} (got ${order.join(', ') || 'none'})`);
  const ms = performance.now() - t0;
  assert(JSON.stringify(order) === JSON.stringify(ids), `receipts in order ${order.join(', ')}, want ${ids.join(', ')}`);
  return `${ids.length} receipts in order in ${ms.toFixed(1)} ms`;
});

check('unsubscribe', async use => {
  const c = use(await Conn.open('unsub'));
  const pub = use(await Conn.open('unsub-pub'));
  const dest = topic('unsub');
  const gone = await c.subscribe(dest, { id: 'going' });
  pub.client.publish({ destination: dest, body: 'before' });
  const m = await gone.inbox.next('the MESSAGE before UNSUBSCRIBE');
  assert(m.body === 'before', `got ${JSON.stringify(m.body)}`);
  const id = newReceipt();
  const got = c.receipt(id);
  gone.sub.unsubscribe({ receipt: id });
  await c.alive(got, `RECEIPT ${id} of UNSUBSCRIBE`);
  // A second subscription on the same connection is the sync point: once it
  // has all ten, any copy for the cancelled one would have arrived too.
  const stays = await c.subscribe(dest, { id: 'staying' });
  for (let i = 0; i < 10; i++) pub.client.publish({ destination: dest, body: `after ${i}` });
  for (let i = 0; i < 10; i++) await stays.inbox.next(`message ${i} on the remaining subscription`);
  const stray = c.unhandled.filter(f => f.command === 'MESSAGE');
  assert(gone.inbox.total === 1 && stray.length === 0,
    `${stray.length} MESSAGE(s) for the cancelled subscription after its RECEIPT, e.g. ${describe(stray[0])}`);
  return '0 messages after the RECEIPT (10 on the remaining subscription)';
});

// binaryRoundTrip publishes body as a binaryBody (stompjs adds its
// content-length) and checks the MESSAGE brings the same octets back.
async function binaryRoundTrip(use, name, body) {
  const c = use(await Conn.open(name));
  const dest = topic(name);
  const { inbox } = await c.subscribe(dest);
  c.client.publish({ destination: dest, binaryBody: body, headers: { 'content-type': 'application/octet-stream' } });
  const m = await inbox.next('the binary MESSAGE');
  const got = m.binaryBody;
  assert(m.headers['content-length'] === String(body.length), `content-length ${JSON.stringify(m.headers['content-length'])}, want ${body.length}`);
  assert(got.length === body.length, `received ${got.length} octets, sent ${body.length}`);
  const diff = body.findIndex((b, i) => got[i] !== b);
  assert(diff < 0, `octet ${diff} is ${got[diff]}, sent ${body[diff]}`);
  return `${body.length} octets, ${body.filter(b => b === 0).length} NULs, byte-identical`;
}

check('binary-body-nul', async use => {
  // NULs at the start, in the middle and at the end: a body only
  // content-length can delimit. The rest is ASCII, so the body is UTF-8.
  const body = new TextEncoder().encode('\0\0head\0middle\0\0tail\0');
  return binaryRoundTrip(use, 'binary-nul', body);
});

check('binary-body-any-octets', async use => {
  // Every octet value: a body that is not UTF-8 must still arrive, which a
  // WebSocket can only carry in a binary message.
  const body = new Uint8Array(2 + 256);
  for (let i = 0; i < 256; i++) body[1 + i] = i;
  return binaryRoundTrip(use, 'binary-any', body);
});

check('escaped-headers', async use => {
  const c = use(await Conn.open('escape'));
  const dest = topic('escape');
  const { inbox } = await c.subscribe(dest);
  // stompjs unescapes \c, \n, \r before \\, so a value with a backslash
  // right before 'c', 'n' or 'r' would not survive stompjs itself; these
  // values avoid that and test the server alone.
  const sent = {
    'x-colon': 'a:b::c',
    'x-newline': 'line one\nline two',
    'x-backslash': 'C:\\temp\\x\\',
    'x-all': 'k:v\n\\ end',
  };
  c.client.publish({ destination: dest, body: 'escape', headers: sent });
  const m = await inbox.next('the MESSAGE with escaped headers');
  const bad = Object.entries(sent).filter(([k, v]) => m.headers[k] !== v)
    .map(([k, v]) => `${k}: got ${JSON.stringify(m.headers[k])}, sent ${JSON.stringify(v)}`);
  assert(bad.length === 0, bad.join('; '));
  return `${Object.keys(sent).length} headers with ':', '\\n', '\\\\' round-tripped`;
});

check('malformed-frame', async use => {
  const r = use(await RawConn.open());
  assert(r.ws.protocol === 'v12.stomp', `subprotocol ${JSON.stringify(r.ws.protocol)}, want "v12.stomp"`);
  r.send('CONNECT\naccept-version:1.2\nhost:tickroom\nheart-beat:0,0\n\n\0');
  const connected = await r.nextFrame('CONNECTED');
  assert(connected.command === 'CONNECTED', `got ${connected.command} ${JSON.stringify(connected.headers)}, want CONNECTED`);
  r.send('BOGUS\n\n\0');
  const f = await r.nextFrame('the ERROR for "BOGUS"');
  assert(f.command === 'ERROR', `got ${f.command} ${JSON.stringify(f.headers)}, want ERROR`);
  assert(f.headers.message, `ERROR without a message header: ${JSON.stringify(f.headers)}`);
  const closed = await within(3_000, 'the close after ERROR', r.closed);
  return `ERROR message=${JSON.stringify(f.headers.message)} then close ${closed.code}`;
});

check('transaction', async use => {
  const sub = use(await Conn.open('tx-sub'));
  const c = use(await Conn.open('tx'));
  const dest = topic('tx');
  const { inbox } = await sub.subscribe(dest);
  const tx = c.client.begin();
  for (let i = 1; i <= 3; i++) c.client.publish({ destination: dest, body: `tx ${i}`, headers: { transaction: tx.id } });
  // A SEND outside the transaction, sent after the held ones, is the sync
  // point: when it arrives, the held ones would have if they leaked.
  c.client.publish({ destination: dest, body: 'marker 1' });
  let m = await inbox.next('marker 1');
  assert(m.body === 'marker 1', `got ${JSON.stringify(m.body)} before COMMIT, want "marker 1" (a transactional SEND leaked)`);
  tx.commit();
  for (let i = 1; i <= 3; i++) {
    m = await inbox.next(`committed message ${i}`);
    assert(m.body === `tx ${i}`, `after COMMIT got ${JSON.stringify(m.body)}, want "tx ${i}"`);
  }
  const tx2 = c.client.begin();
  c.client.publish({ destination: dest, body: 'aborted', headers: { transaction: tx2.id } });
  tx2.abort();
  c.client.publish({ destination: dest, body: 'marker 2' });
  m = await inbox.next('marker 2');
  assert(m.body === 'marker 2', `got ${JSON.stringify(m.body)}, want "marker 2" (the aborted SEND was delivered)`);
  await c.publishSync({ destination: dest, body: 'marker 3' });
  m = await inbox.next('marker 3');
  assert(m.body === 'marker 3' && inbox.items.length === 0, `after ABORT got ${JSON.stringify(m.body)}, want "marker 3"`);
  return '3 held until COMMIT, 1 dropped by ABORT';
});

check('ordered-500', async use => {
  const N = 500;
  const sub = use(await Conn.open('order-sub'));
  const pub = use(await Conn.open('order-pub'));
  const dest = topic('order');
  const { inbox } = await sub.subscribe(dest);
  // At most WINDOW messages in flight: the server drops a subscriber whose
  // queue (-queue-len, 256 frames by default) overflows, which a busy test
  // machine can make this process be. Order and count are the point here.
  const WINDOW = 128;
  let sent = 0;
  const pump = received => {
    for (; sent < N && sent - received < WINDOW; sent++) {
      pub.client.publish({ destination: dest, body: String(sent), headers: { n: String(sent) } });
    }
  };
  const t0 = performance.now();
  pump(0);
  for (let i = 0; i < N; i++) {
    const m = await inbox.next(`message ${i} of ${N}`);
    assert(m.body === String(i) && m.headers.n === String(i), `message ${i} is body ${JSON.stringify(m.body)} n=${m.headers.n}, want ${i}`);
    pump(i + 1);
  }
  const ms = performance.now() - t0;
  await sleep(100);
  assert(inbox.items.length === 0, `${inbox.items.length} messages beyond the ${N} sent`);
  return `${N} in order in ${ms.toFixed(0)} ms, ${Math.round(N / (ms / 1000))} msgs/s (window ${WINDOW})`;
});

check('ack-modes', async use => {
  const c = use(await Conn.open('ack'));
  const dest = topic('ack');
  const { inbox } = await c.subscribe(dest, { id: 'acked', ack: 'client-individual' });
  c.client.publish({ destination: dest, body: 'one' });
  c.client.publish({ destination: dest, body: 'two' });
  const a = await inbox.next('the first client-individual MESSAGE');
  const b = await inbox.next('the second client-individual MESSAGE');
  assert(a.headers.ack && b.headers.ack, `STOMP 1.2 client-individual MESSAGE without an ack header: ${describe(a)}`);
  // Out of order, as client-individual allows.
  for (const m of [b, a]) {
    const id = newReceipt();
    const got = c.receipt(id);
    m.ack({ receipt: id });
    await c.alive(got, `RECEIPT ${id} of ACK ${m.headers.ack}`);
  }
  // An ACK of an id never delivered is an ERROR, then the close.
  const id = newReceipt();
  c.client.ack('no-such-message', 'acked', { receipt: id });
  const err = await c.expectError('an ERROR for the ACK of an unknown id');
  assert(err.headers['receipt-id'] === id, `ERROR receipt-id ${JSON.stringify(err.headers['receipt-id'])}, want ${id}: ${describe(err)}`);
  const closed = await within(3_000, 'the close after ERROR', c.closed);
  return `2 acked out of order; unknown ACK: ERROR ${JSON.stringify(err.headers.message)}, close ${closed.code}`;
});

check('user-queue-errors', async use => {
  const c = use(await Conn.open('user-errors'));
  const errs = await c.subscribe('/user/queue/errors');
  const dest = `/topic/rooms/no-such-room-${RUN}`;
  c.client.subscribe(dest, () => {});
  const m = await errs.inbox.next(`the /user/queue/errors MESSAGE for SUBSCRIBE ${dest}`);
  let e;
  try { e = JSON.parse(m.body); } catch { throw new Error(`error body is not JSON: ${JSON.stringify(m.body)}`); }
  assert(e.code && e.message && e.destination === dest, `error ${m.body}, want {code, message, destination:${JSON.stringify(dest)}}`);
  await c.publishSync({ destination: topic('user-errors'), body: 'still connected' });
  return `code=${e.code}, connection kept`;
});

check('room-arena', async use => {
  const c = use(await Conn.open('arena'));
  // Not Conn.subscribe: the RECEIPT must come before the joined MESSAGE,
  // so the order is noted as the frames are parsed (a promise's then
  // would run only after the rest of the same WebSocket message).
  const inbox = new Inbox(c);
  const id = newReceipt();
  let receiptFirst;
  const got = new Promise(resolve => c.client.watchForReceipt(id, () => {
    receiptFirst = inbox.total === 0;
    resolve();
  }));
  c.client.subscribe('/topic/rooms/*', m => inbox.push(m), { kind: 'arena', role: 'player', receipt: id });
  await c.alive(got, `RECEIPT ${id} of SUBSCRIBE /topic/rooms/*`);
  assert(receiptFirst, 'the joined MESSAGE came before the SUBSCRIBE\'s RECEIPT');
  const jm = await inbox.next('the joined MESSAGE');
  const j = JSON.parse(jm.body);
  assert(j.type === 'joined' && j.room && j.kind === 'arena' && j.role === 'player' && j.mode === 'fresh' && Number.isInteger(j.member) &&
    Number.isInteger(j.seq) && Array.isArray(j.snapshot) && j.snapshot.length === 3,
  `first MESSAGE ${jm.body}, want {"type":"joined","room":..,"kind":"arena","member":N,"role":"player","seq":S,"mode":"fresh","snapshot":[w,h,players]}`);
  arenaRoom = j.room;
  const me = j.member;
  let seq = j.seq;
  const start = j.snapshot[2].find(p => p[0] === me);

  // Move towards the middle so that no wall stops the player; the room
  // applies each input as the direction held from the next tick on.
  const [width] = j.snapshot;
  const dx = start && start[1] > width / 2 ? -1 : 1;
  const N = 20;
  for (let i = 1; i <= N; i++) {
    c.client.publish({ destination: `/app/rooms/${j.room}`, body: JSON.stringify([dx, 0, i]) });
  }
  // Read updates until ours shows the last input applied and a move.
  const moved = p => !start || (p[1] - start[1]) * dx > 0;
  let last = start, updates = 0;
  while (!last || last[3] < N || !moved(last)) {
    const m = await inbox.next(`an update with lastInputSeq ${N} and a move (last seen ${JSON.stringify(last ?? null)})`);
    const ev = JSON.parse(m.body);
    assert(Number(m.headers.seq) === seq + 1 && ev.seq === seq + 1,
      `event seq header ${m.headers.seq} body ${ev.seq} after seq ${seq}, want ${seq + 1} (gap-free): ${m.body}`);
    seq++;
    if (ev.type !== 'update') continue; // member_joined/left of other runs' players
    updates++;
    const mine = ev.body[0].find(p => p[0] === me);
    if (mine) {
      assert(!last || mine[3] >= last[3], `lastInputSeq went back from ${last[3]} to ${mine[3]}`);
      last = mine;
    }
  }
  return `room=${j.room} member=${me} joined-seq=${j.seq} ${updates} updates to seq ${seq} gap-free, lastInputSeq=${last[3]} x ${start ? start[1] : '?'}->${last[1]}`;
});

check('room-send-topic-error', async use => {
  const c = use(await Conn.open('wrong-dest'));
  const room = arenaRoom ?? 'some-room';
  const id = newReceipt();
  c.client.publish({ destination: `/topic/rooms/${room}`, body: '[1,0,1]', headers: { receipt: id } });
  const err = await c.expectError(`an ERROR for SEND /topic/rooms/${room}`);
  const want = `/app/rooms/${room}`;
  assert((err.headers.message ?? '').includes(want) || err.body.includes(want), `ERROR names no ${want}: ${describe(err)}`);
  assert(err.headers['receipt-id'] === id, `ERROR receipt-id ${JSON.stringify(err.headers['receipt-id'])}, want ${id}`);
  const closed = await within(3_000, 'the close after ERROR', c.closed);
  return `ERROR ${JSON.stringify(err.headers.message)} names ${want}, close ${closed.code}`;
});

// The server runs the demo market (room "market", AAPL among its symbols,
// fed by the in-process simulator): a ticker subscriber and a room member
// must see the same quotes.
check('market-ticker-and-room', async use => {
  const c = use(await Conn.open('ticker'));
  const { inbox: ticks } = await c.subscribe('/topic/ticker/AAPL');
  const { inbox: room } = await c.subscribe('/topic/rooms/market', { role: 'spectator' });
  const jm = await room.next('the joined MESSAGE of room market');
  const j = JSON.parse(jm.body);
  assert(j.type === 'joined' && j.kind === 'market' && Array.isArray(j.snapshot) && Array.isArray(j.snapshot[0]),
    `first MESSAGE of /topic/rooms/market ${jm.body.slice(0, 300)}, want {"type":"joined","kind":"market","snapshot":[quotes],..}`);
  assert(j.snapshot[0].some(q => q[0] === 'AAPL'), 'the snapshot has no AAPL quote');

  // The ticker: the current quote first, then one per change, seq gap-free
  // (nothing here is slow enough to be skipped).
  const tickerQuotes = new Set();
  let seq = 0;
  for (let i = 0; i < 5; i++) {
    const m = await ticks.next(`ticker message ${i + 1} of /topic/ticker/AAPL`);
    const t = JSON.parse(m.body);
    assert(t.type === 'quote' && t.symbol === 'AAPL' && Array.isArray(t.quote) && t.quote.length === 11 && t.quote[0] === 'AAPL',
      `ticker MESSAGE ${m.body}, want {"type":"quote","symbol":"AAPL","seq":N,"sent_us":T,"quote":[11 fields]}`);
    assert(m.headers['content-type'] === 'application/json' && Number(m.headers.seq) === t.seq,
      `ticker MESSAGE headers ${JSON.stringify(m.headers)}: want content-type application/json and seq ${t.seq}`);
    const [, bid, ask] = t.quote;
    assert(bid > 0 && ask >= bid, `ticker quote ${JSON.stringify(t.quote)}: want 0 < bid <= ask`);
    assert(i === 0 || t.seq === seq + 1, `ticker seq ${t.seq} after ${seq}, want ${seq + 1}`);
    seq = t.seq;
    tickerQuotes.add(JSON.stringify(t.quote));
  }

  // The room's updates carry the same quotes (the same values, encoded
  // once per tick for both): find one of the ticker's among them.
  let matched = null, updates = 0;
  while (!matched) {
    const m = await room.next(`a room update whose AAPL quote the ticker sent (${updates} updates read)`);
    const ev = JSON.parse(m.body);
    if (ev.type !== 'update' || !ev.body) continue;
    updates++;
    const q = ev.body[0].find(q => q[0] === 'AAPL');
    if (q && tickerQuotes.has(JSON.stringify(q))) matched = q;
    while (ticks.items.length) tickerQuotes.add(JSON.stringify(JSON.parse(ticks.items.shift().body).quote));
  }

  // An unknown symbol and a SEND to a ticker are refused, each with ERROR.
  const u = use(await Conn.open('ticker-unknown'));
  u.client.subscribe('/topic/ticker/NOSUCH9', () => {});
  const err = await u.expectError('an ERROR for SUBSCRIBE /topic/ticker/NOSUCH9');
  assert(/unknown_symbol|NOSUCH9/.test(`${err.headers.message} ${err.body}`), `ERROR does not name the unknown symbol: ${describe(err)}`);
  const w = use(await Conn.open('ticker-send'));
  w.client.publish({ destination: '/topic/ticker/AAPL', body: '{}' });
  const werr = await w.expectError('an ERROR for SEND /topic/ticker/AAPL');
  assert(/read-only/.test(werr.headers.message ?? ''), `ERROR for SEND to a ticker: ${describe(werr)}, want message read-only destination`);
  return `5 ticker quotes seq ${seq - 4}..${seq} gap-free; same AAPL quote in room update ${updates} (bid ${matched[1]} ask ${matched[2]}); unknown symbol and SEND refused`;
});

// ---- the runner -----------------------------------------------------------

let failed = 0;
for (const { name, fn } of checks) {
  const opened = [];
  const use = conn => (opened.push(conn), conn);
  current = name;
  try {
    const figures = await within(CHECK_TIMEOUT_MS, `check ${name}`, fn(use));
    console.log(`ok  ${name}  ${figures}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  } finally {
    await Promise.all(opened.map(c => c.close().catch(() => {})));
  }
}
console.log(failed ? `${failed} of ${checks.length} checks failed` : `all ${checks.length} checks passed`);
process.exit(failed ? 1 : 0);
