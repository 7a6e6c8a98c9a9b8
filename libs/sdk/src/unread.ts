import type { NotificationFrame, ReadFrame, RetractedFrame } from '@notify/protocol';
import type { Link } from './link.js';

/** Unread notifications tracked by seq between two read frames; older ones fold into the count. */
const FRESH_MAX = 10_000;

/**
 * The unread count: the server's count as of seq `asOf`, plus the unread notifications seen since with
 * a higher seq (a `read` broadcast and a new notification may arrive in either order).
 */
export class Unread {
  private base = 0;
  private asOfValue = 0;
  private readonly fresh = new Map<number, string>();
  private value = 0;

  constructor(private readonly link: Link) {}

  get count(): number {
    return this.value;
  }

  /** The seq the server's count was taken at. */
  get asOf(): number {
    return this.asOfValue;
  }

  /** A connection's `ready`: the server's count as of its newest seq. */
  reset(unread: number, asOf: number): void {
    this.base = unread;
    this.asOfValue = asOf;
    this.fresh.clear();
  }

  /** Another user: what was seen belongs to the previous one. */
  forget(): void {
    this.fresh.clear();
  }

  /** A notification was delivered to the app. */
  seen(frame: NotificationFrame): void {
    // Silent notifications (muted, quiet hours) are not counted by the server either.
    if (frame.readAt !== null || frame.silent || frame.seq <= this.asOfValue) return;
    this.fresh.set(frame.seq, frame.id);
    if (this.fresh.size > FRESH_MAX) {
      // Exact still: the next read frame's count covers it (its asOfSeq is above this seq).
      this.fresh.delete(this.fresh.keys().next().value as number);
      this.base++;
    }
    this.update();
  }

  onRead(frame: ReadFrame): void {
    const ids = this.apply(frame);
    this.link.emit('read', [{ ids, unread: this.value }]);
  }

  /** Retracted notifications leave the count like read ones (the frame's count, when it has one). */
  onRetracted(frame: RetractedFrame | { ids: string[] }): string[] {
    return this.apply(frame);
  }

  private apply(frame: { ids?: unknown; unread?: unknown; asOfSeq?: unknown }): string[] {
    const ids = Array.isArray(frame.ids) ? (frame.ids as string[]) : [];
    if (ids.length > 0) {
      const gone = new Set(ids);
      for (const [seq, id] of this.fresh) if (gone.has(id)) this.fresh.delete(seq);
    }
    if (typeof frame.unread === 'number') {
      this.base = frame.unread;
      this.asOfValue = typeof frame.asOfSeq === 'number' ? frame.asOfSeq : this.asOfValue;
      for (const seq of this.fresh.keys()) if (seq <= this.asOfValue) this.fresh.delete(seq);
    }
    this.update();
    return ids;
  }

  /** Emits `unread` when the count changed. */
  update(): void {
    const unread = Math.max(0, this.base + this.fresh.size);
    if (unread === this.value) return;
    this.value = unread;
    this.link.emit('unread', [unread]);
  }
}
