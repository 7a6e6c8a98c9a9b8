import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import type PusherJs from 'pusher-js';
import {
  PUSHER_TEST_APPS,
  pusherJsPresenceClient,
  type PusherPresenceUser,
  PusherRawClient,
  pusherServerOf,
  pusherSigner,
  startCluster,
  type TestCluster,
  whenSubscribed,
} from '@notify/testing';

const TTL_S = 3;
const MAX_MEMBERS = 3;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

interface Members {
  count: number;
  me: { id: string } | null;
  each(f: (m: { id: string; info: unknown }) => void): void;
}

/** A presence channel's members as pusher-js holds them, by id. */
function membersOf(client: PusherJs, channel: string): Record<string, unknown> {
  const members = (client.channel(channel) as unknown as { members: Members }).members;
  const out: Record<string, unknown> = {};
  members.each((m) => (out[m.id] = m.info));
  return out;
}

/** The member_added / member_removed events `client` hears on `channel`, in order. */
function memberEvents(client: PusherJs, channel: string): string[] {
  const heard: string[] = [];
  const ch = client.channel(channel);
  ch.bind('pusher:member_added', (m: { id: string }) => heard.push(`+${m.id}`));
  ch.bind('pusher:member_removed', (m: { id: string }) => heard.push(`-${m.id}`));
  return heard;
}

describe('Pusher presence- channels across two gateways, with pusher-js', () => {
  let cluster: TestCluster;
  let sdk: Pusher;
  const clients: PusherJs[] = [];
  const port = (i: number): number => cluster.gateways[i].port;

  before(async () => {
    cluster = await startCluster({
      gateways: 2,
      env: {
        NOTIFY_PUSHER_APPS: PUSHER_TEST_APPS,
        NOTIFY_PRESENCE_TTL_S: String(TTL_S),
        NOTIFY_PRESENCE_MAX_MEMBERS: String(MAX_MEMBERS),
      },
    });
    sdk = pusherServerOf(cluster);
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.stop();
  });

  function member(gateway: number, user: PusherPresenceUser): PusherJs {
    const c = pusherJsPresenceClient(port(gateway), user);
    clients.push(c);
    return c;
  }

  const users = async (channel: string): Promise<string[]> => {
    const res = await sdk.get({ path: `/channels/${channel}/users` });
    return ((await res.json()) as { users: { id: string }[] }).users.map((u) => u.id).sort();
  };

  /** Ingest reads what the gateways wrote, which trails the frames a little. */
  async function usersBecome(channel: string, expected: string[]): Promise<void> {
    let last: string[] = [];
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(100)) {
      last = await users(channel);
      if (JSON.stringify(last) === JSON.stringify(expected)) return;
    }
    assert.deepEqual(last, expected);
  }

  it('gives members, announces joins and leaves on the other node, counts a user once', async () => {
    const ch = 'presence-room';
    const alice = member(0, { user_id: 'alice', user_info: { name: 'Alice' } });
    await whenSubscribed(alice, ch);
    const aliceHeard = memberEvents(alice, ch);
    assert.deepEqual(membersOf(alice, ch), { alice: { name: 'Alice' } });

    const bob = member(1, { user_id: 'bob', user_info: { name: 'Bob' } });
    await whenSubscribed(bob, ch);
    const bobHeard = memberEvents(bob, ch);
    const bobMembers = (bob.channel(ch) as unknown as { members: Members }).members;
    assert.equal(bobMembers.count, 2);
    assert.equal(bobMembers.me?.id, 'bob');
    assert.deepEqual(membersOf(bob, ch), { alice: { name: 'Alice' }, bob: { name: 'Bob' } });
    await until('alice hears bob join', () => aliceHeard.length === 1);
    assert.deepEqual(aliceHeard, ['+bob']);
    assert.deepEqual(membersOf(alice, ch), { alice: { name: 'Alice' }, bob: { name: 'Bob' } });

    // Bob's second connection, on the other node: still one member.
    const bob2 = member(0, { user_id: 'bob', user_info: { name: 'Bob' } });
    await whenSubscribed(bob2, ch);
    assert.equal((bob2.channel(ch) as unknown as { members: Members }).members.count, 2);
    await usersBecome(ch, ['alice', 'bob']);

    // Client events carry their sender's user_id.
    const got: { data: unknown; userId: unknown }[] = [];
    alice
      .channel(ch)
      .bind('client-wave', (data: unknown, meta: { user_id?: string }) =>
        got.push({ data, userId: meta?.user_id }),
      );
    await sleep(100);
    bob.channel(ch).trigger('client-wave', { hi: 1 });
    await until('alice hears the client event', () => got.length === 1);
    assert.deepEqual(got, [{ data: { hi: 1 }, userId: 'bob' }]);

    // Bob leaves with his last connection only.
    bob.unsubscribe(ch);
    await sleep(500);
    assert.deepEqual(aliceHeard, ['+bob']);
    bob2.disconnect();
    await until('alice hears bob leave', () => aliceHeard.length === 2);
    assert.deepEqual(aliceHeard, ['+bob', '-bob']);
    assert.deepEqual(membersOf(alice, ch), { alice: { name: 'Alice' } });
    assert.deepEqual(bobHeard, [], 'no member hears about itself');
    await usersBecome(ch, ['alice']);
    const info = await sdk.get({ path: `/channels/${ch}`, params: { info: 'user_count' } });
    assert.equal(((await info.json()) as { user_count: number }).user_count, 1);
  });

  it('refuses a channel_data other than the signed one, and a bad member', async () => {
    const raw = await PusherRawClient.established(port(1));
    try {
      const ch = 'presence-signed';
      const signed = pusherSigner.authorizeChannel(raw.socketId, ch, { user_id: 'mallory' });
      raw.send({
        event: 'pusher:subscribe',
        data: { channel: ch, auth: signed.auth, channel_data: JSON.stringify({ user_id: 'admin' }) },
      });
      const refused = await raw.next('pusher:subscription_error');
      assert.deepEqual(refused.data, {
        type: 'AuthError',
        error: 'invalid signature for this socket and channel',
        status: 401,
      });
      const noId = pusherSigner.authorizeChannel(raw.socketId, ch, { user_info: {} } as never);
      raw.send({ event: 'pusher:subscribe', data: { channel: ch, ...noId } });
      const bad = await raw.next('pusher:subscription_error');
      assert.match((bad.data as { error: string }).error, /user_id must be a non-empty string/);
      // A numeric user_id is a member by its string form; no user_info is null in the hash.
      const numeric = pusherSigner.authorizeChannel(raw.socketId, ch, { user_id: 42 } as never);
      raw.send({ event: 'pusher:subscribe', data: { channel: ch, ...numeric } });
      const ok = await raw.next('pusher_internal:subscription_succeeded');
      assert.deepEqual(JSON.parse(ok.data as string), {
        presence: { count: 1, ids: ['42'], hash: { '42': null } },
      });
    } finally {
      raw.close();
    }
  });

  it(`refuses a subscribe past ${MAX_MEMBERS} members with a subscription_error`, async () => {
    const ch = 'presence-full';
    const full: PusherJs[] = [];
    for (let i = 0; i < MAX_MEMBERS; i++) {
      full.push(member(i % 2, { user_id: `u${i}` }));
      await whenSubscribed(full[i], ch);
    }
    // The limit counts the members a node knows of: wait until the late one's node has heard of all.
    const onNode1 = (full[1].channel(ch) as unknown as { members: Members }).members;
    await until('node 1 knows every member', () => onNode1.count === MAX_MEMBERS);
    const late = member(1, { user_id: 'late' });
    await assert.rejects(whenSubscribed(late, ch), (err: Error) => {
      assert.match(err.message, /presence channel \\"presence-full\\" is full \(at most 3 members\)/);
      assert.doesNotMatch(err.message, /pusher:/);
      return true;
    });
    // An existing member's further connection is no new member.
    await whenSubscribed(member(1, { user_id: 'u0' }), ch);
  });

  it('takes a killed node’s members away within the TTL', async () => {
    const ch = 'presence-crash';
    const stays = member(0, { user_id: 'stays' });
    await whenSubscribed(stays, ch);
    const heard = memberEvents(stays, ch);
    await whenSubscribed(member(1, { user_id: 'doomed' }), ch);
    await until('doomed joins', () => heard.length === 1);
    const killedAt = Date.now();
    await cluster.gateways[1].stop('SIGKILL');
    await until('doomed leaves', () => heard.length === 2, TTL_S * 1000 + 5000);
    const took = Date.now() - killedAt;
    assert.deepEqual(heard, ['+doomed', '-doomed']);
    assert.ok(took <= TTL_S * 1000 + 1000, `left after ${took} ms`);
    process.stdout.write(
      `# leave of a killed node's Pusher member after ${took} ms (TTL ${TTL_S * 1000} ms)\n`,
    );
  });
});
