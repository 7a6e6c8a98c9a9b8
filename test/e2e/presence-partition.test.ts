import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  management,
  PresenceView,
  signToken,
  startCluster,
  TEST_API_KEY,
  TestClient,
  type TestCluster,
} from '@notify/testing';

const TTL_S = 2;

describe('presence of a node cut off from the broker', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({
      gateways: 2,
      env: { NOTIFY_PRESENCE_TTL_S: String(TTL_S), NOTIFY_NODE_TTL_MS: String(TTL_S * 1000) },
    });
  });
  after(async () => {
    await grant().catch(() => undefined);
    await cluster?.stop();
  });

  const vhost = () => encodeURIComponent(cluster.vhost.name);
  const grant = () =>
    management('PUT', `/permissions/${vhost()}/guest`, { configure: '.*', write: '.*', read: '.*' });
  const join = async (user: string, gateway: number) => {
    const c = await TestClient.connect(cluster.wsUrl(gateway, 'device=d1'), {
      authorization: `Bearer ${await signToken(user, { channels: ['presence.*'] })}`,
    });
    await c.next('ready');
    const view = new PresenceView(c, 'presence.cut');
    c.send({ type: 'subscribe', channel: 'presence.cut' });
    await view.until('subscribed', (v) => v.subscribed);
    return { c, view };
  };
  /** The broker connection consuming the node's queue (the management API lists consumers with a lag). */
  const connectionOf = async (nodeId: string): Promise<string> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const consumers = (await (await management('GET', `/consumers/${vhost()}`)).json()) as {
        queue: { name: string };
        channel_details: { connection_name?: string } | [];
      }[];
      const mine = consumers.find((c) => c.queue.name.startsWith(`notify.gateway.${nodeId}.`));
      // Listed before its channel details (then `[]`): wait for the connection's name.
      const name =
        mine && !Array.isArray(mine.channel_details) ? mine.channel_details.connection_name : undefined;
      if (name) return name;
      if (Date.now() > deadline) assert.fail(`no consumer of ${nodeId}'s queue`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const apiMembers = async (): Promise<string[]> => {
    const res = await fetch(`${cluster.ingestUrl}/v1/channels/presence.cut/presence`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    return ((await res.json()) as { members: { userId: string }[] }).members.map((m) => m.userId);
  };

  it('takes its members away within the TTL while it is cut off, and brings them back once it reconnects', async () => {
    const watcher = await join('watcher', 0);
    const cut = await join('cut-off', 1);
    await watcher.view.has(['cut-off', 'watcher']);
    // The node's broker connection closes and cannot come back while the vhost refuses the user.
    await management('DELETE', `/permissions/${vhost()}/guest`);
    const name = await connectionOf(cluster.nodeId(1));
    const closed = await management('DELETE', `/connections/${encodeURIComponent(name)}`);
    assert.equal(closed.status, 204, `closing ${name}`);
    const cutAt = Date.now();
    await watcher.view.has(['watcher'], 5000);
    const took = watcher.view.lastChangeAt.get('cut-off')! - cutAt;
    process.stdout.write(`# leave of a cut-off node's member after ${took} ms (TTL ${TTL_S * 1000} ms)\n`);
    assert.ok(took <= TTL_S * 1000 + 500, `leave after ${took} ms`);
    assert.deepEqual(await apiMembers(), ['watcher']);

    await grant();
    await watcher.view.has(['cut-off', 'watcher'], 10_000);
    await cut.view.has(['cut-off', 'watcher']);
    assert.deepEqual(await apiMembers(), ['cut-off', 'watcher']);
    await Promise.all([watcher.c.close(), cut.c.close()]);
  });
});
