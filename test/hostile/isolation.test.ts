import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signToken, startCluster, TestClient, type TestCluster } from '@notify/testing';
import { undocumentedReply } from './server-frames';

/**
 * User A sends every client frame type carrying user B's notification ids, seqs and channels. None
 * may change B's read state, unread count, device cursor or subscriptions, and none of A's replies
 * may carry anything of B's.
 */
describe('isolation: one user’s frames cannot touch or reveal another’s', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 1, env: { NOTIFY_ACK_FLUSH_MS: '50' } });
  });
  after(async () => cluster?.stop());

  const connect = async (user: string, device: string, channels?: string[], query = '') => {
    const c = await TestClient.connect(cluster.wsUrl(0, `device=${device}${query}`), {
      authorization: `Bearer ${await signToken(user, channels ? { channels } : {})}`,
    });
    const ready = await c.next('ready');
    return { c, ready };
  };

  it('A’s ack, read, history, subscribe and unsubscribe with B’s ids, seqs and channels change and reveal nothing', async () => {
    // B: five notifications, device "phone" acked up to 2, notification 1 read, subscribed to private.b.
    const { c: phone } = await connect('victim-b', 'phone', ['private.b']);
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const res = await cluster.post({ userId: 'victim-b', topic: 'secret.topic', body: `secret ${i}` });
      ids.push((res.body as { results: { id: string }[] }).results[0].id);
    }
    for (let i = 1; i <= 5; i++) assert.equal((await phone.next('notification')).seq, i);
    phone.send({ type: 'ack', seq: 2 });
    phone.send({ type: 'read', ids: [ids[0]], ref: 'b-read' });
    assert.equal((await phone.next('read')).unread, 4);
    phone.send({ type: 'subscribe', channel: 'private.b', ref: 'b-sub' });
    await phone.next('subscribed');
    await new Promise((r) => setTimeout(r, 300)); // the ack flush
    await phone.close();
    const { c: watch } = await connect('victim-b', 'watch', ['private.b']);
    watch.send({ type: 'subscribe', channel: 'private.b' });
    await watch.next('subscribed');

    // A: the same device name, a token without B's channel, and B's identifiers in every frame.
    const { c: a, ready: aReady } = await connect('attacker-a', 'phone', ['team.*'], '&since=5');
    assert.deepEqual([aReady.lastSeq, aReady.unread], [0, 0]);
    const attacks: object[] = [
      { type: 'read', ids },
      { type: 'read', ids: ids.slice(1) },
      { type: 'read', upTo: 5 },
      { type: 'read', upTo: Number.MAX_SAFE_INTEGER },
      { type: 'ack', seq: 5 },
      { type: 'ack', seq: 2 ** 40 },
      { type: 'ack', seq: 0 },
      { type: 'history' },
      { type: 'history', before: 6, limit: 100 },
      { type: 'history', unreadOnly: true },
      { type: 'subscribe', channel: 'private.b' },
      { type: 'subscribe', channel: 'private.b', since: 0 },
      { type: 'subscribe', channel: 'user.victim-b' },
      { type: 'unsubscribe', channel: 'private.b' },
      { type: 'read', ids: [ids[2]], userId: 'victim-b' },
      { type: 'history', userId: 'victim-b', deviceId: 'phone' },
    ];
    attacks.forEach((frame, i) => a.send({ ...frame, ref: `a${i}` }));
    // Every attack is answered (the store ones asynchronously) except the silent ack a6.
    const answered = (): number =>
      new Set(a.frames.map((f) => (f as { ref?: string }).ref).filter((r) => r?.startsWith('a'))).size;
    for (let waited = 0; answered() < attacks.length - 1 && waited < 5000; waited += 20)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(answered(), attacks.length - 1, JSON.stringify(a.frames));

    // A's replies: documented, about A only, nothing of B's.
    const replies = JSON.stringify(a.frames);
    for (const secret of [...ids, 'secret']) assert.ok(!replies.includes(secret), secret);
    for (const f of a.frames) assert.equal(undocumentedReply(f), null, JSON.stringify(f));
    const byRef = new Map(a.frames.map((f) => [(f as { ref?: string }).ref, f]));
    for (const i of [0, 1, 2, 3, 14])
      assert.deepEqual(byRef.get(`a${i}`), { type: 'read', ids: [], unread: 0, asOfSeq: 0, ref: `a${i}` });
    for (const i of [4, 5]) assert.equal((byRef.get(`a${i}`) as { code?: string }).code, 'bad_request');
    assert.equal(byRef.get('a6'), undefined, 'an ack at the resume point is accepted silently');
    for (const i of [7, 8, 9, 15]) assert.deepEqual((byRef.get(`a${i}`) as { items?: unknown[] }).items, []);
    for (const i of [10, 11]) assert.equal((byRef.get(`a${i}`) as { code?: string }).code, 'forbidden');
    assert.equal((byRef.get('a12') as { code?: string }).code, 'forbidden');
    assert.equal((byRef.get('a13') as { code?: string }).code, 'not_found');

    // B: no read broadcast, still subscribed, still fed; nothing of B's reached A.
    assert.equal(await cluster.publish('private.b', { data: { for: 'b' } }).then((r) => r.status), 202);
    assert.deepEqual((await watch.next('message')).data, { for: 'b' });
    await cluster.post({ userId: 'victim-b', topic: 'secret.topic', body: 'secret 6' });
    assert.equal((await watch.next('notification')).seq, 6);
    assert.deepEqual(
      watch.frames.filter((f) => f.type === 'read'),
      [],
      'A’s reads changed nothing of B’s',
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!a.frames.some((f) => f.type === 'notification' || f.type === 'message'));

    // B's state as B sees it: unread 5 (6 minus the one B read), read state, cursor 2.
    const { c: again, ready } = await connect('victim-b', 'phone', ['private.b']);
    assert.deepEqual([ready.lastSeq, ready.unread], [6, 5]);
    const replayed = [];
    for (let i = 0; i < 4; i++) replayed.push((await again.next('notification')).seq);
    assert.deepEqual(replayed, [3, 4, 5, 6], 'the cursor is still 2');
    again.send({ type: 'history', limit: 100 });
    const page = await again.next('history');
    assert.deepEqual(
      page.items.map((n) => [n.seq, n.readAt !== null]),
      [6, 5, 4, 3, 2, 1].map((seq) => [seq, seq === 1]),
    );
    await Promise.all([a.close(), watch.close(), again.close()]);
  });
});
