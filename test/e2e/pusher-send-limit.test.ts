import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import {
  PUSHER_TEST_APPS,
  PusherRawClient,
  pusherServerOf,
  pusherSigner,
  startCluster,
  type TestCluster,
} from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SEND_LIMIT = 16 * 1024;
const CHANNEL = 'presence-crowded';

/**
 * A subscribe whose own answer overflows the socket's send buffer closes the socket while the
 * gateway is still subscribing it: nothing of that subscription may stay behind it.
 */
describe('Pusher: a subscription_succeeded over the send limit', () => {
  let cluster: TestCluster;
  let server: Pusher;
  const clients: PusherRawClient[] = [];
  before(async () => {
    cluster = await startCluster({
      gateways: 1,
      env: { NOTIFY_PUSHER_APPS: PUSHER_TEST_APPS, NOTIFY_MAX_BACKPRESSURE_BYTES: String(SEND_LIMIT) },
    });
    server = pusherServerOf(cluster);
  });
  after(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  });

  const counts = async (): Promise<{
    occupied?: boolean;
    subscription_count?: number;
    user_count?: number;
  }> => {
    const res = await server.get({
      path: `/channels/${CHANNEL}`,
      params: { info: 'subscription_count,user_count' },
    });
    return (await res.json()) as Awaited<ReturnType<typeof counts>>;
  };

  it('closes that socket and leaves no subscriber, member or occupancy of it', async () => {
    // Each member's user_info is ~1 KiB: the members hash outgrows 16 KiB after about 16 of them.
    const userInfo = { bio: 'x'.repeat(900) };
    let joined = 0;
    let refused: PusherRawClient | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const c = await PusherRawClient.established(cluster.gateways[0].port);
      clients.push(c);
      const auth = pusherSigner.authorizeChannel(c.socketId, CHANNEL, {
        user_id: `member-${i}`,
        user_info: userInfo,
      });
      c.send({ event: 'pusher:subscribe', data: { channel: CHANNEL, ...auth } });
      const answer = await Promise.race([
        c.next('pusher_internal:subscription_succeeded', 10_000).then(() => 'joined' as const),
        c.closed.then(() => 'closed' as const),
      ]);
      if (answer === 'joined') joined++;
      else refused = c;
    }
    assert.ok(refused, 'the members hash outgrew the send limit');
    assert.ok(joined >= 10, `${joined} joined first`);

    // Occupancy is written every 200 ms: give a leaked count time to be written, then read.
    await sleep(1_000);
    const deadline = Date.now() + 10_000;
    let last = await counts();
    while ((last.subscription_count !== joined || last.user_count !== joined) && Date.now() < deadline) {
      await sleep(100);
      last = await counts();
    }
    assert.deepEqual(last, { occupied: true, subscription_count: joined, user_count: joined });

    // The members still there see no trace of it either: the next one to leave is announced as usual.
    const [first] = clients;
    const second = clients[1];
    first.close();
    assert.equal(
      JSON.parse(String((await second.next('pusher_internal:member_removed')).data)).user_id,
      'member-0',
    );
  });
});
