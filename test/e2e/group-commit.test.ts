import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_HEADER, Topology } from '@notify/amqp';
import { startCluster, type TestCluster } from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A histogram's `_sum` and `_count` for one label set, from a Prometheus text page. */
function histogram(text: string, name: string, labels: string): { sum: number; count: number } {
  const value = (suffix: string): number =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(`${name}_${suffix}{${labels}}`))
        ?.split(' ')
        .pop() ?? 0,
    );
  return { sum: value('sum'), count: value('count') };
}

describe('group commit (concurrent events share PostgreSQL writes)', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 0 });
  });
  after(async () => cluster?.stop());

  it('stores a burst of concurrent producers in shared writes, every user’s seqs still 1..N', async () => {
    const users = 10;
    const perUser = 30;
    const responses = await Promise.all(
      Array.from({ length: users * perUser }, (_, i) =>
        cluster.post({ userId: `burst-${i % users}`, topic: 'gc.burst', idempotencyKey: `k-${i}` }),
      ),
    );
    assert.deepEqual([...new Set(responses.map((r) => r.status))], [202]);
    const seqs = new Map<string, number[]>();
    for (const r of responses) {
      const [result] = (r.body as { results: { userId: string; seq: number }[] }).results;
      seqs.set(result.userId, [...(seqs.get(result.userId) ?? []), result.seq]);
    }
    for (const [user, list] of seqs)
      assert.deepEqual(
        list.sort((a, b) => a - b),
        Array.from({ length: perUser }, (_, i) => i + 1),
        user,
      );
    // A retry of every key returns the stored results, from shared writes too.
    const again = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        cluster.post({ userId: `burst-${i % users}`, topic: 'gc.burst', idempotencyKey: `k-${i}` }),
      ),
    );
    for (const [i, r] of again.entries())
      assert.deepEqual(
        (r.body as { results: { seq: number; duplicate?: boolean }[] }).results[0].seq,
        (responses[i].body as { results: { seq: number }[] }).results[0].seq,
      );
  });

  it('has a burst of AMQP events share PostgreSQL writes', async () => {
    const writes = async (): Promise<{ sum: number; count: number }> =>
      histogram(
        await (await fetch(`${cluster.ingestUrl}/metrics`)).text(),
        'notify_ingest_store_batch_items',
        'kind="notification"',
      );
    const before = await writes();
    const { channel } = await cluster.amqp();
    const events = 300;
    for (let i = 0; i < events; i++)
      channel.publish(
        Topology.ingestExchange,
        'notification.gc',
        Buffer.from(JSON.stringify({ userId: `amqp-burst-${i % 7}`, topic: 'gc.amqp' })),
        { contentType: 'application/json', messageId: `amqp-burst-${i}` },
      );
    await channel.waitForConfirms();
    let after = before;
    for (let i = 0; i < 100 && after.sum - before.sum < events; i++) {
      await sleep(100);
      after = await writes();
    }
    assert.equal(after.sum - before.sum, events, 'every event written once');
    const count = after.count - before.count;
    assert.ok(count <= events / 3, `${count} writes for ${events} events: a burst should share writes`);
  });

  it('numbers channel messages of concurrent publishers gap-free in shared writes', async () => {
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => cluster.publish('gc.channel', { data: { i } })),
    );
    assert.deepEqual([...new Set(responses.map((r) => r.status))], [202]);
    const offsets = responses.map((r) => (r.body as { offset: number }).offset).sort((a, b) => a - b);
    assert.deepEqual(
      offsets,
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    const metrics = await (await fetch(`${cluster.ingestUrl}/metrics`)).text();
    assert.ok(histogram(metrics, 'notify_ingest_store_batch_items', 'kind="channel"').count < 100);
  });

  it('refuses text PostgreSQL cannot store (U+0000) with a clear error, without failing its neighbours', async () => {
    const [badData, badTitle, ...good] = await Promise.all([
      cluster.post({ userId: 'nul-a', topic: 'gc.nul', data: { note: 'a\u0000b' } }),
      cluster.post({ userId: 'nul-b', topic: 'gc.nul', title: 'a\u0000b' }),
      ...Array.from({ length: 10 }, (_, i) => cluster.post({ userId: `nul-ok-${i}`, topic: 'gc.nul' })),
    ]);
    assert.equal(badData.status, 400);
    assert.match(JSON.stringify(badData.body), /data must not contain the character U\+0000/);
    assert.equal(badTitle.status, 400);
    assert.match(JSON.stringify(badTitle.body), /title must not contain the character U\+0000/);
    assert.deepEqual([...new Set(good.map((r) => r.status))], [202]);
    assert.equal((await cluster.publish('gc.nul', { data: 'x\u0000' })).status, 400);

    const { channel } = await cluster.amqp();
    channel.publish(
      Topology.ingestExchange,
      'notification.nul',
      Buffer.from(JSON.stringify({ userId: 'nul-amqp', topic: 'gc.nul', body: 'a\u0000b' })),
      { contentType: 'application/json', messageId: 'nul-1' },
    );
    await channel.waitForConfirms();
    let reason: string | undefined;
    for (let i = 0; i < 100 && reason === undefined; i++) {
      const message = await channel.get(Topology.invalidQueue, { noAck: true });
      if (message) reason = String(message.properties.headers?.[ERROR_HEADER]);
      else await sleep(100);
    }
    assert.match(reason ?? '', /body must not contain the character U\+0000/);
  });
});
