import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { MAX_MUTED_TOPICS } from '@notify/protocol';

/**
 * Generators of hostile input for ingest, shared by the HTTP and AMQP halves of the suite. Bodies are
 * bytes, not values: lone surrogates travel as JSON escapes (a JS string with one would be turned into
 * U+FFFD on the way out), and invalid or overlong UTF-8 must be sent as it is.
 */

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

/** `levels` arrays or objects around a value, as JSON text. */
export const deepJson = (levels: number, kind: 'array' | 'object', inner = '1'): string =>
  kind === 'array'
    ? '['.repeat(levels) + inner + ']'.repeat(levels)
    : '{"a":'.repeat(levels) + inner + '}'.repeat(levels);

const loneSurrogate = fc.constantFrom(
  '\\ud800',
  '\\udbff',
  '\\udc00',
  '\\udfff',
  'x\\ud800y',
  '\\ude00\\ud83d',
);

/** JSON string literals that are hostile to a store or a parser, as JSON text. */
const oddStringLiteral: fc.Arbitrary<string> = fc.oneof(
  loneSurrogate.map((s) => `"${s}"`),
  fc.constantFrom('"\\u0000"', '"a\\u0000b"', '"\\uffff"', '"\\ufeff"', '"\\u202e"', '"🙂"', '""'),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
);

const hugeNumber = fc.constantFrom(
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '1e-400',
  '-0',
  '0.0000001',
);
const protoKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty');

/** A JSON value (as text) built from the odd parts above, nested a little. */
const oddValue: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    oddStringLiteral,
    hugeNumber,
    fc.constantFrom('null', 'true', 'false', '0', '[]', '{}'),
    fc.json({ maxDepth: 2 }),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(
        fc.tuple(
          fc.oneof(
            protoKey,
            oddStringLiteral.map((s) => JSON.parse(s) as string),
            fc.string(),
          ),
          tie('value'),
        ),
        {
          maxLength: 3,
        },
      )
      .map((entries) => `{${entries.map(([k, v]) => `${keyLiteral(k)}:${v}`).join(',')}}`),
  ),
})).value;

/** A key as a JSON literal; keys that came from an escape keep it. */
const keyLiteral = (k: string): string =>
  JSON.stringify(k).replace(/[\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/**
 * An object (as JSON text) with some of `fields` set to odd values or odd keys added, half of the time
 * after the `base` members (JSON text each).
 */
const mutatedObject = (fields: readonly string[], base: readonly string[] = []): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.dictionary(fc.oneof(fc.constantFrom(...fields), protoKey), oddValue, { maxKeys: 5 }),
      fc.boolean(),
    )
    .map(([entries, withBase]) => {
      const members = Object.entries(entries).map(([k, v]) => `${JSON.stringify(k)}:${v}`);
      return `{${[...(withBase ? base : []), ...members].join(',')}}`;
    });

/** A notification (or channel message) with some fields replaced by odd values or odd keys added. */
const mutatedBody: fc.Arbitrary<string> = mutatedObject(
  'userId userIds topic title body data ttlSeconds idempotencyKey channel'.split(' '),
  ['"userId":"alice"', '"topic":"hostile.test"'],
);

/** Bodies as text: each of them is malformed, oddly typed or unstorable in some way. */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  mutatedBody,
  oddValue,
  fc.json({ maxDepth: 4 }),
  fc
    .tuple(fc.integer({ min: 33, max: 20_000 }), fc.constantFrom('array' as const, 'object' as const))
    .map(([levels, kind]) => deepJson(levels, kind)),
  fc
    .tuple(fc.integer({ min: 31, max: 5_000 }), loneSurrogate)
    .map(
      ([levels, s]) =>
        `{"userId":"alice","topic":"deep.data","data":${deepJson(levels, 'object', `"${s}"`)}}`,
    ),
  fc
    .constantFrom(...['data', 'title', 'body', 'topic', 'idempotencyKey'])
    .chain((f) =>
      loneSurrogate.map(
        (s) =>
          `{"userId":"alice","topic":"t",${JSON.stringify(f)}:${f === 'data' ? `{"k":"${s}"}` : `"${s}"`}}`,
      ),
    ),
  loneSurrogate.map((s) => `{"userId":"alice","topic":"t","data":{"${s}":1}}`),
  fc.constantFrom(
    '{"userId":"alice","topic":"t","data":{"__proto__":{"polluted":1}}}',
    '{"__proto__":{"userId":"x"}}',
  ),
);

/** Bytes no JSON parser should accept as UTF-8 text, or that are simply not JSON. */
export const hostileBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.constantFrom(
    Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]), // {"t":"<overlong />"}
    Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xe0, 0x80, 0xaf, 0x22, 0x7d]), // overlong, 3 bytes
    Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), // CESU-8 surrogate
    Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), // not UTF-8 at all
    Buffer.from('{"userId":"alice","topic":"t","title":"a\u0000b"}'), // a raw NUL byte
    Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), // BOM then {}
    Buffer.from('\ufeff{"userId":"alice","topic":"t"}', 'utf16le'),
  ),
  fc.string({ maxLength: 100 }).map(text),
);

/** Any hostile body, as bytes. */
export const hostileBody: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: hostileJsonText.map(text) },
  { weight: 1, arbitrary: hostileBytes },
);

export interface HostileRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export const VALID_PATHS = ['/v1/notifications', '/v1/channels/news.sport/messages'] as const;

const path = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...VALID_PATHS) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '/v1/channels/%ZZ/messages',
      '/v1/channels/%00/messages',
      '/v1/channels/%E0%80%AF/messages',
      '/v1/channels/%ED%A0%80/messages',
      '/v1/channels/' + 'a'.repeat(5000) + '/messages',
      '/v1/channels/a..b/messages',
      '/v1/channels//messages',
      '/v1/notifications/',
      '/v1/notifications?__proto__[x]=1&a=%ZZ',
      '/v1/notifications/../../etc/passwd',
      '/%2e%2e/v1/notifications',
      '/V1/NOTIFICATIONS',
      '/healthz',
      '/readyz?x=%ZZ',
      '/metrics',
      '/',
      '/openapi.json',
      '/v1/notifications;x',
      '//v1/notifications',
    ),
  },
  { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
);

const method = fc.oneof(
  { weight: 8, arbitrary: fc.constant('POST') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND'),
  },
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=nonsense',
  'application/json; charset="',
  'application/vnd.api+json',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  ';;;',
  '',
  undefined,
);

const contentEncoding = fc.constantFrom(
  undefined,
  undefined,
  undefined,
  'gzip',
  'gzip',
  'deflate',
  'br',
  'identity',
  'x-garbage',
  'gzip, gzip',
  '',
);

const authorization = fc.oneof(
  { weight: 8, arbitrary: fc.constant('valid') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', 'Bearer x'.repeat(200)),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const extraHeaders = fc.dictionary(
  fc.constantFrom(
    'x-forwarded-for',
    'accept',
    'accept-encoding',
    'expect',
    'x-request-id',
    'cookie',
    'range',
    'if-match',
  ),
  fc.oneof(
    fc.constantFrom('*/*', '100-continue', 'bytes=0-1', 'garbage'),
    fc.string({ maxLength: 50 }).filter(isHeaderValue),
  ),
  { maxKeys: 3 },
);

function isHeaderValue(s: string): boolean {
  // What an HTTP client lets through; raw garbage is the raw-socket generator's job.
  return /^[\x20-\x7e]*$/.test(s) && s.trim() === s;
}

/** A request with a hostile body, headers, method or path; `apiKey` stands in for 'valid'. */
export function hostileRequest(apiKey: string): fc.Arbitrary<HostileRequest> {
  return fc
    .record({
      method,
      path,
      contentType,
      contentEncoding,
      authorization,
      extra: extraHeaders,
      body: hostileBody,
      gzipped: fc.boolean(),
    })
    .map(({ method, path, contentType, contentEncoding, authorization, extra, body, gzipped }) => {
      const headers: Record<string, string> = { ...extra };
      if (authorization !== undefined)
        headers.authorization = authorization === 'valid' ? `Bearer ${apiKey}` : authorization;
      if (contentType !== undefined) headers['content-type'] = contentType;
      if (contentEncoding !== undefined) headers['content-encoding'] = contentEncoding;
      // A gzip header over a real gzip stream half of the time, over raw bytes the other half.
      const sent = contentEncoding === 'gzip' && gzipped ? gzipSync(body) : body;
      return { method, path, headers, body: sent };
    });
}

/** Each byte of `s` percent-encoded: any string fits in a URL (a lone surrogate becomes U+FFFD's bytes). */
export const percentEncoded = (s: string): string =>
  [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** `s` with every character but letters, digits and `-._~` percent-encoded. */
const uriEncoded = (s: string): string => s.replace(/[^A-Za-z0-9\-._~]+/g, percentEncoded);

/**
 * Integers as a producer might write them, in a query or a JSON body: half of them beyond what a
 * JavaScript number holds exactly (2^53) or PostgreSQL's bigint holds at all (2^63), the other half
 * around the small limits, fractions, and text that only looks like a number (some of it not JSON).
 */
const hostileInteger = fc.oneof(
  fc.constantFrom(
    '9007199254740992',
    '9007199254740993',
    '9223372036854775807',
    '9223372036854775808',
    '-9223372036854775809',
    '18446744073709551616',
    '99999999999999999999',
    '1e20',
    '1e300',
    '1e400',
    '1' + '0'.repeat(400),
  ),
  fc.constantFrom(
    '0',
    '1',
    '-1',
    '-0',
    '1.5',
    '1.0',
    '1e3',
    '-1e300',
    '9007199254740991',
    '0x10',
    '+1',
    '00001',
    'NaN',
    'Infinity',
  ),
);

/** A path segment (as sent) that no route takes as a valid id, or that a URL parser may trip on. */
const oddSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '%20',
    'a%20b',
    '%ZZ',
    '%',
    '%00',
    '%ED%A0%80',
    '%E0%80%AF',
    '%C0%AF',
    '%FF',
    '%2F',
    'a%2Fb',
    '%2e%2e',
    '__proto__',
    'constructor',
    '*',
    '%23',
    '%3F',
    'x'.repeat(129),
    'x'.repeat(5000),
    '99999999999999999999',
    '-1',
    '%C3%A9',
    'alice%0D%0AX:%20y',
  ),
  fc.string({ unit: 'binary', maxLength: 30 }).map(percentEncoded),
  fc.string({ maxLength: 30 }).map(uriEncoded),
);

const segment = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: oddSegment });

/** The user ids the route generators use, valid ones: a test may give them an inbox first. */
export const VALID_USER_IDS = ['alice', 'bob', 'a.b@example.com', 'u_1', 'x'.repeat(128)] as const;
const userIdSegment = segment(fc.constantFrom(...VALID_USER_IDS.map(uriEncoded)));
const notificationIdSegment = segment(
  fc.oneof(
    fc.uuid(),
    fc.constantFrom(
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'FFFFFFFF-FFFF-4FFF-8FFF-FFFFFFFFFFFF',
      '%7B00000000-0000-4000-8000-000000000000%7D',
      '00000000000040008000000000000000',
      '00000000-0000-4000-8000-0000000000000',
      'g0000000-0000-4000-8000-000000000000',
    ),
  ),
);
const channelSegment = segment(
  fc.constantFrom(
    'presence.room',
    'presence.a-b.c_d',
    'news.sport',
    'presence',
    'presence.',
    'presence..a',
    `presence.${'a'.repeat(64)}`,
    `presence.${'a'.repeat(65)}`,
    'presence.a.b.c.d.e.f.g.h',
    'presence.%2A',
  ),
);

const queryValue = fc.oneof(
  hostileInteger.map(uriEncoded),
  fc.constantFrom(
    'true',
    'false',
    'TRUE',
    '',
    'order.%2A',
    'a..b',
    '%2A',
    '%23',
    'alice',
    '%ZZ',
    '%ED%A0%80',
  ),
  fc.string({ unit: 'binary', maxLength: 20 }).map(percentEncoded),
);

/**
 * A query of some of `params` (each mostly with values of its own kind, else any hostile value), or
 * of odd keys, or one key twice; `?` included.
 */
const hostileQuery = (params: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> => {
  const keys = Object.keys(params);
  const pair = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .constantFrom(...keys)
        .chain((k) =>
          fc.tuple(
            fc.constant(k),
            fc.oneof({ weight: 3, arbitrary: params[k] }, { weight: 1, arbitrary: queryValue }),
          ),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom('__proto__', 'constructor', 'colour', `${keys[0]}[]`, `${keys[0]}[x]`, '', '%ZZ'),
        queryValue,
      ),
    },
  );
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .array(pair, { maxLength: 3 })
        .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('?', '?&', '?=', '?%ZZ', `?${keys[0]}`, `?${keys[0]}=`, '??a=1'),
    },
  );
};

const queryInteger = hostileInteger.map(uriEncoded);

const uuidLike = fc.oneof(
  fc.uuid(),
  fc.constantFrom('00000000-0000-0000-0000-000000000000', 'not-a-uuid', ''),
  fc.string({ maxLength: 40 }),
);

/** Bodies of `POST /v1/users/{userId}/read`, as JSON text. */
const readBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: hostileInteger.map((n) => `{"upTo":${n}}`) },
  hostileInteger.map((n) => `{"upTo":"${n}"}`),
  fc.array(uuidLike, { maxLength: 4 }).map((ids) => JSON.stringify({ ids })),
  fc
    .tuple(fc.array(uuidLike, { maxLength: 2 }), hostileInteger)
    .map(([ids, n]) => `{"ids":${JSON.stringify(ids)},"upTo":${n}}`),
  fc.constant(
    JSON.stringify({
      ids: Array.from({ length: 257 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`),
    }),
  ),
  mutatedObject(['ids', 'upTo']),
);

const topicPattern = fc.oneof(
  fc.constantFrom(
    'marketing.*',
    'a',
    'a..b',
    '*',
    'a.*.b',
    '**',
    'a.**',
    '',
    'a\u0000',
    '\ud800',
    'x'.repeat(201),
  ),
  fc.string({ maxLength: 20 }),
);
const quietTime = fc.constantFrom(
  '22:00',
  '07:00',
  '24:00',
  '23:60',
  '7:00',
  '',
  '22:00:00',
  '\u0662\u0662:00',
  '-1:00',
);
const timeZone = fc.constantFrom(
  'UTC',
  'Europe/Berlin',
  'Mars/Olympus',
  'Etc/GMT+14',
  'Etc/GMT+99',
  '../../etc/passwd',
  '',
  'utc',
  'EST5EDT',
  'Factory',
  '+05:00',
  'x'.repeat(300),
  'UTC\u0000',
);

/** Bodies of `PUT /v1/users/{userId}/preferences`, as JSON text. */
const preferencesBody: fc.Arbitrary<string> = fc.oneof(
  fc
    .record(
      {
        mutedTopics: fc.array(topicPattern, { maxLength: 5 }),
        quietHours: fc.oneof(
          fc.constant(null),
          fc.record({ start: quietTime, end: quietTime, timeZone }, { requiredKeys: [] }),
        ),
      },
      { requiredKeys: [] },
    )
    .map((p) => JSON.stringify(p)),
  fc.constant(
    JSON.stringify({ mutedTopics: Array.from({ length: MAX_MUTED_TOPICS + 1 }, (_, i) => `t${i}`) }),
  ),
  mutatedObject(['mutedTopics', 'quietHours']),
  mutatedObject(['start', 'end', 'timeZone'], ['"start":"22:00"', '"end":"07:00"', '"timeZone":"UTC"']).map(
    (q) => `{"quietHours":${q}}`,
  ),
);

export interface RouteRequest extends HostileRequest {
  /** The route it was made for, as docs/openapi.json names it: `GET /v1/users/{userId}/notifications`. */
  route: string;
}

interface Route {
  /** Method and path template, as docs/openapi.json names them. */
  route: string;
  /** Appended to the path, `?` included. */
  query?: fc.Arbitrary<string>;
  /** JSON text; the route takes no body when absent. */
  body?: fc.Arbitrary<string>;
  /** How often it is picked against the others (1 when absent). */
  weight?: number;
}

/** Pusher's signature parameters, none of them right: these requests are refused before any body is read. */
const pusherAuthQuery = hostileQuery({
  auth_key: fc.constantFrom('app-key', 'other-key', 'x', ''),
  auth_timestamp: queryInteger,
  auth_version: fc.constantFrom('1.0', '2.0', ''),
  auth_signature: fc.constantFrom('', 'x', 'a'.repeat(64), '0'.repeat(64)),
  body_md5: fc.constantFrom('', 'd41d8cd98f00b204e9800998ecf8427e', 'x'.repeat(32)),
});

/** What a `{param}` of a route's path is filled with. */
const PATH_PARAMS: Record<string, fc.Arbitrary<string>> = {
  userId: userIdSegment,
  id: notificationIdSegment,
  channel: channelSegment,
  appId: segment(fc.constantFrom('1', '2', '999')),
};

/** The route's path with each `{param}` a segment of its kind, then the query. */
function pathOf(r: Route): fc.Arbitrary<string> {
  // Odd indexes are the names of the parameters.
  const parts = r.route.slice(r.route.indexOf(' ') + 1).split(/\{(\w+)\}/);
  return fc
    .tuple(
      fc.tuple(...parts.map((p, i) => (i % 2 ? PATH_PARAMS[p] : fc.constant(p)))),
      r.query ?? fc.constant(''),
    )
    .map(([segments, query]) => segments.join('') + query);
}

const PUSHER_ROUTES = [
  'POST /apps/{appId}/events',
  'POST /apps/{appId}/batch_events',
  'GET /apps/{appId}/channels',
  'GET /apps/{appId}/channels/{channel}',
  'GET /apps/{appId}/channels/{channel}/users',
  'POST /apps/{appId}/users/{userId}/terminate_connections',
];

/**
 * Every route of ingest (those of docs/openapi.json, and the probes), each with hostile path
 * segments, query values and bodies of its own kind: integers beyond what a column holds, ids that
 * are not ids, odd topics and time zones, keys twice, bodies of every malformed kind. The Pusher API's
 * routes are not signed here (test/hostile/pusher-http.test.ts signs them).
 */
export const INGEST_ROUTES: readonly Route[] = [
  { route: 'POST /v1/notifications', body: hostileJsonText },
  { route: 'POST /v1/channels/{channel}/messages', body: hostileJsonText },
  // The routes that pass integers from the request to SQL, more often.
  {
    route: 'GET /v1/users/{userId}/notifications',
    weight: 3,
    query: hostileQuery({
      before: queryInteger,
      limit: queryInteger,
      unreadOnly: fc.constantFrom('true', 'false', '1', ''),
      topic: topicPattern.map(uriEncoded),
    }),
  },
  { route: 'POST /v1/users/{userId}/read', weight: 3, body: readBody },
  { route: 'GET /v1/users/{userId}/preferences' },
  { route: 'PUT /v1/users/{userId}/preferences', body: preferencesBody },
  ...['GET', 'DELETE'].map((method) => ({
    route: `${method} /v1/notifications/{id}`,
    query: hostileQuery({ userId: userIdSegment }),
  })),
  { route: 'GET /v1/channels/{channel}/presence' },
  { route: 'GET /v1/users/{userId}/presence' },
  ...PUSHER_ROUTES.map((route) => ({
    route,
    query: pusherAuthQuery,
    ...(route.startsWith('POST') ? { body: hostileJsonText } : {}),
  })),
  ...['/healthz', '/readyz', '/metrics', '/docs', '/docs-json'].map((path) => ({
    route: `GET ${path}`,
    query: hostileQuery({ x: queryValue }),
  })),
];

/** A request to one of INGEST_ROUTES, mostly with its own method, a valid API key and a JSON type. */
export function hostileRouteRequest(apiKey: string): fc.Arbitrary<RouteRequest> {
  const routes = INGEST_ROUTES.map((r) => ({ weight: r.weight ?? 1, arbitrary: fc.constant(r) }));
  return fc.oneof(...routes).chain((r) => {
    const [method] = r.route.split(' ');
    const body: fc.Arbitrary<Buffer> = r.body
      ? fc.oneof({ weight: 4, arbitrary: r.body.map(text) }, { weight: 1, arbitrary: hostileBody })
      : fc.oneof(
          { weight: 9, arbitrary: fc.constant(Buffer.alloc(0)) },
          { weight: 1, arbitrary: hostileBody },
        );
    return fc
      .record({
        path: pathOf(r),
        body,
        method: fc.oneof(
          { weight: 9, arbitrary: fc.constant(method) },
          { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD') },
        ),
        authorization: fc.oneof(
          { weight: 9, arbitrary: fc.constant('valid') },
          { weight: 1, arbitrary: authorization },
        ),
        contentType: fc.oneof(
          { weight: 9, arbitrary: fc.constant('application/json') },
          { weight: 1, arbitrary: contentType },
        ),
      })
      .map(({ path, body, method, authorization, contentType }) => {
        const headers: Record<string, string> = {};
        if (authorization !== undefined)
          headers.authorization = authorization === 'valid' ? `Bearer ${apiKey}` : authorization;
        if (contentType !== undefined && body.length > 0) headers['content-type'] = contentType;
        return { route: r.route, method, path, headers, body };
      });
  });
}

/** Raw bytes to a TCP socket that no HTTP parser may accept as a request. */
export const rawGarbage: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .uint8Array({ minLength: 1, maxLength: 300 })
    .map((b) => Buffer.concat([Buffer.from([0x00]), Buffer.from(b), text('\r\n\r\n')])),
  fc.string({ maxLength: 100 }).map((s) => text(`${s.replace(/[A-Z]/g, '')}\u0001 / HTTP/1.1\r\n\r\n`)),
  fc
    .constantFrom(
      'GET / HTTP/9.9\r\n\r\n',
      'GET /v1/notifications HTTP/1.1\r\nHost: x\r\nX: a\u0000b\r\n\r\n',
      'POST /v1/notifications HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
      'POST /v1/notifications HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n',
      'POST /v1/notifications HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'POST /v1/notifications HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
      'GET /\u00ff HTTP/1.1\r\n\r\n',
      'GET / HTTP/1.1\r\n' + 'X: y\r\n'.repeat(5000) + '\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\n Folded: header\r\n\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    )
    .map(text),
);

export interface HostileAmqpMessage {
  routingKey: string;
  content: Buffer;
  contentType: string | undefined;
  /** What makes it invalid, for failure messages. */
  kind: string;
}

const validRoutingKey = fc.constantFrom('notification.hostile.test', 'channel.news.sport');

const oddRoutingKey = fc.oneof(
  fc.constantFrom(
    '',
    'notification',
    'notification.',
    'channel',
    'channel.',
    'channel.bad name',
    'channel.a..b',
    'channel.' + 'a'.repeat(240),
    'NOTIFICATION.x',
    'user.alice',
    '#',
    '*.x',
    'notification.\u00e9t\u00e9',
  ),
  fc
    .string({ maxLength: 100 })
    .filter((k) => !k.startsWith('notification.') && !k.startsWith('channel.') && Buffer.byteLength(k) < 256),
);

const VALID_BODY = '{"userId":"alice","data":{"ok":true}}';

/**
 * Messages to notify.ingest that ingest must refuse, each for a reason of its own kind: not JSON, not
 * an object, a schema violation (always an unknown field, whatever else it holds), a lone surrogate,
 * too deep, over the size limit (`limitBytes`), an odd routing key (with a body that would be valid).
 */
export function hostileAmqpMessage(limitBytes: number): fc.Arbitrary<HostileAmqpMessage> {
  const jsonType = fc.constantFrom<string | undefined>('application/json', 'application/json', undefined);
  const oddType = fc.constantFrom<string | undefined>(
    'text/plain',
    'application/octet-stream',
    'application/json; charset=utf-16',
    '',
  );
  const msg = (kind: string, key: fc.Arbitrary<string>, body: fc.Arbitrary<Buffer>, type = jsonType) =>
    fc.record({ routingKey: key, content: body, contentType: type }).map((m) => ({ ...m, kind }));
  const surrogateBody = fc
    .tuple(
      fc.constantFrom('data', 'title', 'body', 'topic'),
      fc.constantFrom('\\ud800', '\\udfff', 'a\\udbffb'),
    )
    .map(([f, s]) =>
      text(`{"userId":"alice",${JSON.stringify(f)}:${f === 'data' ? `{"${s}":"${s}"}` : `"${s}"`}}`),
    );
  return fc.oneof(
    msg(
      'not JSON',
      validRoutingKey,
      hostileBytes.map((b) => Buffer.concat([text('\u0001'), b])),
    ),
    msg(
      'not an object',
      validRoutingKey,
      fc
        .oneof(
          fc.constantFrom('[]', '[{}]', '1', '"text"', 'null', 'true', '1e400'),
          fc.json().filter((j) => !j.startsWith('{')),
        )
        .map(text),
    ),
    msg(
      'wrong schema',
      validRoutingKey,
      hostileJsonText
        .filter((j) => j.startsWith('{'))
        .map((j) => text(`{"zz_unknown":true,${j.slice(1)}`.replace(',}', '}'))),
    ),
    msg('lone surrogate', validRoutingKey, surrogateBody),
    msg(
      'too deep',
      validRoutingKey,
      fc
        .integer({ min: 32, max: 20_000 })
        .map((levels) => text(`{"userId":"alice","data":${deepJson(levels, 'object')}}`)),
    ),
    {
      weight: 1,
      arbitrary: msg(
        'oversize',
        validRoutingKey,
        fc.constant(text(`{"userId":"alice","title":"${'x'.repeat(limitBytes)}"}`)),
      ),
    },
    msg('odd routing key', oddRoutingKey, fc.constant(text(VALID_BODY))),
    msg(
      'wrong content type',
      validRoutingKey,
      fc.oneof(
        surrogateBody,
        hostileBytes.map((b) => Buffer.concat([text('\u0001'), b])),
      ),
      oddType,
    ),
  );
}
