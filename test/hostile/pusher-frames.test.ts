import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PUSHER_TEST_APPS, PusherRawClient, startCluster, type TestCluster } from '@notify/testing';
import { deepJson, hostileJsonText } from './generators';

const CONNECTIONS = 20;
const FRAMES = 40;
/** Beyond max(64 KiB, 4 × NOTIFY_MAX_PAYLOAD_BYTES) uWS drops the connection (documented; ws-framing tests it). */
const CEILING = 64 * 1024;
const seed = Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31);

/** Frames shaped like Pusher's, with every field wrong in some way, and plain hostile JSON. */
const hostilePusherFrame: fc.Arbitrary<string> = fc
  .oneof(
    hostileJsonText,
    fc
      .record({
        event: fc.oneof(
          fc.constantFrom(
            'pusher:subscribe',
            'pusher:unsubscribe',
            'pusher:signin',
            'pusher:ping',
            'pusher:pong',
          ),
          fc.constantFrom('client-x', `client-${'y'.repeat(300)}`, 'pusher_internal:subscription_succeeded'),
          fc.string(),
        ),
        channel: fc.oneof(
          fc.constantFrom('private-fuzz', 'fuzz', 'presence-fuzz', 'private-encrypted-f'),
          fc.jsonValue(),
        ),
        data: fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.record({
            channel: fc.oneof(fc.string(), fc.jsonValue()),
            auth: fc.string(),
            channel_data: fc.string(),
          }),
          fc.record({ auth: fc.string(), user_data: fc.oneof(fc.string(), fc.constant('{"id":""}')) }),
        ),
      })
      .map((f) => JSON.stringify(f)),
    fc
      .integer({ min: 100, max: 7_000 })
      .map(
        (levels) => `{"event":"client-deep","channel":"private-fuzz","data":${deepJson(levels, 'array')}}`,
      ),
    fc.constant('x'.repeat(20_000)),
  )
  .filter((frame) => Buffer.byteLength(frame) < CEILING);

describe('hostile Pusher frames: every one refused or handled, never a crash', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ env: { NOTIFY_PUSHER_APPS: PUSHER_TEST_APPS } });
  });
  after(async () => cluster?.stop());

  it(`answers ${CONNECTIONS} connections of ${FRAMES} hostile frames (seed ${seed}) and stays up`, async () => {
    const port = cluster.gateways[0].port;
    const samples = fc.sample(fc.array(hostilePusherFrame, { minLength: FRAMES, maxLength: FRAMES }), {
      numRuns: CONNECTIONS,
      seed,
    });
    for (const frames of samples) {
      const c = await PusherRawClient.established(port);
      await c.subscribe('private-fuzz');
      for (const frame of frames) c.send(frame);
      c.send({ event: 'pusher:ping', data: {} });
      // A refused sign-in ends the connection with 4009 (docs/pusher.md); anything else keeps it.
      const pong = await c.next('pusher:pong', 10_000).catch((err: Error) => err);
      if (pong instanceof Error) {
        assert.equal(c.closeCode, 4009, pong.message);
        assert.ok(
          c.frames.some((f) => f.event === 'pusher:error' && /signin|user_data/.test(JSON.stringify(f.data))),
        );
      }
      for (const f of c.frames) {
        assert.equal(typeof f.event, 'string');
        if (f.event === 'pusher:error') {
          const code = (f.data as { code: unknown }).code;
          assert.ok(code === null || code === 4301 || code === 4009, `error code ${String(code)}`);
        }
      }
      c.close();
    }
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    assert.equal(cluster.gateways[0].child.exitCode, null);
    assert.doesNotMatch(cluster.gateways[0].output(), /handler failed/, 'no exception reached the transport');
  });
});
