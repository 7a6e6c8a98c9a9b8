import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLogger } from '@notify/logging';
import { afterWrites, HeldWrites, playHungWrite } from '@notify/testing';
import {
  ChannelOccupancy,
  type ChannelOccupancyStore,
  type ChannelSubscriptionCount,
} from './channel-occupancy';

/** The table as an in-memory map per node, like the PostgreSQL store: 0 deletes the row. */
class MemoryStore implements ChannelOccupancyStore {
  readonly rows = new Map<string, Map<string, number>>();
  writes = 0;
  failNext = false;
  /** When set, applies wait on it (a write that hangs until the test ends it). */
  held: HeldWrites<readonly ChannelSubscriptionCount[]> | null = null;
  async apply(nodeId: string, counts: readonly ChannelSubscriptionCount[]): Promise<void> {
    if (this.held) await this.held.write(counts);
    this.fail();
    const node = this.node(nodeId);
    for (const { channel, subscriptions } of counts)
      if (subscriptions > 0) node.set(channel, subscriptions);
      else node.delete(channel);
  }
  async replaceNode(nodeId: string, rows: readonly ChannelSubscriptionCount[]): Promise<void> {
    this.fail();
    this.rows.set(nodeId, new Map(rows.map((r) => [r.channel, r.subscriptions])));
  }
  table(nodeId = 'n1'): Record<string, number> {
    return Object.fromEntries(this.node(nodeId));
  }
  private node(nodeId: string): Map<string, number> {
    let node = this.rows.get(nodeId);
    if (!node) this.rows.set(nodeId, (node = new Map()));
    return node;
  }
  private fail(): void {
    this.writes++;
    if (!this.failNext) return;
    this.failNext = false;
    throw new Error('database unreachable');
  }
}

class QuietLogger extends JsonLogger {
  override warn(): void {}
}

function setup(flushMs = 3_600_000): { store: MemoryStore; occupancy: ChannelOccupancy } {
  const store = new MemoryStore();
  // By default a flush interval far beyond the test: every write is an explicit flush.
  return { store, occupancy: new ChannelOccupancy(store, 'n1', flushMs, new QuietLogger('test')) };
}

describe('ChannelOccupancy', () => {
  it('clears what an earlier process of the node left, then writes coalesced counts', async () => {
    const { store, occupancy } = setup();
    store.rows.set('n1', new Map([['pusher:a:stale', 9]]));
    store.rows.set('n2', new Map([['pusher:a:x', 1]]));
    await occupancy.start();
    await occupancy.stop();
    assert.deepEqual(store.table(), {});
    assert.deepEqual(store.table('n2'), { 'pusher:a:x': 1 }, 'other nodes untouched');

    const { store: s2, occupancy: o2 } = setup();
    await o2.flush();
    const before = s2.writes;
    for (let i = 0; i < 5; i++) o2.add('pusher:a:news', 1);
    o2.add('pusher:a:news', -1);
    o2.add('pusher:a:gone', 1);
    o2.add('pusher:a:gone', -1);
    await o2.flush();
    assert.equal(s2.writes, before + 1, 'one write for the interval');
    assert.deepEqual(s2.table(), { 'pusher:a:news': 4 });
    await o2.flush();
    assert.equal(s2.writes, before + 1, 'nothing changed, nothing written');
    o2.add('pusher:a:news', -4);
    await o2.flush();
    assert.deepEqual(s2.table(), {}, 'a count of 0 deletes the row');
  });

  it('retries a failed write with the next flush', async () => {
    const { store, occupancy } = setup();
    await occupancy.flush();
    occupancy.add('pusher:a:x', 2);
    store.failNext = true;
    await occupancy.flush();
    assert.deepEqual(store.table(), {});
    occupancy.add('pusher:a:y', 1);
    await occupancy.flush();
    assert.deepEqual(store.table(), { 'pusher:a:x': 2, 'pusher:a:y': 1 });
  });

  it('rewrites every row after the node was found dead (its rows may have been deleted)', async () => {
    const { store, occupancy } = setup();
    await occupancy.flush();
    occupancy.add('pusher:a:x', 3);
    await occupancy.flush();
    store.rows.delete('n1');
    occupancy.revived();
    await occupancy.flush();
    assert.deepEqual(store.table(), { 'pusher:a:x': 3 });
  });

  it('queues nothing behind a write that hangs, and keeps only channels whose row must change', async () => {
    // The flush interval is the test's (100 ms); setImmediate stays real.
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const { store, occupancy } = setup(100);
      await occupancy.start();
      occupancy.add('pusher:a:w', 1);
      await occupancy.flush();
      const held = (store.held = new HeldWrites<readonly ChannelSubscriptionCount[]>());
      const { merged, next } = await playHungWrite({
        store: held,
        intervalMs: 100,
        change: (step) => {
          if (step === 0) occupancy.add('pusher:a:x', 1);
          if (step === 11) occupancy.add('pusher:a:z', 1);
          if (step !== 1) return;
          // While the write hangs: w's subscriber leaves (its row must go), a client subscribes to a
          // thousand names of its choosing and leaves them, x gains one, y is new.
          occupancy.add('pusher:a:w', -1);
          for (let i = 0; i < 1000; i++) {
            occupancy.add(`pusher:a:random-${i}`, 1);
            occupancy.add(`pusher:a:random-${i}`, -1);
          }
          occupancy.add('pusher:a:x', 1);
          occupancy.add('pusher:a:y', 1);
        },
        end: 'fail',
      });
      assert.deepEqual(merged, [
        { channel: 'pusher:a:w', subscriptions: 0 },
        { channel: 'pusher:a:x', subscriptions: 2 },
        { channel: 'pusher:a:y', subscriptions: 1 },
      ]);
      assert.deepEqual(next, [{ channel: 'pusher:a:z', subscriptions: 1 }]);
      assert.deepEqual(store.table(), { 'pusher:a:x': 2, 'pusher:a:y': 1, 'pusher:a:z': 1 });
      store.held = null;
      await occupancy.stop();
    } finally {
      mock.timers.reset();
    }
  });

  it('after a failed write, leaves out a channel whose count came back to what the store holds', async () => {
    const { store, occupancy } = setup();
    await occupancy.flush();
    occupancy.add('pusher:a:x', 2);
    await occupancy.flush();
    const held = (store.held = new HeldWrites<readonly ChannelSubscriptionCount[]>());
    occupancy.add('pusher:a:x', 1);
    const failing = occupancy.flush();
    await afterWrites();
    occupancy.add('pusher:a:x', -1);
    held.last.fail();
    await failing;
    store.held = null;
    const before = store.writes;
    await occupancy.flush();
    assert.equal(store.writes, before, 'the store already holds 2');
    assert.deepEqual(store.table(), { 'pusher:a:x': 2 });
  });
});
