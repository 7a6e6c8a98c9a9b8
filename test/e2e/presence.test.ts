import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  haproxyAvailable,
  PresenceView,
  signToken,
  startCluster,
  startHaproxy,
  TEST_API_KEY,
  TestClient,
  UpgradeRejected,
  type TestCluster,
  type TestHaproxy,
} from '@notify/testing';

const TTL_S = 2;
const MAX_MEMBERS = 4;

describe(
  'presence across three gateways behind HAProxy',
  { skip: !haproxyAvailable() && 'haproxy not installed' },
  () => {
    let cluster: TestCluster;
    let lb: TestHaproxy;
    before(async () => {
      cluster = await startCluster({
        gateways: 3,
        env: {
          NOTIFY_PRESENCE_TTL_S: String(TTL_S),
          NOTIFY_NODE_TTL_MS: String(TTL_S * 1000),
          NOTIFY_PRESENCE_MAX_MEMBERS: String(MAX_MEMBERS),
          NOTIFY_MAX_FRAMES_PER_SECOND: '10000',
        },
      });
      lb = await startHaproxy(cluster.gateways.map((g) => g.port));
      await lb.waitAllUp();
    });
    after(async () => {
      await lb?.stop();
      await cluster?.stop();
    });

    const token = (user: string, info?: unknown) => signToken(user, { channels: ['presence.*'], info });
    /** A client on gateway `gateway`, or through HAProxy when it is undefined; waits for `ready`. */
    const connect = async (user: string, gateway?: number, info?: unknown, device = 'd1') => {
      const url =
        gateway === undefined
          ? `ws://127.0.0.1:${lb.port}/v1/ws?device=${device}`
          : cluster.wsUrl(gateway, `device=${device}`);
      const c = await TestClient.connect(url, { authorization: `Bearer ${await token(user, info)}` });
      const ready = await c.next('ready');
      return { c, node: ready.node };
    };
    const join = async (user: string, channel: string, gateway?: number, info?: unknown, device = 'd1') => {
      const { c, node } = await connect(user, gateway, info, device);
      const view = new PresenceView(c, channel);
      c.send({ type: 'subscribe', channel, ref: 's' });
      await view.until('subscribed', (v) => v.subscribed);
      return { c, view, node };
    };
    const api = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${cluster.ingestUrl}${path}`, {
        headers: { authorization: `Bearer ${TEST_API_KEY}` },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const apiMembers = async (channel: string) =>
      (await api(`/v1/channels/${channel}/presence`)).body.members as {
        userId: string;
        info?: unknown;
        connections: number;
      }[];
    const rows = async (channel: string) =>
      (
        await cluster.db.query<{ user_id: string }>(
          'SELECT user_id FROM presence_members WHERE channel = $1 ORDER BY user_id',
          [channel],
        )
      ).map((r) => r.user_id);
    const eventually = async (what: string, check: () => Promise<boolean>, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    it('lists members across nodes at subscribe, announces joins and leaves, with info; the API agrees', async () => {
      // Round robin: three connections through HAProxy land on three different nodes.
      const a = await join('alice', 'presence.lobby', undefined, { name: 'Alice' });
      const b = await join('bob', 'presence.lobby', undefined, { name: 'Bob' });
      const c = await join('carol', 'presence.lobby');
      assert.equal(new Set([a.node, b.node, c.node]).size, 3, 'one member per node');
      // A node lists what it knows: the others' joins reach it a few ms after their `subscribed`.
      await c.view.has(['alice', 'bob', 'carol']);
      assert.deepEqual(c.view.members.get('alice'), { name: 'Alice' });
      await a.view.has(['alice', 'bob', 'carol']);
      await b.view.has(['alice', 'bob', 'carol']);
      assert.deepEqual(a.view.members.get('bob'), { name: 'Bob' });
      assert.deepEqual(await apiMembers('presence.lobby'), [
        { userId: 'alice', info: { name: 'Alice' }, connections: 1 },
        { userId: 'bob', info: { name: 'Bob' }, connections: 1 },
        { userId: 'carol', connections: 1 },
      ]);
      b.c.send({ type: 'unsubscribe', channel: 'presence.lobby' });
      await a.view.has(['alice', 'carol']);
      await c.view.has(['alice', 'carol']);
      await eventually(
        'bob gone from the API',
        async () => (await apiMembers('presence.lobby')).length === 2,
      );
      // Connections of users are written every 200 ms: the user API agrees once alice's is.
      const expected = { status: 200, body: { online: true, connections: 1, devices: ['d1'] } };
      await eventually(
        'alice in the user API',
        async () => JSON.stringify(await api('/v1/users/alice/presence')) === JSON.stringify(expected),
      );
      assert.deepEqual(await api('/v1/users/alice/presence'), expected);
      await Promise.all([a.c.close(), b.c.close(), c.c.close()]);
      await eventually('no residue', async () => (await rows('presence.lobby')).length === 0);
      assert.deepEqual((await api('/v1/users/nobody/presence')).body, {
        online: false,
        connections: 0,
        devices: [],
      });
    });

    it('counts two tabs of one user on two nodes as one member, which leaves with the last tab', async () => {
      const watcher = await join('watcher', 'presence.tabs', 2);
      const tab1 = await join('dave', 'presence.tabs', 0, undefined, 'laptop');
      const tab2 = await join('dave', 'presence.tabs', 1, undefined, 'phone');
      await watcher.view.has(['dave', 'watcher']);
      assert.equal(tab2.view.members.has('dave'), true);
      await eventually('two connections in the API', async () =>
        (await apiMembers('presence.tabs')).some((m) => m.userId === 'dave' && m.connections === 2),
      );
      // Connections of users are written every 200 ms (architecture.md, "Connections of users on nodes").
      await eventually('both tabs in the user API', async () => {
        const dave = await api('/v1/users/dave/presence');
        return (
          JSON.stringify(dave.body) ===
          JSON.stringify({ online: true, connections: 2, devices: ['laptop', 'phone'] })
        );
      });
      const joinsOfDave = watcher.view.changes;
      await tab1.c.close();
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(watcher.view.members.has('dave'), true, 'still there through the other tab');
      assert.equal(watcher.view.changes, joinsOfDave, 'no frame for the first tab leaving');
      await tab2.c.close();
      await watcher.view.has(['watcher']);
      await watcher.c.close();
    });

    it('leaves exactly the real members and no residue after 1,000 subscribe/unsubscribe cycles', async () => {
      const channel = 'presence.churn';
      const watcher = await join('churn-watcher', channel, 0);
      // Three churners on three nodes, 334 cycles each: 1,002 subscribes and ~1,000 unsubscribes.
      const clients = await Promise.all([0, 1, 2].map((g, i) => connect(`churner-${i}`, g)));
      const cycles = 334;
      await Promise.all(
        clients.map(async ({ c }, i) => {
          for (let n = 0; n < cycles; n++) {
            c.send({ type: 'subscribe', channel });
            await c.next('subscribed');
            // The last cycle of the even clients stays subscribed.
            if (n === cycles - 1 && i % 2 === 0) break;
            c.send({ type: 'unsubscribe', channel });
            await c.next('unsubscribed');
          }
        }),
      );
      const expected = ['churn-watcher', 'churner-0', 'churner-2'];
      await watcher.view.has(expected, 5000);
      await eventually(
        'the store holds exactly the members',
        async () => (await rows(channel)).join() === expected.join(),
      );
      assert.deepEqual(
        (await apiMembers(channel)).map((m) => m.userId),
        expected,
      );
      // A late subscriber's list agrees too.
      const late = await join('late', channel, 2);
      await late.view.has([...expected, 'late']);
      assert.ok(
        watcher.view.frames < 3 * cycles * 2,
        `coalesced: ${watcher.view.frames} frames for ${3 * cycles * 2} changes`,
      );
      await Promise.all([watcher.c.close(), late.c.close(), ...clients.map(({ c }) => c.close())]);
      await eventually('no residue', async () => (await rows(channel)).length === 0);
    });

    it('refuses a subscribe without a grant and reveals no member, then or later', async () => {
      const member = await join('insider', 'presence.secret', 0);
      const c = await TestClient.connect(cluster.wsUrl(1, 'device=d1'), {
        authorization: `Bearer ${await signToken('outsider')}`,
      });
      await c.next('ready');
      c.send({ type: 'subscribe', channel: 'presence.secret', ref: 'x' });
      const error = await c.next('error');
      assert.equal(error.code, 'forbidden');
      const second = await join('insider-2', 'presence.secret', 1);
      await member.view.has(['insider', 'insider-2']);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(
        c.frames.filter((f) => f.type === 'subscribed' || f.type === 'presence'),
        [],
      );
      await Promise.all([c.close(), member.c.close(), second.c.close()]);
    });

    it(`refuses a member past ${MAX_MEMBERS} with an error frame; an existing member's new tab still joins`, async () => {
      const channel = 'presence.full';
      const members = [];
      for (let i = 0; i < MAX_MEMBERS; i++) members.push(await join(`m${i}`, channel, i % 3));
      const all = members.map((_, i) => `m${i}`);
      await Promise.all(members.map((m) => m.view.has(all)));
      const { c } = await connect('one-too-many', 1);
      c.send({ type: 'subscribe', channel, ref: 'full' });
      const error = await c.next('error');
      assert.equal(error.code, 'rate_limited');
      assert.equal(error.ref, 'full');
      assert.match(error.message, /is full \(at most 4 members\)/);
      const tab = await join('m0', channel, 2, undefined, 'tab2');
      assert.deepEqual(tab.view.ids(), all, JSON.stringify(tab.c.frames));
      // The refused client is still connected and can subscribe elsewhere.
      c.send({ type: 'subscribe', channel: 'presence.other', ref: 'ok' });
      assert.equal((await c.next('subscribed')).ref, 'ok');
      await Promise.all([c.close(), tab.c.close(), ...members.map((m) => m.c.close())]);
    });

    it('answers the presence API with the usual errors: 400 naming the field, 401 without a key', async () => {
      const notPresence = await api('/v1/channels/news/presence');
      assert.equal(notPresence.status, 400);
      assert.deepEqual(notPresence.body.errors, [
        { field: 'channel', messages: ['channel must be a presence channel (presence.…)'] },
      ]);
      const badUser = await api('/v1/users/a%20b/presence');
      assert.equal(badUser.status, 400);
      assert.equal((badUser.body.errors as { field: string }[])[0].field, 'userId');
      const anonymous = await fetch(`${cluster.ingestUrl}/v1/users/alice/presence`);
      assert.equal(anonymous.status, 401);
    });

    it('refuses a token whose info is too big, saying why', async () => {
      await assert.rejects(
        TestClient.connect(cluster.wsUrl(0, 'device=d1'), {
          authorization: `Bearer ${await token('big', { blob: 'x'.repeat(2000) })}`,
        }),
        (err: unknown) => err instanceof UpgradeRejected && err.status === 401,
      );
    });

    it('takes a SIGKILLed node’s members away within the TTL, and its restart brings none back', async () => {
      const channel = 'presence.crash';
      const w0 = await join('w0', channel, 0);
      const w1 = await join('w1', channel, 1);
      const doomed = await join('doomed', channel, 2, { name: 'Doomed' });
      await w0.view.has(['doomed', 'w0', 'w1']);
      await w1.view.has(['doomed', 'w0', 'w1']);
      await cluster.gateways[2].stop('SIGKILL');
      const killedAt = Date.now();
      await Promise.all([w0.view.has(['w0', 'w1'], 5000), w1.view.has(['w0', 'w1'], 5000)]);
      const took =
        Math.max(w0.view.lastChangeAt.get('doomed')!, w1.view.lastChangeAt.get('doomed')!) - killedAt;
      process.stdout.write(
        `# leave of a SIGKILLed node's member after ${took} ms (TTL ${TTL_S * 1000} ms)\n`,
      );
      assert.ok(took <= TTL_S * 1000, `leave after ${took} ms`);
      assert.deepEqual(
        (await apiMembers(channel)).map((m) => m.userId),
        ['w0', 'w1'],
      );
      assert.deepEqual(await rows(channel), ['w0', 'w1']);
      void doomed.c.closed;

      // Same node id again, killed right after a member joined there, restarted before the TTL.
      await cluster.startGateway(2);
      const second = await join('second-life', channel, 2);
      await w0.view.has(['second-life', 'w0', 'w1']);
      await cluster.gateways[2].stop('SIGKILL');
      await cluster.startGateway(2);
      await Promise.all([w0.view.has(['w0', 'w1'], 5000), w1.view.has(['w0', 'w1'], 5000)]);
      void second.c.closed;
      await new Promise((r) => setTimeout(r, TTL_S * 1000));
      assert.deepEqual(w0.view.ids(), ['w0', 'w1'], 'nothing came back');
      assert.deepEqual(
        (await apiMembers(channel)).map((m) => m.userId),
        ['w0', 'w1'],
      );
      assert.deepEqual(await rows(channel), ['w0', 'w1']);
      const fresh = await join('fresh', channel, 2);
      await fresh.view.has(['fresh', 'w0', 'w1']);
      for (const ghost of ['doomed', 'second-life'])
        assert.equal(fresh.view.lastChangeAt.has(ghost), false, `no frame about ${ghost}`);
      await Promise.all([w0.c.close(), w1.c.close(), fresh.c.close()]);
    });
  },
);
