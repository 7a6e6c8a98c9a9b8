import {
  HISTORY_PAGE_MAX,
  type ClientFrame,
  type HistoryFrame,
  type HistoryRequestFrame,
} from '@notify/protocol';
import { cancel, later, type Timer } from './host.js';
import type { Link } from './link.js';
import { NotifyError, type HistoryOptions, type HistoryPage } from './types.js';

/** Frames kept while disconnected (mark-read requests); the oldest go first past this. */
const OUTBOX_MAX = 1000;

interface HistoryRequest {
  kind: 'history';
  frame: HistoryRequestFrame;
  resolve: (page: HistoryPage) => void;
  reject: (err: NotifyError) => void;
  timer: Timer;
}

/** A request waiting for the reply that echoes its `ref`. */
export type Pending = HistoryRequest | { kind: 'subscribe' | 'unsubscribe'; channel: string };

/**
 * Requests by `ref` until their reply (or error) comes back, and frames queued while disconnected.
 * History requests outlive a lost connection (they are sent again on the next `ready`); the others
 * are lost with it.
 */
export class Requests {
  private readonly pending = new Map<string, Pending>();
  private nextRef = 0;
  private outbox: ClientFrame[] = [];

  constructor(
    private readonly link: Link,
    private readonly timeoutMs: number,
  ) {}

  /** One inbox page; sent now if connected, else on the next `ready`. */
  history(options: HistoryOptions): Promise<HistoryPage> {
    const frame: HistoryRequestFrame = { type: 'history', ref: this.newRef('h') };
    if (options.before !== undefined) frame.before = options.before;
    if (options.limit !== undefined) frame.limit = Math.min(Math.max(1, options.limit), HISTORY_PAGE_MAX);
    if (options.unreadOnly) frame.unreadOnly = true;
    const ref = frame.ref as string;
    return new Promise((resolve, reject) => {
      const timer = later(() => {
        this.pending.delete(ref);
        reject(new NotifyError('timeout', `history: no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(ref, { kind: 'history', frame, resolve, reject, timer });
      if (this.link.isOpen()) this.link.send(frame);
    });
  }

  /** A new ref for `p`, tracked until its reply. */
  track(prefix: string, p: Pending): string {
    const ref = this.newRef(prefix);
    this.pending.set(ref, p);
    return ref;
  }

  /** A reply that needs nothing more than forgetting its request. */
  settle(ref: string | undefined): void {
    if (ref) this.pending.delete(ref);
  }

  /** The request an `error` frame answers, no longer pending. */
  take(ref: string | undefined): Pending | undefined {
    const p = ref === undefined ? undefined : this.pending.get(ref);
    if (p && ref !== undefined) this.pending.delete(ref);
    return p;
  }

  fail(p: HistoryRequest, error: NotifyError): void {
    cancel(p.timer);
    p.reject(error);
  }

  onHistory(frame: HistoryFrame): void {
    const p = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
    if (!p || p.kind !== 'history') return;
    this.pending.delete(frame.ref as string);
    cancel(p.timer);
    p.resolve({
      items: (frame.items ?? []).map((item) => ({ ...item })),
      nextBefore: frame.nextBefore ?? null,
    });
  }

  /** Sends now if connected; queues while the client runs but is disconnected. */
  queue(frame: ClientFrame): void {
    if (this.link.isOpen()) return this.link.send(frame);
    if (!this.link.isRunning()) return;
    this.outbox.push(frame);
    if (this.outbox.length > OUTBOX_MAX) this.outbox.shift();
  }

  /** A connection is ready: history requests waiting, then queued frames, go out. */
  resend(): void {
    for (const p of this.pending.values()) if (p.kind === 'history') this.link.send(p.frame);
    for (const frame of this.outbox.splice(0)) this.link.send(frame);
  }

  /** The connection ended: requests in flight were lost with the socket, except history (resent). */
  dropLost(): void {
    for (const [ref, p] of this.pending) if (p.kind !== 'history') this.pending.delete(ref);
  }

  /** The client stops: history requests fail with `why()`, and nothing stays queued. */
  abort(why: () => NotifyError): void {
    for (const [ref, p] of this.pending) {
      if (p.kind === 'history') this.fail(p, why());
      this.pending.delete(ref);
    }
    this.outbox = [];
  }

  private newRef(prefix: string): string {
    this.nextRef = (this.nextRef + 1) % Number.MAX_SAFE_INTEGER;
    return `${prefix}${this.nextRef}`;
  }
}
