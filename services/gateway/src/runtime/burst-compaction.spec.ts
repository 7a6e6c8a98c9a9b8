import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BurstCompaction, exposedGc } from './burst-compaction';

describe('BurstCompaction', () => {
  it('collects once, after a burst of 1,000 opens has been quiet for 2 s', () => {
    let collections = 0;
    const c = new BurstCompaction(() => collections++);
    for (let i = 0; i < 1_000; i++) c.opening(10_000 + i);
    assert.equal(c.tick(10_999), null, 'not while sockets are still opening');
    assert.equal(c.tick(12_500), null, 'not before 2 s of quiet');
    const done = c.tick(13_000);
    assert.equal(done?.opened, 1_000);
    assert.equal(collections, 1);
    assert.equal(c.tick(20_000), null, 'once per burst');
    assert.equal(collections, 1);
  });

  it('leaves small bursts to V8, and does nothing without gc', () => {
    let collections = 0;
    const c = new BurstCompaction(() => collections++);
    for (let i = 0; i < 999; i++) c.opening(0);
    assert.equal(c.tick(60_000), null);
    assert.equal(collections, 0);
    const none = new BurstCompaction(undefined);
    for (let i = 0; i < 5_000; i++) none.opening(0);
    assert.equal(none.available, false);
    assert.equal(none.tick(60_000), null);
  });

  it('finds Node’s gc only when it is exposed', () => {
    const exposed = typeof (globalThis as { gc?: unknown }).gc === 'function';
    assert.equal(exposedGc() !== undefined, exposed);
  });
});
