import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLogger } from '@notify/logging';
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
  async apply(nodeId: string, counts: readonly ChannelSubscriptionCount[]): Promise<void> {
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

function setup(): { store: MemoryStore; occupancy: ChannelOccupancy } {
  const store = new MemoryStore();
  // A flush interval far beyond the test: every write here is an explicit flush.
  return { store, occupancy: new ChannelOccupancy(store, 'n1', 3_600_000, new QuietLogger('test')) };
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
});
