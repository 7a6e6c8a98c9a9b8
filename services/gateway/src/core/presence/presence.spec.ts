import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLogger } from '@notify/logging';
import { presenceTimings, type PresenceSnapshotRow } from '@notify/store';
import { afterWrites } from '@notify/testing';
import type { Bindings, PresenceBus, PresenceChange } from '../ports';
import { newSession, type ClientPort, type Session } from '../sessions/session';
import { Presence } from './presence';
import type { PresenceStore } from './presence-writer';

const log = new JsonLogger('test', {}, 'error');
/** Past the frames' immediate: a timer alone may fire first on a loaded machine (timers run before immediates). */
const tick = () => new Promise((r) => setTimeout(() => setImmediate(r), 5));

/** A store with a settable snapshot and live set; writes succeed at once. */
class Store implements PresenceStore {
  snapshotRows: PresenceSnapshotRow[] = [];
  live: string[] = [];
  /** Resolves the next `reap` when set: the liveness answer arrives when the test says so. */
  reapGate: Promise<void> | null = null;
  reaps = 0;
  register = async () => undefined;
  beat = async () => true;
  apply = async () => undefined;
  leave = async () => undefined;
  snapshot = async () => this.snapshotRows;
  async reap(): Promise<string[]> {
    this.reaps++;
    const live = [...this.live];
    await this.reapGate;
    return live;
  }
}

function setup(maxMembers = 100) {
  const store = new Store();
  const bus: PresenceBus = { connected: true, publish: () => undefined };
  const bindings = {
    acquireChannel: async () => undefined,
    releaseChannel: () => undefined,
  } as unknown as Bindings;
  const frames: PresenceChange[][] = [];
  const presence = new Presence(
    [{ changed: (_channel, changes) => frames.push([...changes]) }],
    store,
    bus,
    bindings,
    { nodeId: 'me', maxMembers, ttlMs: 60_000, frameWindowMs: 0 },
    log,
  );
  const session = (userId: string): Session =>
    newSession({ userId, deviceId: 'd', expiresAt: 0, channels: [], since: null }, {} as ClientPort, 10);
  const check = (presence as unknown as { checkLiveness(): Promise<void> }).checkLiveness.bind(presence);
  return { store, presence, frames, session, check };
}

describe('Presence', () => {
  it('gives a joiner the announced members and itself, and refuses a new member past the limit', async () => {
    const { store, presence, session } = setup(2);
    store.snapshotRows = [{ userId: 'remote', nodeKey: 'other/1' }];
    const a = await presence.join(session('a'), 'presence.r', { userId: 'a', info: { n: 1 } });
    assert.ok(a.ok);
    assert.deepEqual(a.members, [{ userId: 'remote' }]);
    assert.deepEqual(a.joiner, { userId: 'a', info: { n: 1 } });
    const full = await presence.join(session('b'), 'presence.r', { userId: 'b' });
    assert.deepEqual(full, {
      ok: false,
      refusal: { kind: 'rate_limited', message: 'presence channel "presence.r" is full (at most 2 members)' },
    });
    const again = await presence.join(session('a'), 'presence.r', { userId: 'a' });
    assert.ok(again.ok, 'a second connection of a member is no new member');
  });

  it('ignores its own node’s events, and a session that closes leaves', async () => {
    const { presence, frames, session } = setup();
    const s = session('a');
    await presence.join(s, 'presence.r', { userId: 'a' });
    presence.event('presence.r', 'me/old', [{ userId: 'ghost' }], []);
    await tick();
    assert.deepEqual(frames.flat(), [{ event: 'join', member: { userId: 'a' } }]);
    const watcher = session('w');
    await presence.join(watcher, 'presence.r', { userId: 'w' });
    presence.closed(s);
    await tick();
    assert.deepEqual(frames.flat().slice(1), [
      { event: 'join', member: { userId: 'w' } },
      { event: 'leave', userId: 'a' },
    ]);
  });

  it('drops the members of a registration that is no longer live, but not of one first seen after it asked', async () => {
    const { store, presence, frames, session, check } = setup();
    store.snapshotRows = [{ userId: 'old-node-user', nodeKey: 'b/1' }];
    await presence.join(session('a'), 'presence.r', { userId: 'a' });
    await tick();
    frames.length = 0;
    // The liveness question is asked; before its answer, node c registers and announces a member.
    let answer!: () => void;
    store.reapGate = new Promise((r) => (answer = r));
    const checked = check();
    await tick();
    presence.event('presence.r', 'c/1', [{ userId: 'new-node-user' }], []);
    answer();
    await checked;
    await tick();
    assert.deepEqual(frames.flat(), [
      { event: 'join', member: { userId: 'new-node-user' } },
      { event: 'leave', userId: 'old-node-user' },
    ]);
    // A late event of the dead registration changes nothing; the next check drops c, now not live.
    presence.event('presence.r', 'b/1', [{ userId: 'zombie' }], []);
    store.reapGate = null;
    await check();
    await tick();
    assert.deepEqual(
      presence
        .members('presence.r')
        ?.map((m) => m.userId)
        .sort(),
      ['a'],
    );
  });

  it('checks liveness once at a time: a check that hangs leaves one more due, not one per beat', async () => {
    // The beat interval is the test's; setImmediate stays real.
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const { store, presence } = setup();
      await presence.start();
      const { beatMs } = presenceTimings(60_000);
      let answer!: () => void;
      store.reapGate = new Promise((r) => (answer = r));
      mock.timers.tick(beatMs);
      await afterWrites();
      assert.equal(store.reaps, 1);
      for (let i = 0; i < 5; i++) mock.timers.tick(beatMs);
      await afterWrites();
      assert.equal(store.reaps, 1, 'no second check while the first is in flight');
      store.reapGate = null;
      answer();
      await afterWrites();
      assert.equal(store.reaps, 2, 'the beats of the hang asked for one more check, run at once');
      await afterWrites();
      assert.equal(store.reaps, 2);
      await presence.stop();
    } finally {
      mock.timers.reset();
    }
  });
});
