#!/usr/bin/env node
// The demo page's server (DEMO ONLY, never in production): serves demo/dist, signs JWTs for demo
// users with the dev secret (HS256), and forwards the page's "send" forms to ingest with the producer
// API key, which stays here: the page never sees it. Listens on 127.0.0.1 unless DEMO_HOST says otherwise.
//
// Environment (defaults match `npm start`):
//   DEMO_PORT 8000 · DEMO_HOST 127.0.0.1 (0.0.0.0 in its container, published on loopback by compose)
//   DEMO_WS_URL ws://127.0.0.1:8090/v1/ws · DEMO_INGEST_URL http://127.0.0.1:3000
//   NOTIFY_JWT_SECRET (dev secret) · NOTIFY_API_KEYS (first key used) · DEMO_USER alice
//   (an empty variable counts as unset, as compose passes `${VAR:-}`)
//   DEMO_TOKEN_TTL_SECONDS 900 · DEMO_NO_BUILD=1 to serve demo/dist as it is
//
// The Pusher page (/pusher, laravel-echo + pusher-js) is served with the first app of
// NOTIFY_PUSHER_APPS (else npm start's dev app), connecting to DEMO_WS_URL's host and port (?port=
// picks another gateway); this server plays the Laravel backend: POST /pusher/auth signs channel
// authorizations with the app's secret through the `pusher` server SDK, POST /pusher/trigger publishes a
// headline through ingest's Pusher HTTP API (DEMO_INGEST_URL).
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const USER_ID = /^[A-Za-z0-9_@:+.=-]{1,128}$/;
const TOPIC = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/;
const TICKER_CHANNEL = 'public.ticker';
const NEWS_CHANNEL = 'news';
const SOCKET_ID = /^\d{1,20}\.\d{1,20}$/;
const PUSHER_CHANNEL = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;
const BODY_LIMIT = 16 * 1024;

const env = (name) => process.env[name] || undefined;
const config = {
  port: Number(env('DEMO_PORT') ?? 8000),
  host: env('DEMO_HOST') ?? '127.0.0.1',
  wsUrl: env('DEMO_WS_URL') ?? 'ws://127.0.0.1:8090/v1/ws',
  ingestUrl: (env('DEMO_INGEST_URL') ?? 'http://127.0.0.1:3000').replace(/\/$/, ''),
  jwtSecret: env('NOTIFY_JWT_SECRET') ?? 'dev-only-jwt-secret-change-me-in-production',
  apiKey: (env('NOTIFY_API_KEYS') ?? 'dev-producer-key').split(',')[0].trim(),
  defaultUser: env('DEMO_USER') ?? 'alice',
  tokenTtlSeconds: Number(env('DEMO_TOKEN_TTL_SECONDS') ?? 900),
  pusherApp: (env('NOTIFY_PUSHER_APPS') ?? 'dev-app:dev-key:dev-pusher-secret')
    .split(',')[0]
    .trim()
    .split(':'),
};

if (!env('DEMO_NO_BUILD')) {
  const { buildDemo } = await import(join(root, 'demo', 'build.mjs'));
  await buildDemo();
}

const dist = join(root, 'demo', 'dist');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};
const STATIC = [
  'styles.css',
  'app.js',
  'app.js.map',
  'notify-client.js',
  'notify-client.js.map',
  'pusher.js',
  'pusher.js.map',
];
/** Files are read and gzipped once: the page is small and fixed while the server runs. */
const files = new Map();
function staticFile(name) {
  if (!files.has(name)) {
    const body = readFileSync(join(dist, name));
    files.set(name, {
      body,
      gzip: gzipSync(body, { level: 9 }),
      type: TYPES[name.slice(name.lastIndexOf('.'))],
    });
  }
  return files.get(name);
}

const escapeAttr = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function page(user) {
  const html = readFileSync(join(dist, 'index.html'), 'utf8')
    .replace('__NOTIFY_WS_URL__', escapeAttr(config.wsUrl))
    .replace('__NOTIFY_USER__', escapeAttr(user));
  return Buffer.from(html);
}

/** HS256 JWT for a demo user, with the public ticker allowed (public.* needs no claim anyway). */
function signToken(userId) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: userId, iat: now, exp: now + config.tokenTtlSeconds, channels: ['public.*'] })}`;
  return {
    token: `${unsigned}.${createHmac('sha256', config.jwtSecret).update(unsigned).digest('base64url')}`,
    expiresAt: new Date((now + config.tokenTtlSeconds) * 1000).toISOString(),
  };
}

const wsOrigin = new URL(config.wsUrl);
/** The Pusher page reaches any gateway port of the WebSocket host (?port=), ws:// or wss://. */
const csp = (connect) =>
  `default-src 'self'; connect-src 'self' ${connect}; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': csp(wsOrigin.origin.replace(/^http/, 'ws')),
};
const PUSHER_PAGE_HEADERS = {
  'content-security-policy': csp(`ws://${wsOrigin.hostname}:* wss://${wsOrigin.hostname}:*`),
};

function send(res, status, body, type = 'application/json; charset=utf-8', extra = {}) {
  const payload = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache', ...SECURITY_HEADERS, ...extra });
  res.end(payload);
}

/** The Pusher page, pointed at DEMO_WS_URL's host and port (the load balancer serves /app/ too). */
function pusherPage(user) {
  const port = wsOrigin.port || (wsOrigin.protocol === 'wss:' ? '443' : '80');
  const html = readFileSync(join(dist, 'pusher.html'), 'utf8')
    .replace('__PUSHER_KEY__', escapeAttr(config.pusherApp[1] ?? ''))
    .replace('__PUSHER_WS_HOST__', escapeAttr(wsOrigin.hostname))
    .replace('__PUSHER_WS_PORT__', escapeAttr(port))
    .replace('__NOTIFY_USER__', escapeAttr(user));
  return Buffer.from(html);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        reject(new HttpError(413, 'body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readJson(req) {
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'JSON only');
  const text = await readBody(req);
  try {
    const value = JSON.parse(text || '{}');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch {
    throw new HttpError(400, 'invalid JSON');
  }
}

/** pusher-js posts its channel authorization as a form (socket_id, channel_name, and our params). */
async function readForm(req) {
  if (!/^application\/x-www-form-urlencoded\b/.test(req.headers['content-type'] ?? ''))
    throw new HttpError(415, 'application/x-www-form-urlencoded only');
  return new URLSearchParams(await readBody(req));
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function userOf(value) {
  const user = typeof value === 'string' && value !== '' ? value : config.defaultUser;
  if (!USER_ID.test(user))
    throw new HttpError(400, 'user must be 1-128 characters of A-Z a-z 0-9 _ @ : + . = -');
  return user;
}

function text(value, max, field) {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > max)
    throw new HttpError(400, `${field}: at most ${max} characters`);
  return value;
}

/** Forwards to ingest with the API key; answers with ingest's status and body. */
async function ingest(path, body) {
  const res = await fetch(`${config.ingestUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${config.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

async function api(req, res, path) {
  if (req.method !== 'POST') throw new HttpError(405, 'POST only');
  const body = await readJson(req);
  if (path === '/api/token') {
    const user = userOf(body.user);
    return send(res, 200, { userId: user, ...signToken(user) });
  }
  if (path === '/api/notify') {
    const topic = text(body.topic, 200, 'topic') ?? 'demo.message';
    if (!TOPIC.test(topic)) throw new HttpError(400, 'topic: dot-separated words');
    const notification = {
      userId: userOf(body.user),
      topic,
      title: text(body.title, 256, 'title') ?? 'Hello from the demo',
    };
    const message = text(body.body, 4096, 'body');
    if (message !== undefined) notification.body = message;
    const out = await ingest('/v1/notifications', notification);
    return send(res, out.status, out.body);
  }
  if (path === '/api/ticker') {
    const message = text(body.text, 140, 'text');
    if (!message) throw new HttpError(400, 'text is required');
    const out = await ingest(`/v1/channels/${TICKER_CHANNEL}/messages`, { data: { text: message } });
    return send(res, out.status, out.body);
  }
  throw new HttpError(404, 'not found');
}

/** The Pusher server SDK, pointed at ingest's Pusher HTTP API; loaded on first use. */
let pusherSdk;
async function pusher() {
  if (!pusherSdk) {
    const { default: Pusher } = await import('pusher').catch(() => {
      throw new HttpError(503, "the 'pusher' server SDK is not installed next to this server");
    });
    const ingestUrl = new URL(config.ingestUrl);
    const [appId, key, secret] = config.pusherApp;
    pusherSdk = new Pusher({
      appId,
      key,
      secret,
      host: ingestUrl.hostname,
      port: ingestUrl.port || undefined,
      useTLS: ingestUrl.protocol === 'https:',
    });
  }
  return pusherSdk;
}

/** The Laravel backend's part: /broadcasting/auth (here /pusher/auth) and a trigger. */
async function pusherApi(req, res, path) {
  if (req.method !== 'POST') throw new HttpError(405, 'POST only');
  if (path === '/pusher/auth') {
    const form = await readForm(req);
    const socketId = form.get('socket_id') ?? '';
    const channel = form.get('channel_name') ?? '';
    if (!SOCKET_ID.test(socketId)) throw new HttpError(400, 'socket_id: <digits>.<digits>');
    if (!PUSHER_CHANNEL.test(channel)) throw new HttpError(400, 'channel_name: a Pusher channel name');
    const sdk = await pusher();
    if (channel.startsWith('presence-')) {
      // Laravel's channels.php returns the user's id and name; Echo's here/joining/leaving get them.
      const user = userOf(form.get('user') ?? undefined);
      return send(
        res,
        200,
        sdk.authorizeChannel(socketId, channel, { user_id: user, user_info: { id: user, name: user } }),
      );
    }
    if (channel.startsWith('private-')) return send(res, 200, sdk.authorizeChannel(socketId, channel));
    throw new HttpError(403, 'public channels need no authorization');
  }
  if (path === '/pusher/trigger') {
    const body = await readJson(req);
    const headline = text(body.text, 140, 'text');
    if (!headline) throw new HttpError(400, 'text is required');
    const sdk = await pusher();
    // The SDK resolves on 2xx only; a refusal (RequestError) carries ingest's status and plain-text body.
    const out = await sdk
      .trigger(NEWS_CHANNEL, 'headline', { text: headline, at: new Date().toISOString() })
      .catch((err) => {
        if (typeof err.status !== 'number') throw err;
        throw new HttpError(502, `ingest answered ${err.status}: ${err.body ?? ''}`.trim());
      });
    return send(res, 200, await out.text());
  }
  throw new HttpError(404, 'not found');
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://demo');
  const path = url.pathname;
  const handle = async () => {
    if (path.startsWith('/api/')) return api(req, res, path);
    if (path.startsWith('/pusher/')) return pusherApi(req, res, path);
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'GET only');
    if (path === '/healthz') return send(res, 200, { ok: true });
    if (path === '/' || path === '/index.html') {
      return send(res, 200, page(userOf(url.searchParams.get('user') ?? undefined)), TYPES['.html']);
    }
    if (path === '/pusher' || path === '/pusher.html') {
      const user = userOf(url.searchParams.get('user') ?? undefined);
      return send(res, 200, pusherPage(user), TYPES['.html'], PUSHER_PAGE_HEADERS);
    }
    const name = path.slice(1);
    if (!STATIC.includes(name)) throw new HttpError(404, 'not found');
    const file = staticFile(name);
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
    return send(
      res,
      200,
      gzip ? file.gzip : file.body,
      file.type,
      gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : {},
    );
  };
  handle().catch((err) => {
    const status = err instanceof HttpError ? err.status : 502;
    const message = err instanceof HttpError ? err.message : `ingest unreachable: ${err.message}`;
    if (!res.headersSent) send(res, status, { statusCode: status, message });
    else res.destroy();
  });
});

server.listen(config.port, config.host, () => {
  console.log(
    `demo: http://127.0.0.1:${config.port}/ (user ${config.defaultUser}; ?user=<id> for another) → ${config.wsUrl}; DEMO ONLY: tokens signed with the dev secret`,
  );
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
