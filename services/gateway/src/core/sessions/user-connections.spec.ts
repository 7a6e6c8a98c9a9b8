import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLogger } from '@notify/logging';
import type { UserConnectionRow } from '@notify/store';
import { HeldWrites, playHungWrite } from '@notify/testing';
import { ConnectionIds } from './connection-ids';
import { newSession, type ClientPort, type Session } from './session';
import { UserConnections, type UserConnectionsStore } from './user-connections';

type Call =
  | { op: 'heartbeat' }
  | { op: 'apply'; opened: string[]; closed: string[] }
  | { op: 'replace'; rows: string[] }
  | { op: 'leave' };

/**
 * Records what would be written; `fail` makes the next apply throw, `dead` the next heartbeat say so,
 * `held` makes applies wait until the test ends them.
 */
class FakeStore implements UserConnectionsStore {
  calls: Call[] = [];
  fail = false;
  dead = false;
  held: HeldWrites<string[]> | null = null;
  async heartbeat(): Promise<{ wasAlive: boolean }> {
    this.calls.push({ op: 'heartbeat' });
    const wasAlive = !this.dead;
    this.dead = false;
    return { wasAlive };
  }
  async apply(
    _node: string,
    opened: readonly UserConnectionRow[],
    closedIds: readonly string[],
  ): Promise<void> {
    if (this.held) await this.held.write(opened.map((r) => r.userId));
    if (this.fail) {
      this.fail = false;
      throw new Error('connection lost');
    }
    this.calls.push({ op: 'apply', opened: opened.map((r) => r.userId), closed: [...closedIds] });
  }
  async replaceNode(_node: string, rows: readonly UserConnectionRow[]): Promise<void> {
    this.calls.push({ op: 'replace', rows: rows.map((r) => r.userId) });
  }
  async leave(): Promise<void> {
    this.calls.push({ op: 'leave' });
  }
}

class QuietLogger extends JsonLogger {
  override warn(): void {}
}

function setup(intervals = { nodeTtlMs: 3_600_000, flushMs: 3_600_000 }): {
  store: FakeStore;
  ids: ConnectionIds;
  connections: UserConnections;
  open(userId: string): Session;
  close(s: Session): void;
} {
  const store = new FakeStore();
  const ids = new ConnectionIds();
  const live = new Set<Session>();
  // By default intervals far beyond the test: every write is an explicit flush or heartbeat.
  const options = { nodeId: 'n1', ...intervals };
  const connections = new UserConnections(store, ids, () => live, options, new QuietLogger('gateway'));
  return {
    store,
    ids,
    connections,
    open(userId) {
      const s = newSession(
        { userId, deviceId: 'd', expiresAt: 0, channels: [], since: null },
        {} as ClientPort,
        10,
      );
      s.connectionNumber = ids.next();
      live.add(s);
      connections.opened(s);
      return s;
    },
    close(s) {
      live.delete(s);
      connections.closed(s);
    },
  };
}

describe('UserConnections: writes of the connections of users on this node', () => {
  it('writes the opens and closes of one interval in one statement, none per connection', async () => {
    const { store, ids, connections, open, close } = setup();
    const a = open('a');
    await connections.flush();
    open('b');
    open('c');
    close(a);
    await connections.flush();
    assert.deepEqual(store.calls, [
      { op: 'apply', opened: ['a'], closed: [] },
      { op: 'apply', opened: ['b', 'c'], closed: [ids.uuidOf(a.connectionNumber)] },
    ]);
    await connections.flush();
    assert.equal(store.calls.length, 2, 'nothing pending, nothing written');
  });

  it('writes nothing for a connection that opened and closed within one interval', async () => {
    const { store, connections, open, close } = setup();
    close(open('brief'));
    await connections.flush();
    assert.deepEqual(store.calls, []);
  });

  it('after a failed write, writes it again, minus a connection that closed meanwhile', async () => {
    const { store, ids, connections, open, close } = setup();
    const a = open('a');
    const b = open('b');
    await connections.flush();
    const c = open('c');
    open('d');
    close(a);
    store.fail = true;
    const failing = connections.flush();
    // Closed while the failing write is in flight: its row was never written, so it needs no delete.
    close(c);
    await failing;
    close(b);
    await connections.flush();
    const id = (s: Session): string => ids.uuidOf(s.connectionNumber);
    assert.deepEqual(store.calls, [
      { op: 'apply', opened: ['a', 'b'], closed: [] },
      { op: 'apply', opened: ['d'], closed: [id(a), id(b)] },
    ]);
  });

  it('on start, and when the heartbeat finds the node was declared dead, writes its whole set again', async () => {
    const { store, connections, open, close } = setup();
    await connections.start();
    open('a');
    const b = open('b');
    close(b);
    open('c');
    store.dead = true;
    await connections.heartbeat();
    await connections.flush();
    await connections.heartbeat();
    await connections.stop();
    assert.deepEqual(store.calls, [
      { op: 'heartbeat' },
      { op: 'replace', rows: [] },
      { op: 'heartbeat' },
      { op: 'replace', rows: ['a', 'c'] },
      { op: 'heartbeat' },
      { op: 'leave' },
    ]);
  });

  it('queues nothing behind a write that hangs: a heartbeat due meanwhile runs once, right after it', async () => {
    // The timers are the test's (a flush every 100 ms, a heartbeat every 1 s); setImmediate stays real.
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const { store, connections, open } = setup({ nodeTtlMs: 3_000, flushMs: 100 });
      await connections.start();
      const held = (store.held = new HeldWrites<string[]>());
      // a before the first write; b while it hangs through three heartbeat intervals; c after.
      const opens: Record<number, string> = { 0: 'a', 1: 'b', 31: 'c' };
      const { merged, next } = await playHungWrite({
        store: held,
        intervalMs: 100,
        ticks: 30,
        change: (step) => void (opens[step] && open(opens[step])),
        end: 'fail',
      });
      assert.deepEqual(merged, ['b', 'a'], 'the failed write’s rows go with the next one');
      assert.deepEqual(next, ['c']);
      store.held = null;
      await connections.stop();
      assert.deepEqual(store.calls, [
        { op: 'heartbeat' },
        { op: 'replace', rows: [] },
        { op: 'apply', opened: ['b', 'a'], closed: [] },
        { op: 'heartbeat' },
        { op: 'apply', opened: ['c'], closed: [] },
        { op: 'leave' },
      ]);
    } finally {
      mock.timers.reset();
    }
  });
});

describe('ConnectionIds', () => {
  it('spells well-formed, distinct UUIDs from small numbers', () => {
    const ids = new ConnectionIds();
    const other = new ConnectionIds();
    const first = ids.next();
    const second = ids.next();
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    assert.match(ids.uuidOf(first), uuid);
    assert.match(ids.uuidOf(second), uuid);
    assert.notEqual(ids.uuidOf(first), ids.uuidOf(second));
    assert.notEqual(ids.uuidOf(first), other.uuidOf(other.next()));
  });
});
