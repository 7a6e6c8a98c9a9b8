import { MAX_DATA_BYTES, MAX_RECIPIENTS, MAX_TTL_SECONDS } from '@notify/contracts';

/**
 * Request bodies for comparing validators: valid bases of each body class, mutated with values that
 * break one rule or another, then sent through JSON as a body would be.
 */

/** Deterministic, so that a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const VALUES: unknown[] = [
  undefined,
  null,
  true,
  0,
  1,
  -1,
  1.5,
  MAX_TTL_SECONDS,
  MAX_TTL_SECONDS + 1,
  '',
  'a',
  'alice',
  'order.shipped',
  'public.status',
  'two words',
  'a..b',
  'nul\u0000here',
  'é€😀',
  'x'.repeat(129),
  'x'.repeat(300),
  'x'.repeat(5000),
  [],
  ['alice'],
  ['alice', 'bob'],
  ['alice', 'alice'],
  ['alice', 7],
  ['bad id'],
  Array.from({ length: MAX_RECIPIENTS + 1 }, (_, i) => `u${i}`),
  {},
  { a: 1, b: [true, null, 'x'] },
  { deep: { deeper: { deepest: 'v' } } },
  { text: 'nul\u0000' },
  { big: 'x'.repeat(MAX_DATA_BYTES) },
  JSON.parse('{"__proto__":{"polluted":true}}') as unknown,
  JSON.parse('{"nested":{"__proto__":1}}') as unknown,
  { constructor: 1, prototype: { a: 1 } },
  { list: [{ constructor: 'x' }] },
];

const FIELDS: Record<string, string[]> = {
  SendNotificationDto: [
    'userId',
    'userIds',
    'topic',
    'title',
    'body',
    'data',
    'idempotencyKey',
    'ttlSeconds',
  ],
  ChannelMessageDto: ['data', 'idempotencyKey'],
  AmqpChannelMessageDto: ['data', 'idempotencyKey', 'channel'],
};

const BASES: Record<string, Record<string, unknown>[]> = {
  SendNotificationDto: [
    { userId: 'alice', topic: 'order.shipped' },
    {
      userIds: ['alice', 'bob'],
      topic: 'order.shipped',
      title: 'Shipped',
      body: 'On its way',
      data: { t: 1 },
    },
    { userId: 'w1-42', topic: 'bench', title: 'Benchmark', body: 'y'.repeat(120), data: { t: 1.5 } },
    { userId: 'bob', topic: 'a', idempotencyKey: 'k-1', ttlSeconds: 60 },
  ],
  ChannelMessageDto: [{ data: { status: 'ok' } }, { data: 'text', idempotencyKey: 'k' }, { data: [1, 2] }],
  AmqpChannelMessageDto: [{ data: { status: 'ok' } }, { data: 0, channel: 'public.status' }],
};

/** Whether some object in the value, at any depth, has this own key. */
export const hasKeyDeep = (value: unknown, key: string): boolean =>
  typeof value === 'object' &&
  value !== null &&
  (Object.keys(value).includes(key) || Object.values(value).some((v) => hasKeyDeep(v, key)));

/** A base, then 0–3 fields set to pool values, removed, or an unknown field added. */
function variant(cls: string, next: () => number): Record<string, unknown> {
  const bases = BASES[cls];
  const fields = FIELDS[cls];
  const body: Record<string, unknown> = { ...bases[Math.floor(next() * bases.length)] };
  const edits = Math.floor(next() * 4);
  for (let e = 0; e < edits; e++) {
    const r = next();
    const field = fields[Math.floor(next() * fields.length)];
    if (r < 0.15) delete body[field];
    else if (r < 0.2) body[`extra${e}`] = 1;
    else body[field] = VALUES[Math.floor(next() * VALUES.length)];
  }
  // Through JSON, as a body arrives: undefined fields vanish, `__proto__` becomes an own key.
  return JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
}

/** `count` bodies for the body class named `cls`, the same for the same seed. */
export function validationCorpus(cls: string, count: number, seed: number): Record<string, unknown>[] {
  const next = random(seed);
  return Array.from({ length: count }, () => variant(cls, next));
}
