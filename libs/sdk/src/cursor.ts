import { cancel, later, type Timer } from './host.js';
import type { Link } from './link.js';
import { readItem, writeItem, type KeyValueStorage } from './storage.js';
import { NotifyError } from './types.js';

/**
 * Where this device is in its user's stream: what was delivered (the resume point), what the app
 * finished with, the cumulative acks that tell the server, and the resume point kept in storage.
 */
export class Cursor {
  private userIdValue: string | null = null;
  /** Highest seq handed to the app (duplicates at or below it are dropped). */
  private deliveredValue: number | null = null;
  /** A connection made without a resume point starts at `ready.lastSeq`: resume there next time. */
  private floor: number | null = null;
  /** Highest seq the app finished with (autoAck) or acked itself. */
  private processed = 0;
  /** Seqs whose handlers returned promises still pending, in order, for in-order acks. */
  private inflight: { seq: number; done: boolean }[] = [];
  /** The `since` this connection was opened with. */
  private sentSince: number | null = null;
  /** The highest seq this connection may ack (what it delivered, or its resume point). */
  private ackCeiling = 0;
  private ackSent = 0;
  private ackTimer: Timer | null = null;

  constructor(
    private readonly storage: KeyValueStorage,
    private readonly prefix: string,
    private readonly autoAck: boolean,
    private readonly ackDelayMs: number,
    private readonly link: Link,
  ) {}

  get userId(): string | null {
    return this.userIdValue;
  }

  /** Highest seq delivered to the app, or null before the first. */
  get delivered(): number | null {
    return this.deliveredValue;
  }

  /** The `since` to open a connection with; remembered as this connection's. */
  resumePoint(): number | null {
    const since = this.deliveredValue ?? this.floor;
    this.sentSince = since;
    return since;
  }

  /** A connection is ready at the server's `lastSeq`. */
  ready(lastSeq: number): void {
    if (this.deliveredValue !== null && lastSeq < this.deliveredValue) {
      // The server's stream is behind what this device saw (a database was reset): follow the server.
      this.deliveredValue = this.processed = lastSeq;
      this.inflight = [];
      this.persist(true);
    }
    if (this.sentSince === null && this.deliveredValue === null) this.floor = lastSeq;
    // Acks up to the resume point are allowed; beyond it, only what this connection delivered.
    this.ackCeiling = this.sentSince === null ? 0 : Math.min(this.sentSince, lastSeq);
    this.ackSent = 0;
  }

  /** A notification arrived: true when it is new for the app (not a redelivery). */
  accept(seq: number): boolean {
    if (seq > this.ackCeiling) this.ackCeiling = seq;
    if (this.deliveredValue !== null && seq <= this.deliveredValue) return false;
    this.deliveredValue = seq;
    return true;
  }

  /** With autoAck, `seq` counts as finished once the handlers' results (promises) have settled. */
  afterHandlers(seq: number, results: unknown[]): void {
    if (!this.autoAck) return;
    const promises = results.filter(
      (r): r is PromiseLike<unknown> => typeof (r as PromiseLike<unknown> | null)?.then === 'function',
    );
    if (promises.length === 0 && this.inflight.length === 0) return this.handled(seq);
    const entry = { seq, done: promises.length === 0 };
    this.inflight.push(entry);
    if (entry.done) return this.drainInflight();
    void Promise.allSettled(promises).then((settled) => {
      for (const s of settled) {
        if (s.status === 'rejected')
          this.link.report(new NotifyError('handler', 'a notification handler failed', { cause: s.reason }));
      }
      entry.done = true;
      this.drainInflight();
    });
  }

  /** The app acks every notification up to `seq` itself. */
  ack(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new TypeError('ack: seq must be an integer ≥ 0');
    const upTo = Math.min(seq, this.deliveredValue ?? 0);
    if (upTo <= this.processed) return;
    this.processed = upTo;
    this.scheduleAck();
  }

  scheduleAck(): void {
    if (this.ackTimer === null) this.ackTimer = later(() => this.flushAck(), this.ackDelayMs);
  }

  flushAck(): void {
    this.ackTimer = cancel(this.ackTimer);
    this.persist();
    if (!this.link.isOpen()) return;
    const seq = Math.min(this.processed, this.ackCeiling);
    if (seq > this.ackSent) {
      this.link.send({ type: 'ack', seq });
      this.ackSent = seq;
    }
  }

  /** The client stops: no more acks, the resume point is stored. */
  stop(): void {
    this.ackTimer = cancel(this.ackTimer);
    this.persist();
  }

  /** Loads the resume point stored for `userId` (a client serves one user at a time). */
  switchUser(userId: string | null): void {
    this.userIdValue = userId;
    const key = this.seqKey();
    const stored = key === null ? null : Number(readItem(this.storage, key));
    const seq = stored !== null && Number.isSafeInteger(stored) && stored > 0 ? stored : null;
    this.deliveredValue = seq;
    this.processed = seq ?? 0;
    this.floor = null;
    this.inflight = [];
  }

  /** Stores the resume point: what the app has finished with, or the floor of a fresh device. */
  persist(force = false): void {
    const key = this.seqKey();
    if (key === null) return;
    const seq = Math.max(this.processed, this.deliveredValue === null ? (this.floor ?? 0) : 0);
    if (seq <= 0 && !force) return;
    writeItem(this.storage, key, String(seq));
  }

  private drainInflight(): void {
    let seq = 0;
    while (this.inflight.length > 0 && this.inflight[0].done)
      seq = (this.inflight.shift() as { seq: number }).seq;
    if (seq > 0) this.handled(seq);
  }

  private handled(seq: number): void {
    if (seq <= this.processed) return;
    this.processed = seq;
    this.scheduleAck();
  }

  private seqKey(): string | null {
    return this.userIdValue === null ? null : `${this.prefix}.seq.${this.userIdValue}`;
  }
}
