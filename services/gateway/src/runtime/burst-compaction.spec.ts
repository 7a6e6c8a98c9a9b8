import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BurstCompaction, exposedGc } from './burst-compaction';

describe('BurstCompaction', () => {
  it('collects once after starting up, once the node has been quiet for 2 s', () => {
    let collections = 0;
    const c = new BurstCompaction(() => collections++);
    assert.equal(c.tick(10_000), null, 'not before the node says it is up');
    c.started(0);
    assert.equal(c.tick(1_999), null);
    assert.equal(c.tick(2_000)?.reason, 'startup');
    assert.equal(c.tick(60_000), null, 'once');
    assert.equal(collections, 1);
  });

  it('collects once, after a burst of 1,000 opens has been quiet for 2 s', () => {
    let collections = 0;
    const c = new BurstCompaction(() => collections++);
    c.started(10_000);
    for (let i = 0; i < 1_000; i++) c.opening(10_000 + i);
    assert.equal(c.tick(10_999), null, 'not while sockets are still opening');
    assert.equal(c.tick(12_500), null, 'not before 2 s of quiet');
    const done = c.tick(13_000);
    assert.deepEqual([done?.reason, done?.opened], ['burst', 1_000], 'the startup one folds into it');
    assert.equal(collections, 1);
    assert.equal(c.tick(20_000), null, 'once per burst');
    assert.equal(collections, 1);
  });

  it('leaves small bursts to V8, and does nothing without gc', () => {
    let collections = 0;
    const c = new BurstCompaction(() => collections++);
    c.started(0);
    assert.equal(c.tick(5_000)?.reason, 'startup');
    for (let i = 0; i < 999; i++) c.opening(10_000);
    assert.equal(c.tick(60_000), null);
    assert.equal(collections, 1);
    const none = new BurstCompaction(undefined);
    none.started(0);
    for (let i = 0; i < 5_000; i++) none.opening(0);
    assert.equal(none.available, false);
    assert.equal(none.tick(60_000), null);
  });

  it('finds Node’s gc only when it is exposed', () => {
    const exposed = typeof (globalThis as { gc?: unknown }).gc === 'function';
    assert.equal(exposedGc() !== undefined, exposed);
  });

  it('compacts the old generation: what a burst promoted and dropped is given back', () => {
    // A child with the gateway's flags: 100k survivors interleaved with promoted garbage leave the
    // old generation's pages mostly empty; a full GC without compaction keeps those pages.
    const script = `
      const { getHeapSpaceStatistics } = require('node:v8');
      const { exposedGc } = require(${JSON.stringify(join(__dirname, 'burst-compaction.js'))});
      const keep = [];
      let garbage = [];
      for (let i = 0; i < 100000; i++) {
        keep.push({ i, id: 'user-' + i, keys: [i] });
        garbage.push({ frame: new Array(20).fill(i) });
        if (garbage.length > 5000) garbage = [];
      }
      garbage = null;
      exposedGc()();
      const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
      process.stdout.write(JSON.stringify({ size: old.space_size, used: old.space_used_size, kept: keep.length }));
    `;
    const child = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=2', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(child.status, 0, child.stderr);
    const old = JSON.parse(child.stdout) as { size: number; used: number; kept: number };
    assert.equal(old.kept, 100_000);
    // Uncompacted, this measured 27 MB committed for 16 MB used; compacted, 17 for 16.
    assert.ok(
      old.size <= old.used * 1.15 + 2 ** 20,
      `old space ${(old.size / 1e6).toFixed(1)} MB committed for ${(old.used / 1e6).toFixed(1)} MB used`,
    );
  });
});
