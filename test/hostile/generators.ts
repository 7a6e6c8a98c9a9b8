import { gzipSync } from 'node:zlib';
import fc from 'fast-check';

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
const field = fc.constantFrom(
  ...'userId userIds topic title body data ttlSeconds idempotencyKey channel'.split(' '),
);

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

/** A notification (or channel message) with some fields replaced by odd values or odd keys added. */
const mutatedBody: fc.Arbitrary<string> = fc
  .tuple(fc.dictionary(fc.oneof(field, protoKey), oddValue, { maxKeys: 5 }), fc.boolean())
  .map(([fields, withBase]) => {
    const base = withBase ? ['"userId":"alice"', '"topic":"hostile.test"'] : [];
    return `{${[...base, ...Object.entries(fields).map(([k, v]) => `${JSON.stringify(k)}:${v}`)].join(',')}}`;
  });

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
