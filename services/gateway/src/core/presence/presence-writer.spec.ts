import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLogger } from '@notify/logging';
import type { PresenceRow } from '@notify/store';
import type { PresenceBus, PresenceMember } from '../ports';
import type { LocalMember } from './presence-channel';
import { nodeIdOfKey, PresenceWriter, type PresenceStore } from './presence-writer';

const log = new JsonLogger('test', {}, 'error');

/** A store whose writes finish when the test says so, recording what each one carried. */
class FakeStore implements PresenceStore {
  writes: { upserts: PresenceRow[]; deletes: { channel: string; userId: string }[] }[] = [];
  registrations: { nodeKey: string; rows: PresenceRow[] }[] = [];
  beats = 0;
  alive = true;
  failNext = false;
  private gates: (() => void)[] = [];
  hold = false;
  private gate(): Promise<void> {
    return this.hold ? new Promise((r) => this.gates.push(r)) : Promise.resolve();
  }
  release(): void {
    for (const g of this.gates.splice(0)) g();
  }
  async register(_nodeId: string, nodeKey: string, rows: readonly PresenceRow[]): Promise<void> {
    await this.gate();
    this.registrations.push({ nodeKey, rows: [...rows] });
  }
  async beat(): Promise<boolean> {
    this.beats++;
    return this.alive;
  }
  reap = async (): Promise<string[]> => [];
  async apply(
    _nodeKey: string,
    upserts: readonly PresenceRow[],
    deletes: readonly { channel: string; userId: string }[],
  ): Promise<void> {
    await this.gate();
    if (this.failNext) {
      this.failNext = false;
      throw new Error('connection lost');
    }
    this.writes.push({ upserts: [...upserts], deletes: [...deletes] });
  }
  snapshot = async () => [];
  leave = async (): Promise<void> => undefined;
}

class FakeBus implements PresenceBus {
  connected = true;
  published: { channel: string; nodeKey: string; joins: string[]; leaves: string[] }[] = [];
  constructor(private readonly store: FakeStore) {}
  publish(
    channel: string,
    nodeKey: string,
    joins: readonly PresenceMember[],
    leaves: readonly string[],
  ): void {
    // Published only after the write that carries it committed.
    const committed = this.store.writes.length + this.store.registrations.length;
    assert.ok(committed > 0);
    this.published.push({ channel, nodeKey, joins: joins.map((m) => m.userId), leaves: [...leaves] });
  }
}

function setup() {
  const local = new Map<string, Map<string, LocalMember>>();
  const store = new FakeStore();
  const bus = new FakeBus(store);
  const writer = new PresenceWriter(
    store,
    bus,
    {
      of: (c, u) => local.get(c)?.get(u),
      *all() {
        for (const [c, users] of local) for (const [u, m] of users) yield [c, u, m];
      },
    },
    'gw-a',
    log,
  );
  const set = (channel: string, userId: string, connections: number) => {
    let users = local.get(channel);
    if (!users) local.set(channel, (users = new Map()));
    if (connections === 0) users.delete(userId);
    else users.set(userId, { info: undefined, connections });
    writer.mark(channel, userId);
  };
  return { store, bus, writer, set };
}

describe('PresenceWriter', () => {
  it('registers under a key of its node id, new each time, and publishes the whole state then', async () => {
    const { store, bus, writer, set } = setup();
    await writer.register();
    const first = writer.nodeKey;
    assert.equal(nodeIdOfKey(first), 'gw-a');
    set('presence.a', 'u1', 1);
    await writer.idle();
    await writer.register();
    assert.notEqual(writer.nodeKey, first);
    assert.deepEqual(store.registrations.at(-1)?.rows, [
      { channel: 'presence.a', userId: 'u1', connections: 1 },
    ]);
    assert.deepEqual(bus.published.at(-1), {
      channel: 'presence.a',
      nodeKey: writer.nodeKey,
      joins: ['u1'],
      leaves: [],
    });
  });

  it('writes one batch at a time and gathers the next meanwhile; a join and leave in a batch cost nothing', async () => {
    const { store, bus, writer, set } = setup();
    await writer.register();
    store.hold = true;
    set('presence.a', 'u1', 1);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // While the first write is in flight: many changes, one of them undone.
    for (let i = 2; i <= 50; i++) set('presence.a', `u${i}`, 1);
    set('presence.b', 'x', 1);
    set('presence.b', 'x', 0);
    set('presence.a', 'u2', 2);
    store.release();
    await new Promise((r) => setImmediate(r));
    store.hold = false;
    store.release();
    await writer.idle();
    assert.equal(store.writes.length, 2);
    assert.equal(store.writes[1].upserts.length, 49);
    assert.equal(store.writes[1].upserts.find((r) => r.userId === 'u2')?.connections, 2);
    assert.deepEqual(
      bus.published.map((p) => [p.channel, p.joins.length, p.leaves.length]),
      [
        ['presence.a', 1, 0],
        ['presence.a', 49, 0],
      ],
      'one message per channel per batch; nothing for presence.b',
    );
  });

  it('writes a changed connection count without publishing, and a last leave as a delete and a leave', async () => {
    const { store, bus, writer, set } = setup();
    await writer.register();
    set('presence.a', 'u', 1);
    await writer.idle();
    set('presence.a', 'u', 2);
    await writer.idle();
    set('presence.a', 'u', 0);
    await writer.idle();
    assert.deepEqual(
      store.writes.map((w) => [w.upserts.map((r) => r.connections), w.deletes.length]),
      [
        [[1], 0],
        [[2], 0],
        [[], 1],
      ],
    );
    assert.deepEqual(
      bus.published.map((p) => [p.joins, p.leaves]),
      [
        [['u'], []],
        [[], ['u']],
      ],
    );
  });

  it('retries a failed write with the same changes, and does not publish it before it committed', async () => {
    const { store, bus, writer, set } = setup();
    await writer.register();
    store.failNext = true;
    set('presence.a', 'u', 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(bus.published.length, 0);
    await new Promise((r) => setTimeout(r, 600));
    await writer.idle();
    assert.equal(store.writes.length, 1);
    assert.deepEqual(bus.published[0].joins, ['u']);
  });

  it('does not beat while the broker is down, and registers again when its key was found stale', async () => {
    const { store, bus, writer } = setup();
    await writer.register();
    bus.connected = false;
    writer.beat();
    await writer.idle();
    assert.equal(store.beats, 0);
    bus.connected = true;
    store.alive = false;
    const before = writer.nodeKey;
    writer.beat();
    await writer.idle();
    assert.equal(store.beats, 1);
    assert.notEqual(writer.nodeKey, before);
    assert.equal(store.registrations.length, 2);
  });
});
