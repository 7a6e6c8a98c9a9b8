import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  pusherRequest,
  startCluster,
  TEST_PUSHER_APP,
  TEST_PUSHER_APPS,
  type SignedRequest,
  type TestCluster,
} from '@notify/testing';
import { hostileBody, percentEncoded } from './generators';

/**
 * Hostile input to the Pusher HTTP API, correctly signed (so every request reaches the validation
 * behind the signature check): malformed bodies, one broken field in an otherwise valid event, odd
 * query values and channel names. Each answer is a 4xx (or a 200 where the input may be valid), never
 * a 5xx, and nothing malformed is stored.
 */
const RUNS = 300;
const seed = Number(process.env.NOTIFY_HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));

const valid = { name: 'e', data: '{}', channels: ['news'] };
const oddValue = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  fc.string({ maxLength: 20 }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);
/** A name that breaks PUSHER_CHANNEL_PATTERN: empty, too long, or with a character outside it. */
const badChannel = fc.oneof(
  fc.constant(''),
  fc.constant('x'.repeat(165)),
  fc
    .tuple(
      fc.string({ maxLength: 10 }),
      fc.constantFrom(' ', '/', ':', '#', '*', 'é', '\u0000', '\ud800', '"'),
    )
    .map(([s, c]) => `${s}${c}`),
);
/** An otherwise valid event with exactly one field made invalid. */
const brokenEvent = fc.oneof(
  oddValue.filter((v) => typeof v !== 'string' || v === '').map((name) => ({ ...valid, name })),
  fc
    .constantFrom('n'.repeat(201), 'pusher:x', 'pusher_internal:y', 'a\u0000b', 'e\udc00')
    .map((name) => ({ ...valid, name })),
  oddValue.filter((v) => typeof v !== 'string').map((data) => ({ ...valid, data })),
  fc.constant({ ...valid, data: 'x'.repeat(10_241) }),
  fc.constant({ ...valid, data: 'a\u0000' }),
  fc.constant({ ...valid, data: '\ud800' }),
  oddValue.filter((v) => !Array.isArray(v) || v.length === 0).map((channels) => ({ ...valid, channels })),
  badChannel.map((c) => ({ ...valid, channels: ['ok', c] })),
  fc.constant({ ...valid, channels: Array.from({ length: 101 }, (_, i) => `c${i}`) }),
  fc.constant({ name: 'e', data: '{}' }),
  oddValue
    .filter((v) => typeof v !== 'string' || !/^\d+\.\d+$/.test(v))
    .map((s) => ({ ...valid, socket_id: s })),
  fc
    .string({ minLength: 1, maxLength: 20 })
    .filter((s) => !/^(user_count|subscription_count)(,|$)/.test(s))
    .map((info) => ({ ...valid, info })),
);

/** The event as a batch entry (`channel`); any other `channels` is kept, which a batch entry may not have. */
function asBatchEntry(event: Record<string, unknown>): Record<string, unknown> {
  const { channels, ...rest } = event;
  return Array.isArray(channels) && channels.length === 1 ? { ...rest, channel: channels[0] } : event;
}

/** Every byte percent-encoded (a lone surrogate becomes U+FFFD's bytes); `%ff` stays invalid UTF-8. */
const pathSegment = (s: string): string => (s === '%ff' ? s : percentEncoded(s));

describe('hostile input to the Pusher HTTP API', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 0, env: { NOTIFY_PUSHER_APPS: TEST_PUSHER_APPS } });
  });
  after(async () => cluster?.stop());

  const send = (r: SignedRequest) => pusherRequest(cluster.ingestUrl, TEST_PUSHER_APP, r);

  it('refuses a lone surrogate in a name or data with 400, and a batch holding one whole', async () => {
    // Refused by ingest's validation pipe (unstorableFields), which sees the body once the guard has
    // parsed it: PostgreSQL's jsonb cannot hold one, and a batch must not be stored in part.
    const cases: [string, string][] = [
      ['/events', '{"name":"e","data":"\\ud800","channel":"c"}'],
      ['/events', '{"name":"e\\udfff","data":"{}","channels":["c","d"]}'],
      [
        '/batch_events',
        '{"batch":[{"name":"ok","data":"","channel":"fine"},{"name":"e","data":"x\\ud800","channel":"c"}]}',
      ],
    ];
    for (const [path, body] of cases) {
      const answer = await send({ method: 'POST', path, body });
      assert.equal(answer.status, 400, `${body}: ${answer.text}`);
      assert.match(answer.text, /lone UTF-16 surrogate/);
    }
    const rows = await cluster.db.query<{ n: string }>('SELECT count(*) AS n FROM channel_messages');
    assert.equal(Number(rows[0]?.n), 0, 'nothing was stored');
  });

  it(`refuses ${RUNS} malformed signed bodies and ${RUNS} broken events with a 4xx, storing nothing`, async (t) => {
    const statuses = new Map<number, number>();
    const count = (s: number): void => void statuses.set(s, (statuses.get(s) ?? 0) + 1);
    await fc.assert(
      fc.asyncProperty(hostileBody, fc.constantFrom('/events', '/batch_events'), async (body, path) => {
        const answer = await send({ method: 'POST', path, body });
        count(answer.status);
        assert.ok(
          answer.status >= 400 && answer.status < 500,
          `${answer.status}: ${answer.text.slice(0, 300)}`,
        );
      }),
      { numRuns: RUNS, seed, endOnFailure: true },
    );
    await fc.assert(
      fc.asyncProperty(brokenEvent, fc.boolean(), async (event: Record<string, unknown>, batched) => {
        const body = JSON.stringify(
          batched ? { batch: [{ name: 'ok', data: '', channel: 'fine' }, asBatchEntry(event)] } : event,
        );
        const answer = await send({ method: 'POST', path: batched ? '/batch_events' : '/events', body });
        count(answer.status);
        assert.ok(
          answer.status >= 400 && answer.status < 500,
          `${answer.status} for ${body.slice(0, 200)}: ${answer.text}`,
        );
      }),
      { numRuns: RUNS, seed, endOnFailure: true },
    );
    const rows = await cluster.db.query<{ n: string }>('SELECT count(*) AS n FROM channel_messages');
    assert.equal(Number(rows[0]?.n), 0, 'nothing was stored');
    t.diagnostic(`seed ${seed}; statuses ${JSON.stringify([...statuses].sort((a, b) => a[0] - b[0]))}`);
  });

  it(`answers ${RUNS} odd queries and channel paths with 200 or a 4xx`, async () => {
    const query = fc.record(
      { info: fc.string({ maxLength: 40 }), filter_by_prefix: fc.string({ maxLength: 40 }) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        query,
        fc.oneof(fc.string({ maxLength: 30 }), badChannel, fc.constant('%ff')),
        async (params, channel) => {
          const paths = [
            '/channels',
            `/channels/${pathSegment(channel)}`,
            `/channels/${pathSegment(channel)}/users`,
          ];
          for (const path of paths) {
            const answer = await send({ method: 'GET', path, params });
            assert.ok(
              answer.status === 200 || (answer.status >= 400 && answer.status < 500),
              `${answer.status} for ${path} ${JSON.stringify(params)}: ${answer.text.slice(0, 300)}`,
            );
          }
          // A segment of one or two dots (even as %2e) is removed by every URL parser before the request
          // leaves (RFC 3986 §5.2.4, WHATWG URL): no client can send it, so the signed path would differ.
          if (/^\.{1,2}$/.test(channel)) return;
          const terminate = await send({
            method: 'POST',
            path: `/users/${pathSegment(channel)}/terminate_connections`,
            body: '{}',
          });
          assert.ok(
            terminate.status === 200 || terminate.status === 400 || terminate.status === 404,
            `${terminate.status}: ${terminate.text}`,
          );
        },
      ),
      { numRuns: RUNS, seed, endOnFailure: true },
    );
    assert.equal(cluster.ingest.child.exitCode, null, 'ingest is alive');
  });

  it(`answers ${RUNS} hostile signed bodies to terminate_connections with 200 or a 4xx`, async () => {
    // The body is not used, but it is read, checked against body_md5 and parsed like any other.
    await fc.assert(
      fc.asyncProperty(hostileBody, async (body) => {
        const answer = await send({ method: 'POST', path: '/users/alice/terminate_connections', body });
        assert.ok(
          answer.status === 200 || (answer.status >= 400 && answer.status < 500),
          `${answer.status} for ${body.toString('latin1').slice(0, 200)}: ${answer.text.slice(0, 300)}`,
        );
      }),
      { numRuns: RUNS, seed, endOnFailure: true },
    );
    assert.equal(cluster.ingest.child.exitCode, null, 'ingest is alive');
  });
});
