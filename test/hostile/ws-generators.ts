import { randomUUID } from 'node:crypto';
import fc from 'fast-check';

/**
 * fast-check generators of hostile v1 client input: every client frame type with each field valid,
 * missing or replaced by a hostile value, then sent as text, binary, fragmented, mutated or as raw
 * garbage. Everything here keeps the connection open by the protocol (docs/protocol.md, Frames);
 * the frames that end it are `Terminal`.
 */

/** JSON text spliced into a frame as is, for what JSON.stringify cannot write (1e999, -0, deep nesting). */
class RawJson {
  constructor(readonly text: string) {}
}

export function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`,
    );
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const numberTexts = [
  '1e999',
  '-1e999',
  '-0',
  '1.0',
  '0.5',
  '1e-400',
  '9007199254740993',
  '1E2',
  '-9007199254740992',
];
/** Not JSON at all: the frame they sit in is invalid JSON. */
const notJsonTexts = ['NaN', 'Infinity', '-Infinity', '0x10', '01', '+1', '.5', 'undefined', "'x'"];

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    -1,
    2 ** 53,
    2 ** 53 - 1,
    -(2 ** 53),
    1.5,
    1e308,
    -1e308,
    Number.MIN_VALUE,
    2 ** 31,
    2 ** 63,
  ),
  fc.constantFrom(...numberTexts).map((t) => new RawJson(t)),
);

const unicodeEdges = [
  '',
  '\u0000',
  '\uFEFF',
  '\uD800',
  '\uDFFF',
  '\uDBFF\uDFFF',
  '\u202Etxt',
  'e\u0301',
  '\u2028\u2029',
  '𝕏'.repeat(40),
  'ǅ',
  '\u0085',
];

export const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(...unicodeEdges),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'),
);

/** Nested `depth` levels deep: arrays or objects, kept well under the 16 KiB frame limit. */
const deepNesting = fc
  .tuple(fc.integer({ min: 1, max: 1500 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? new RawJson('['.repeat(depth) + ']'.repeat(depth))
      : new RawJson('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  );

const prototypeObject = fc.constantFrom(
  new RawJson('{"__proto__":{"isAdmin":true,"seq":1}}'),
  new RawJson('{"constructor":{"prototype":{"polluted":true}}}'),
  new RawJson('{"__proto__":null}'),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  hostileString,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  deepNesting,
  prototypeObject,
  fc.array(hostileNumber, { maxLength: 5 }),
);

const uuid = fc.uuid();
const seq = fc.oneof(fc.nat(), fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER));
export const hostileChannel = fc.oneof(
  fc.constantFrom(
    'public.news',
    'public.status',
    'team.42',
    'team.42.ops',
    'private.fuzz',
    'user.victim',
    'team',
    'public',
    'public.*',
    'public.#',
    '*',
    '#',
    '',
    '.',
    'a..b',
    'public.',
    '.public',
    `public.${'a'.repeat(65)}`,
    `public.${'a.'.repeat(8)}x`,
    `public.${'a'.repeat(200)}`,
    'public. x',
    'public.\u0000',
    'public.é',
    'public.__proto__',
    '__proto__',
    'constructor',
    'c:public.news',
  ),
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^public\.[a-z0-9_-]{1,12}$/),
);

const FIELDS: Record<string, [string, fc.Arbitrary<unknown>][]> = {
  ack: [['seq', seq]],
  read: [
    [
      'ids',
      fc.oneof(fc.array(uuid, { minLength: 1, maxLength: 256 }), fc.array(hostileString, { maxLength: 4 })),
    ],
    ['upTo', seq],
  ],
  history: [
    ['before', seq],
    ['limit', fc.integer({ min: 0, max: 101 })],
    ['unreadOnly', fc.boolean()],
  ],
  subscribe: [
    ['channel', hostileChannel],
    ['since', seq],
  ],
  unsubscribe: [['channel', hostileChannel]],
  ping: [],
  preferences: [
    ['mutedTopics', fc.array(fc.constantFrom('marketing.*', 'a.b', 'x', 'a.**', ''), { maxLength: 3 })],
    [
      'quietHours',
      fc.option(
        fc.record({
          start: fc.constantFrom('22:00', '07:00', '24:00'),
          end: fc.constantFrom('07:00', '23:59', '7:00'),
          timeZone: fc.constantFrom('UTC', 'Europe/Berlin', 'Nowhere/Land'),
        }),
        { nil: null },
      ),
    ],
  ],
};
export const CLIENT_FRAME_TYPES = Object.keys(FIELDS);

const field = ([name, valid]: [string, fc.Arbitrary<unknown>]) =>
  fc
    .option(fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: hostileValue }), {
      nil: undefined,
    })
    .map((v) => [name, v] as const);

/** One client frame object: right or wrong type, each field valid, hostile or missing, maybe extra keys. */
export const frameObject: fc.Arbitrary<Record<string, unknown>> = fc
  .constantFrom(...CLIENT_FRAME_TYPES)
  .chain((type) =>
    fc
      .record({
        type: fc.oneof(
          { weight: 9, arbitrary: fc.constant<unknown>(type) },
          { weight: 1, arbitrary: hostileValue },
        ),
        fields: fc.tuple(...FIELDS[type].map(field)),
        ref: fc.option(fc.oneof(fc.string({ maxLength: 64 }), hostileValue), { nil: undefined }),
        extra: fc.option(fc.dictionary(hostileString, hostileValue, { maxKeys: 3 }), { nil: undefined }),
      })
      .map(({ type: t, fields, ref: r, extra }) => {
        const frame: Record<string, unknown> = {};
        if (extra)
          for (const [k, v] of Object.entries(extra))
            Object.defineProperty(frame, k, {
              value: v,
              enumerable: true,
              writable: true,
              configurable: true,
            });
        frame.type = t;
        for (const [name, value] of fields) if (value !== undefined) frame[name] = value;
        if (r !== undefined) frame.ref = r;
        return frame;
      }),
  );

/** What one fuzz step sends: a data frame (whole or fragmented) or a control frame. */
export type FuzzFrame =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'fragments'; parts: string[] }
  | { kind: 'ping' | 'pong'; data: Uint8Array };

/** Splits `text` at up to three generated cut points (fragments may be empty). */
const fragmentsOf = (text: string) =>
  fc.array(fc.nat({ max: Math.max(0, text.length) }), { minLength: 1, maxLength: 3 }).map((cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), text.length];
    return points.slice(1).map((end, i) => text.slice(points[i], end));
  });

/** A frame's JSON with bytes cut, inserted or replaced: mostly invalid JSON, sometimes still valid. */
const mutatedText = fc
  .tuple(frameObject.map(toJson), fc.nat(), fc.nat(), fc.string({ maxLength: 4 }))
  .map(([text, at, cut, insert]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + (cut % 4));
  });

/** Valid JSON padded near the limit (`limit` bytes or a little under), the biggest frames still handled. */
const paddedFrame = (limit: number) =>
  fc.tuple(frameObject, fc.integer({ min: 0, max: 64 })).map(([frame, slack]) => {
    const base = toJson({ ...frame, pad: '' });
    const pad = Math.max(0, limit - Buffer.byteLength(base) - slack);
    return toJson({ ...frame, pad: 'p'.repeat(pad) });
  });

export function fuzzFrame(limit: number): fc.Arbitrary<FuzzFrame> {
  const text = (a: fc.Arbitrary<string>) => a.map((data): FuzzFrame => ({ kind: 'text', data }));
  // Generated fields add up past the limit now and then (256 ids and a deep nesting): those are
  // the terminal over-limit case's, not the stream's.
  const fits = (f: FuzzFrame): boolean =>
    f.kind !== 'text' && f.kind !== 'fragments'
      ? f.data.byteLength <= limit
      : Buffer.byteLength(f.kind === 'text' ? f.data : f.parts.join('')) <= limit;
  return fc
    .oneof(
      { weight: 50, arbitrary: text(frameObject.map(toJson)) },
      {
        weight: 8,
        arbitrary: frameObject.map((f): FuzzFrame => ({ kind: 'binary', data: Buffer.from(toJson(f)) })),
      },
      { weight: 10, arbitrary: text(mutatedText) },
      {
        weight: 4,
        arbitrary: text(
          fc.oneof(fc.string(), fc.constantFrom(...notJsonTexts), fc.string({ unit: 'binary' })),
        ),
      },
      {
        weight: 4,
        arbitrary: fc.uint8Array({ maxLength: 300 }).map((data): FuzzFrame => ({ kind: 'binary', data })),
      },
      {
        weight: 6,
        arbitrary: frameObject
          .map(toJson)
          .chain(fragmentsOf)
          .map((parts): FuzzFrame => ({ kind: 'fragments', parts })),
      },
      {
        weight: 3,
        arbitrary: fc.uint8Array({ maxLength: 125 }).map((data): FuzzFrame => ({ kind: 'ping', data })),
      },
      {
        weight: 2,
        arbitrary: fc.uint8Array({ maxLength: 125 }).map((data): FuzzFrame => ({ kind: 'pong', data })),
      },
      { weight: 1, arbitrary: text(paddedFrame(limit)) },
    )
    .filter(fits);
}

/** How a fuzz connection ends, and the close code docs/protocol.md promises for it. */
export type Terminal = 'client-close' | 'invalid-utf8-text' | 'over-limit' | 'over-ceiling';
export const terminal = fc.constantFrom<Terminal>(
  'client-close',
  'client-close',
  'invalid-utf8-text',
  'over-limit',
  'over-ceiling',
);

export const fuzzConnection = (limit: number, frames: number) =>
  fc.record({ frames: fc.array(fuzzFrame(limit), { minLength: frames, maxLength: frames }), terminal });

/** A ref no generated frame carries, to mark the end of a run. */
export const endMarker = (): string => `end-${randomUUID()}`;
