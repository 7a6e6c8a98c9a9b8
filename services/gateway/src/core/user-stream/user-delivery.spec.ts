import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLogger } from '@notify/logging';
import { storedNotification } from '@notify/testing';
import type { ReceiptsRepository, StoredNotification } from '@notify/store';
import { GatewayMetrics } from '../../metrics/gateway-metrics';
import type { CloseReason } from '../ports';
import { newSession, type ClientPort, type Session } from '../sessions/session';
import { ReceiptWriter } from './receipt-writer';
import { applyResumePoint } from './resume';
import type { SessionReads } from './session-reads';
import { UserDelivery } from './user-delivery';

/**
 * The core with a protocol that is not v1: a port that records seqs. What reaches a connection is
 * decided by the core alone (order, gaps, duplicates), whatever the wire.
 */
class RecordingPort {
  readonly seqs: number[] = [];
  readonly closes: CloseReason[] = [];
  open = true;
  liveNotification(_s: Session, body: Uint8Array): boolean {
    this.seqs.push(Number(new TextDecoder().decode(body)));
    return this.open;
  }
  storedNotification(_s: Session, n: { seq: number }): boolean {
    this.seqs.push(n.seq);
    return this.open;
  }
  close(_s: Session, reason: CloseReason): void {
    this.closes.push(reason);
  }
}

/** A store holding seqs 1..last, minus the expired ones; counts its reads. */
function storeOf(last: { value: number }, expired: number[] = [], fail = false) {
  const reads = { count: 0 };
  const source = {
    after: async (_userId: string, afterSeq: number): Promise<StoredNotification[]> => {
      reads.count++;
      if (fail) throw new Error('store down');
      const out: StoredNotification[] = [];
      for (let seq = afterSeq + 1; seq <= last.value; seq++)
        if (!expired.includes(seq)) out.push(storedNotification('u', seq));
      return out;
    },
  };
  return { reads, source: source as unknown as SessionReads };
}

const NO_PREFS = { preferences: null, preferencesVersion: 0 };

const live = (seq: number): Uint8Array => new TextEncoder().encode(String(seq));
/** Keeps the expected error of a failed replay off the test output. */
class QuietLogger extends JsonLogger {
  override error(): void {}
}
const quietLog = new QuietLogger('gateway');
/** Receipts are recorded but never flushed here (no store). */
const receipts = new ReceiptWriter({} as ReceiptsRepository, 3_600_000, quietLog);

function connect(port: RecordingPort, since: number | null): Session {
  return newSession(
    { userId: 'u', deviceId: 'd', expiresAt: 0, channels: [], since },
    port as unknown as ClientPort,
    10,
  );
}

describe('UserDelivery', () => {
  it('replays the backlog, then merges live traffic without gap or duplicate', async () => {
    const last = { value: 5 };
    const { source } = storeOf(last);
    const delivery = new UserDelivery(source, receipts, new GatewayMetrics(), quietLog);
    const port = new RecordingPort();
    const s = connect(port, 2);
    assert.equal(
      applyResumePoint(s, {
        lastSeq: 5,
        unread: 0,
        readVersion: 0,
        cursor: null,
        connectionsElsewhere: 0,
        ...NO_PREFS,
      }),
      true,
    );
    // A live 6 while the replay runs only raises the target; the replay then reads up to it.
    const replay = delivery.catchUp(s);
    last.value = 6;
    delivery.live(s, 6, live(6));
    await replay;
    delivery.live(s, 6, live(6)); // duplicate
    delivery.live(s, 7, live(7));
    assert.deepEqual(port.seqs, [3, 4, 5, 6, 7]);
    assert.equal(s.position, 7);
  });

  it('fills a live gap from the store, and skips a seq the store no longer has (expired)', async () => {
    const last = { value: 3 };
    const { source, reads } = storeOf(last, [5]);
    const delivery = new UserDelivery(source, receipts, new GatewayMetrics(), quietLog);
    const port = new RecordingPort();
    const s = connect(port, null);
    applyResumePoint(s, {
      lastSeq: 3,
      unread: 0,
      readVersion: 0,
      cursor: null,
      connectionsElsewhere: 0,
      ...NO_PREFS,
    });
    s.catchingUp = false;
    last.value = 6;
    delivery.live(s, 6, live(6)); // 4 and 5 missing live: a gap
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(port.seqs, [4, 6], '5 expired: skipped, never waited for');
    assert.equal(reads.count, 1);
    delivery.live(s, 7, live(7));
    assert.deepEqual(port.seqs, [4, 6, 7]);
  });

  it('sends each live notification to every connection of the user, each at its own position', () => {
    const delivery = new UserDelivery(storeOf({ value: 0 }).source, receipts, new GatewayMetrics(), quietLog);
    const [a, b] = [new RecordingPort(), new RecordingPort()];
    const first = connect(a, null);
    const second = connect(b, null);
    first.nextOfUser = second;
    for (const s of [first, second]) {
      applyResumePoint(s, {
        lastSeq: 0,
        unread: 0,
        readVersion: 0,
        cursor: null,
        connectionsElsewhere: 0,
        ...NO_PREFS,
      });
      s.catchingUp = false;
    }
    second.closed = true;
    delivery.live(first, 1, live(1));
    assert.deepEqual([a.seqs, b.seqs], [[1], []], 'a closed connection is passed over');
  });

  it('stops at a connection that went away, and closes one whose replay failed', async () => {
    const failing = new UserDelivery(
      storeOf({ value: 3 }, [], true).source,
      receipts,
      new GatewayMetrics(),
      quietLog,
    );
    const port = new RecordingPort();
    const s = connect(port, 0);
    applyResumePoint(s, {
      lastSeq: 3,
      unread: 0,
      readVersion: 0,
      cursor: null,
      connectionsElsewhere: 0,
      ...NO_PREFS,
    });
    await failing.catchUp(s);
    assert.deepEqual(port.closes, ['internal']);
    assert.equal(s.catchingUp, false);

    const gone = new RecordingPort();
    gone.open = false;
    const t = connect(gone, 0);
    applyResumePoint(t, {
      lastSeq: 3,
      unread: 0,
      readVersion: 0,
      cursor: null,
      connectionsElsewhere: 0,
      ...NO_PREFS,
    });
    await new UserDelivery(storeOf({ value: 3 }).source, receipts, new GatewayMetrics(), quietLog).catchUp(t);
    assert.deepEqual(gone.seqs, [1], 'nothing more after the port said the connection is gone');
  });
});
