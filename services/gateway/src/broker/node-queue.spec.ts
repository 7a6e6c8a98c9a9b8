import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { Topology } from '@notify/amqp';
import { JsonLogger } from '@notify/logging';
import { FakeAmqpBroker, type FakeAmqpChannel } from '@notify/testing';
import { NodeQueue } from './node-queue';

const LINGER_MS = 1_000;
/** node-queue.ts's pause before a failed binding change is tried again. */
const RETRY_MS = 200;

/** Lets setImmediate callbacks (bind batches, onResync) and the promises after them run. */
const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Keeps what the queue logs instead of printing it. */
class RecordingLogger extends JsonLogger {
  readonly warnings: string[] = [];
  override warn(msg: string): void {
    this.warnings.push(msg);
  }
  override info(): void {}
}

describe('NodeQueue bindings (fake broker, fake timers)', () => {
  let broker: FakeAmqpBroker;
  let log: RecordingLogger;
  let queue: NodeQueue;
  /** Per onResync call: how many keys the current channel had bound by then. */
  let resyncs: number[];
  /** What the session registry would list: keys taken with hold and not given back. */
  let held: Set<string>;

  beforeEach(() => {
    // The linger and the retry pause; setImmediate stays real, so `turns` lets bind batches go out.
    mock.timers.enable({ apis: ['setTimeout'] });
    broker = new FakeAmqpBroker();
    log = new RecordingLogger('gateway');
    resyncs = [];
    held = new Set();
    queue = new NodeQueue({
      amqpUrl: 'amqp://unused',
      nodeId: 'spec',
      unbindLingerMs: LINGER_MS,
      log,
      connect: () => broker as unknown as AmqpConnectionManager,
    });
  });
  afterEach(async () => {
    // Every bind and unbind went to this node's queue, on the gateway exchange.
    const ours = `${queue.queueName} ${Topology.gatewayExchange}`;
    for (const ch of broker.channels) for (const target of ch.targets) assert.equal(target, ours);
    await queue.close();
    mock.timers.reset();
  });

  const consumer = {
    onMessage: (): void => undefined,
    onResync: (): void => void resyncs.push(broker.channels.at(-1)?.binds().length ?? -1),
    heldKeys: (): Iterable<string> => held,
  };

  /** Starts the queue on a broker that is up; returns the first channel. */
  async function started(): Promise<FakeAmqpChannel> {
    const starting = queue.start(consumer);
    const channel = await broker.up();
    await starting;
    return channel;
  }

  /** Whether `promise` has settled, after the pending turns ran. */
  async function settled(promise: Promise<unknown>): Promise<boolean> {
    let done = false;
    void promise.then(() => (done = true));
    await turns();
    return done;
  }

  it('binds a counted key once for all its holders, and unbinds it a linger after the last release', async () => {
    const ch = await started();
    assert.equal(broker.consumed, queue.queueName);
    await Promise.all([queue.acquire('channel.a'), queue.acquire('channel.a'), queue.acquire('channel.a')]);
    await queue.acquire('channel.a');
    assert.deepEqual([ch.binds(), queue.boundKeys, queue['keys'].get('channel.a')], [['channel.a'], 1, 4]);

    for (let i = 0; i < 3; i++) queue.release('channel.a');
    mock.timers.tick(LINGER_MS * 3);
    await turns();
    assert.deepEqual(ch.unbinds, [], 'one holder left');

    queue.release('channel.a');
    mock.timers.tick(LINGER_MS - 1);
    await turns();
    assert.deepEqual(ch.unbinds, [], 'lingering');
    assert.equal(queue.boundKeys, 1, 'a lingering key is still bound');
    mock.timers.tick(1);
    await turns();
    assert.deepEqual([ch.binds(), ch.unbinds, queue.boundKeys], [['channel.a'], ['channel.a'], 0]);
  });

  it('keeps a key taken again during its linger: no unbind, no second bind', async () => {
    const ch = await started();
    await queue.acquire('channel.b');
    queue.release('channel.b');
    mock.timers.tick(LINGER_MS - 1);
    assert.equal(await settled(queue.acquire('channel.b')), true, 'already bound: no wait');
    assert.equal(queue['keys'].get('channel.b'), 1, 'a plain count again: the linger is cancelled');
    mock.timers.tick(LINGER_MS * 3);
    await turns();
    assert.deepEqual([ch.binds(), ch.unbinds, queue.boundKeys], [['channel.b'], [], 1]);

    queue.release('channel.b');
    mock.timers.tick(LINGER_MS - 1);
    await turns();
    assert.deepEqual(ch.unbinds, [], 'a new linger, from the second release');
    mock.timers.tick(1);
    await turns();
    assert.deepEqual(ch.unbinds, ['channel.b']);
  });

  it('binds a held key once; its later holders wait with whenBound; it leaves the map once settled', async () => {
    const ch = await started();
    held.add('user.u');
    const first = queue.hold('user.u');
    const boundWhen: number[] = [];
    const later = queue.whenBound('user.u').then(() => boundWhen.push(ch.binds().length));
    assert.equal(await settled(Promise.all([first, later])), true);
    assert.deepEqual(boundWhen, [1], 'whenBound waited for the bind');
    assert.deepEqual(ch.binds(), ['user.u']);
    assert.equal(queue['keys'].has('user.u'), false, 'a settled held key costs no entry');
    assert.equal(queue.boundKeys, 1);
    assert.equal(await settled(queue.whenBound('user.u')), true);
    assert.equal(await settled(queue.whenBound('user.nobody')), true);

    held.delete('user.u');
    queue.unhold('user.u');
    queue.unhold('user.u'); // a second unhold within the linger changes nothing
    mock.timers.tick(LINGER_MS / 2);
    held.add('user.u');
    assert.equal(await settled(queue.hold('user.u')), true, 'held again during the linger');
    mock.timers.tick(LINGER_MS * 3);
    await turns();
    assert.deepEqual([ch.binds(), ch.unbinds, queue.boundKeys], [['user.u'], [], 1]);

    held.delete('user.u');
    queue.unhold('user.u');
    assert.equal(queue.boundKeys, 1, 'lingering');
    mock.timers.tick(LINGER_MS);
    await turns();
    assert.deepEqual([ch.unbinds, queue.boundKeys, queue['keys'].size], [['user.u'], 0, 0]);
  });

  it('sends the keys asked for in one loop turn in one round trip, cut at 100 keys', async () => {
    const ch = await started();
    const keys = Array.from({ length: 250 }, (_, i) => `user.k${i}`);
    for (const k of keys.slice(200)) held.add(k);
    await Promise.all([
      ...keys.slice(0, 200).map((k) => queue.acquire(k)),
      ...[...held].map((k) => queue.hold(k)),
    ]);
    const sizes = ch.batches.map((b) => b.length);
    assert.deepEqual([sizes, ch.binds(), queue.boundKeys], [[100, 100, 50], keys, 250]);

    await queue.acquire('channel.next');
    assert.deepEqual(ch.batches.at(-1), ['channel.next'], 'a later turn: a round trip of its own');
  });

  it('holds binds asked for before the queue is declared until it is', async () => {
    const starting = queue.start(consumer);
    const counted = queue.acquire('channel.early');
    held.add('user.early');
    const heldEarly = queue.hold('user.early');
    assert.equal(await settled(Promise.all([counted, heldEarly])), false);
    assert.equal(queue.connected, false);

    const ch = await broker.up();
    await starting;
    assert.equal(await settled(Promise.all([counted, heldEarly])), true, 'without waiting for a retry');
    assert.deepEqual(ch.batches, [['channel.early', 'user.early']], 'bound by the first setup, once');
    assert.deepEqual([log.warnings, queue.connected, queue.boundKeys], [[], true, 2]);
  });

  it('rebinds every wanted key on a reconnect, then calls onResync (not after the first setup)', async () => {
    const first = await started();
    await queue.acquire('channel.c');
    held.add('user.h');
    await queue.hold('user.h');
    await queue.acquire('channel.lingering');
    queue.release('channel.lingering');
    await queue.acquire('channel.gone');
    queue.release('channel.gone');
    mock.timers.tick(LINGER_MS / 2);
    await queue.acquire('channel.lingering'); // now lingers until LINGER_MS * 1.5
    queue.release('channel.lingering');
    mock.timers.tick(LINGER_MS / 2);
    await turns();
    assert.deepEqual(first.unbinds, ['channel.gone']);
    assert.deepEqual(resyncs, [], 'not after the first setup');

    broker.drop();
    const second = await broker.up();
    assert.deepEqual(second.queues, [queue.queueName], 'the queue is declared again');
    assert.deepEqual(second.binds().sort(), ['channel.c', 'channel.lingering', 'user.h']);
    await turns();
    assert.deepEqual([resyncs, queue.boundKeys], [[3], 3], 'onResync once, after the bindings');

    mock.timers.tick(LINGER_MS / 2);
    await turns();
    assert.deepEqual([second.unbinds, queue.boundKeys], [['channel.lingering'], 2], 'the linger goes on');
  });

  it('retries a refused bind after a pause, and one failed by a dropped channel on the new channel', async () => {
    const first = await started();
    first.refuseBinds = 1;
    const retried = queue.acquire('channel.r');
    assert.equal(await settled(retried), false);
    assert.deepEqual(log.warnings, ['binding change failed; retrying after reconnect']);
    mock.timers.tick(RETRY_MS - 1);
    assert.equal(await settled(retried), false);
    mock.timers.tick(1);
    assert.equal(await settled(retried), true);
    assert.deepEqual(first.binds(), ['channel.r']);

    broker.drop();
    const lost = queue.acquire('channel.lost');
    assert.equal(await settled(lost), false, 'the bind failed on the dropped channel');
    mock.timers.tick(RETRY_MS * 3);
    assert.equal(await settled(lost), false);
    assert.equal(log.warnings.length, 2, 'the retry waits for the reconnect, not only the pause');
    const second = await broker.up();
    await turns();
    mock.timers.tick(RETRY_MS);
    assert.equal(await settled(lost), true);
    assert.deepEqual([second.binds().sort(), queue.boundKeys], [['channel.lost', 'channel.r'], 2]);
  });

  it('sends an unbind that fell due while disconnected to the new channel once reconnected', async () => {
    const first = await started();
    await queue.acquire('channel.u');
    queue.release('channel.u');
    broker.drop();
    mock.timers.tick(LINGER_MS);
    await turns();
    assert.deepEqual(first.unbinds, []);
    assert.equal(queue.boundKeys, 1, 'the broker may still hold it');

    const second = await broker.up();
    assert.deepEqual(second.binds(), [], 'not wanted: not rebound');
    await turns();
    mock.timers.tick(RETRY_MS);
    await turns();
    assert.deepEqual([second.unbinds, queue.boundKeys], [['channel.u'], 0]);
  });

  it('ignores a release of a key it does not hold, and releases beyond the count', async () => {
    const ch = await started();
    queue.release('channel.unknown');
    await queue.acquire('channel.x');
    queue.release('channel.x');
    queue.release('channel.x');
    mock.timers.tick(LINGER_MS);
    await turns();
    queue.release('channel.x');
    assert.deepEqual([ch.unbinds, queue.boundKeys], [['channel.x'], 0]);

    // Once more, with the extra release and a new holder during the linger.
    await queue.acquire('channel.x');
    queue.release('channel.x');
    queue.release('channel.x');
    mock.timers.tick(LINGER_MS / 2);
    await queue.acquire('channel.x');
    queue.release('channel.x');
    assert.equal(queue.boundKeys, 1, 'counted from one again, not from below zero');
    mock.timers.tick(LINGER_MS);
    await turns();
    assert.deepEqual(
      [ch.binds(), ch.unbinds, queue.boundKeys],
      [['channel.x', 'channel.x'], ['channel.x', 'channel.x'], 0],
    );
  });

  it('lets go of a held key whose bind is still in flight', async () => {
    const ch = await started();
    held.add('user.quick');
    const holding = queue.hold('user.quick');
    held.delete('user.quick');
    queue.unhold('user.quick');
    queue.unhold('user.quick');
    assert.equal(await settled(holding), true);
    assert.equal(queue.boundKeys, 1, 'bound, lingering');
    mock.timers.tick(LINGER_MS);
    await turns();
    assert.deepEqual(
      [ch.binds(), ch.unbinds, queue.boundKeys, queue['keys'].size],
      [['user.quick'], ['user.quick'], 0, 0],
    );
  });
});
