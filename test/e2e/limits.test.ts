import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '@notify/protocol';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import {
  request,
  signToken,
  startCluster,
  TEST_API_KEY,
  TestClient,
  UpgradeRejected,
  type TestCluster,
} from '@notify/testing';

const MAX_PAYLOAD_BYTES = 1024;
const BODY_LIMIT_BYTES = 8192;

describe('per-connection and per-user limits', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({
      gateways: 1,
      env: {
        NOTIFY_MAX_FRAMES_PER_SECOND: '5',
        NOTIFY_MAX_CONNECTIONS_PER_USER: '2',
        NOTIFY_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
        NOTIFY_MAX_SUBSCRIPTIONS: '2',
        NOTIFY_BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
        NOTIFY_MAX_RECIPIENTS: '3',
      },
    });
  });
  after(async () => cluster?.stop());

  const connect = async (user: string, device: string): Promise<TestClient> => {
    const c = await TestClient.connect(cluster.wsUrl(0, `device=${device}`), {
      authorization: `Bearer ${await signToken(user)}`,
    });
    await c.next('ready');
    return c;
  };

  it('refuses a user’s connection over the per-node limit with HTTP 429', async () => {
    const a = await connect('limited', 'a');
    const b = await connect('limited', 'b');
    await assert.rejects(
      connect('limited', 'c'),
      (err: unknown) => err instanceof UpgradeRejected && err.status === 429,
    );
    await a.close();
    const c = await connect('limited', 'c');
    await Promise.all([b.close(), c.close()]);
  });

  it('refuses frames over the rate with rate_limited, then closes a client that keeps going with 4429', async () => {
    const client = await connect('chatty', 'x');
    for (let i = 0; i < 6; i++) client.send({ type: 'ping', ref: String(i) });
    for (let i = 0; i < 5; i++) assert.equal((await client.next('pong')).ref, String(i));
    assert.equal((await client.next('error')).code, 'rate_limited');
    for (let i = 0; i < 10; i++) client.send({ type: 'ping' });
    assert.equal(await client.closed, CloseCode.RateLimited);
  });

  /** A ping of exactly `bytes` bytes (the decoder ignores the unknown field). */
  const frameOf = (bytes: number): string => {
    const empty = JSON.stringify({ type: 'ping', pad: '' });
    return JSON.stringify({ type: 'ping', pad: 'x'.repeat(bytes - empty.length) });
  };

  it('handles a frame of NOTIFY_MAX_PAYLOAD_BYTES and closes with 1009 over it', async () => {
    const client = await connect('wordy', 'x');
    assert.equal(Buffer.byteLength(frameOf(MAX_PAYLOAD_BYTES)), MAX_PAYLOAD_BYTES);
    client.send(frameOf(MAX_PAYLOAD_BYTES));
    await client.next('pong');
    client.send(frameOf(MAX_PAYLOAD_BYTES + 1));
    assert.equal(await client.closed, CloseCode.MessageTooBig);
  });

  it('refuses a subscription over NOTIFY_MAX_SUBSCRIPTIONS with rate_limited, and keeps the others', async () => {
    const client = await connect('reader', 'x');
    for (const channel of ['public.a', 'public.b']) {
      client.send({ type: 'subscribe', channel, ref: channel });
      assert.equal((await client.next('subscribed')).channel, channel);
    }
    client.send({ type: 'subscribe', channel: 'public.c', ref: 'c' });
    const error = await client.next('error');
    assert.deepEqual([error.code, error.ref], ['rate_limited', 'c']);
    client.send({ type: 'unsubscribe', channel: 'public.a', ref: 'u' });
    assert.equal((await client.next('unsubscribed')).channel, 'public.a');
    client.send({ type: 'subscribe', channel: 'public.c', ref: 'c2' });
    assert.equal((await client.next('subscribed')).channel, 'public.c');
    await client.close();
  });

  it('refuses an ingest body over NOTIFY_BODY_LIMIT_BYTES with 413, and takes one below it', async () => {
    // `data` may hold 16 KiB, so both bodies are valid: only their size differs.
    const body = (bytes: number): string => {
      const empty = JSON.stringify({ userId: 'big', topic: 't', data: { pad: '' } });
      return JSON.stringify({ userId: 'big', topic: 't', data: { pad: 'x'.repeat(bytes - empty.length) } });
    };
    assert.equal((await cluster.post(body(BODY_LIMIT_BYTES))).status, 202);
    assert.equal((await cluster.post(body(BODY_LIMIT_BYTES + 1))).status, 413);
  });

  it('decodes a gzip, deflate or br body, and refuses one over the limit once decoded, an unknown encoding and a non-UTF-8 charset', async () => {
    const post = (body: Buffer, headers: Record<string, string>) =>
      request(`${cluster.ingestUrl}/v1/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', ...headers },
        body,
      });
    const json = (topic: string, pad = ''): Buffer =>
      Buffer.from(JSON.stringify({ userId: 'encoded', topic, data: { pad } }));
    for (const [encoding, encode] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
    ] as const) {
      const ok = await post(encode(json(`t.${encoding}`)), { 'content-encoding': encoding });
      assert.equal(ok.status, 202, `${encoding}: ${ok.text}`);
      assert.equal((JSON.parse(ok.text) as { results: unknown[] }).results.length, 1);
      // Well under the limit as sent, far over it once decoded.
      const bomb = encode(json('t.bomb', 'x'.repeat(BODY_LIMIT_BYTES * 4)));
      assert.ok(bomb.length < BODY_LIMIT_BYTES);
      const refused = await post(bomb, { 'content-encoding': encoding });
      assert.deepEqual(
        [refused.status, JSON.parse(refused.text).message],
        [413, `body exceeds ${BODY_LIMIT_BYTES} bytes once decoded`],
      );
    }
    const notGzip = await post(json('t.raw'), { 'content-encoding': 'gzip' });
    assert.deepEqual([notGzip.status, JSON.parse(notGzip.text).message], [400, 'body is not valid gzip']);
    assert.equal((await post(json('t.x'), { 'content-encoding': 'compress' })).status, 415);
    assert.equal(
      (await post(json('t.x'), { 'content-type': 'application/json; charset=latin1' })).status,
      415,
    );
    assert.equal((await post(json('t.x'), { 'content-type': 'text/plain' })).status, 415);
    assert.equal(
      (await post(json('t.x'), { 'content-type': 'application/json; charset=UTF-8' })).status,
      202,
    );
  });

  it('tells kept-alive ingest clients that an idle connection closes after 5 s (Keep-Alive: timeout=5)', async () => {
    const res = await fetch(`${cluster.ingestUrl}/healthz`, { headers: { connection: 'keep-alive' } });
    await res.arrayBuffer();
    assert.equal(res.headers.get('keep-alive'), 'timeout=5');
  });

  it('refuses more userIds than NOTIFY_MAX_RECIPIENTS with 400 on the field, and takes as many', async () => {
    const fields = (body: unknown): string[] =>
      ((body as { errors?: { field: string }[] }).errors ?? []).map((e) => e.field);
    const over = await cluster.post({ userIds: ['r1', 'r2', 'r3', 'r4'], topic: 't' });
    assert.deepEqual([over.status, fields(over.body)], [400, ['userIds']]);
    assert.equal((await cluster.post({ userIds: ['r1', 'r2', 'r3'], topic: 't' })).status, 202);
  });

  it('refuses more than 1000 userIds, the contract’s most, whatever the variable says', async () => {
    const userIds = Array.from({ length: 1001 }, (_, i) => `u${i}`);
    const res = await cluster.post({ userIds, topic: 't' });
    assert.equal(res.status, 400);
    const errors = (res.body as { errors?: { field: string }[] }).errors ?? [];
    assert.deepEqual(
      errors.map((e) => e.field),
      ['userIds'],
    );
  });
});
