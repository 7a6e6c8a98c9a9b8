import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLogger } from '@notify/logging';
import type { CursorUpdate } from '@notify/store';
import { HeldWrites, playHungWrite } from '@notify/testing';
import { CursorWriter } from './cursor-writer';

const FLUSH_MS = 100;
const quietLog = new JsonLogger('gateway', {}, 'error');
const cursor = (deviceId: string, ackedSeq: number): CursorUpdate => ({ userId: 'u', deviceId, ackedSeq });

describe('CursorWriter', () => {
  // The flush interval is the test's; setImmediate stays real, so writes can settle.
  beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
  afterEach(() => mock.timers.reset());

  it('queues nothing behind a write that hangs: acks meanwhile merge per device and go with the next write', async () => {
    const store = new HeldWrites<readonly CursorUpdate[]>();
    const writer = new CursorWriter({ advance: store.write }, FLUSH_MS, quietLog);
    const { merged, next } = await playHungWrite({
      store,
      intervalMs: FLUSH_MS,
      // d1 acks 1 before the first write, d1 and d2 ack 2…11 while it hangs, d1 acks 12 after.
      change: (step) => {
        writer.record('u', 'd1', step + 1);
        if (step >= 1 && step <= 10) writer.record('u', 'd2', step + 1);
      },
      end: 'fail',
    });
    // The failed write's ack is behind the newer one of its device: one entry per device.
    assert.deepEqual(merged, [cursor('d1', 11), cursor('d2', 11)]);
    assert.deepEqual(next, [cursor('d1', 12)]);
    await writer.close();
  });
});
