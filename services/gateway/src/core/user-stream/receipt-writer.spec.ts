import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLogger } from '@notify/logging';
import type { ReceiptUpdate } from '@notify/store';
import { HeldWrites, playHungWrite } from '@notify/testing';
import { newSession, type ClientPort, type Session } from '../sessions/session';
import { ReceiptWriter } from './receipt-writer';

const FLUSH_MS = 100;
const quietLog = new JsonLogger('gateway', {}, 'error');
const socket = (deviceId: string): Session =>
  newSession({ userId: 'u', deviceId, expiresAt: 0, channels: [], since: null }, {} as ClientPort, 10);
/** A flush's receipts as (device, delivered range, acked range), times left out. */
const ranges = (updates: readonly ReceiptUpdate[]) =>
  updates.map((u) => [
    u.deviceId,
    u.delivered && [u.delivered.from, u.delivered.to],
    u.acked && [u.acked.from, u.acked.to],
  ]);

describe('ReceiptWriter', () => {
  // The flush interval is the test's; setImmediate stays real, so writes can settle.
  beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
  afterEach(() => mock.timers.reset());

  it('queues nothing behind a write that hangs: ranges meanwhile grow per socket and go with the next write', async () => {
    const store = new HeldWrites<readonly ReceiptUpdate[]>();
    const writer = new ReceiptWriter({ record: store.write }, FLUSH_MS, quietLog);
    const a = socket('a');
    const b = socket('b');
    const { merged, next } = await playHungWrite({
      store,
      intervalMs: FLUSH_MS,
      // Seq 1 to a before the first write; 2…11 to both while it hangs, a acking each previous one;
      // 12 to b after.
      change: (step) => {
        if (step === 0) return writer.delivered(a, 1);
        if (step === 11) return writer.delivered(b, 12);
        writer.delivered(a, step + 1);
        writer.delivered(b, step + 1);
        writer.acked(a, step, step);
      },
      end: 'release',
    });
    assert.deepEqual(ranges(merged), [
      ['a', [2, 11], [1, 10]],
      ['b', [2, 11], null],
    ]);
    assert.deepEqual(ranges(next), [['b', [12, 12], null]]);
    await writer.close();
  });
});
