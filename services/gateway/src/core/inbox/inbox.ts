import type { JsonLogger } from '@notify/logging';
import {
  toContentPayload,
  type InboxRepository,
  type ReadChange as StoredReadChange,
  type ReadSelector,
} from '@notify/store';
import type { ReadBroadcast, ReadChange, RetractionChange } from '../ports';
import type { Session } from '../sessions/session';
import type { SessionRegistry } from '../sessions/session-registry';

export interface HistoryQuery {
  before?: number;
  limit: number;
  unreadOnly: boolean;
}

/**
 * Read state and the inbox page. A read change is sent at once to the user's sockets on this node and
 * broadcast to the other nodes; every socket keeps only the newest version.
 */
export class Inbox {
  constructor(
    private readonly inbox: InboxRepository,
    private readonly broadcast: ReadBroadcast,
    private readonly registry: SessionRegistry,
    private readonly log: JsonLogger,
  ) {}

  async markRead(s: Session, selector: ReadSelector, ref: string | undefined): Promise<void> {
    let stored: StoredReadChange;
    try {
      stored = await this.inbox.markRead(s.userId, selector);
    } catch (err) {
      this.log.error('mark read failed', { userId: s.userId, error: err });
      return s.protocol.refuse(s, { kind: 'internal', message: 'could not mark read; retry', ref });
    }
    const change: ReadChange = { ids: stored.ids, unread: stored.unread, asOfSeq: stored.asOfSeq };
    if (change.ids.length === 0) {
      // Nothing changed: only the asking socket hears back, with the current count.
      return s.protocol.readChanged(s, change, ref);
    }
    // The asking socket's copy echoes its ref, so a client knows its request was applied.
    if (stored.version > s.readVersion) {
      s.readVersion = stored.version;
      s.protocol.readChanged(s, change, ref);
    }
    this.deliverRead(this.registry.firstOf(s.userId), stored.version, change);
    this.broadcast
      .publishRead(s.userId, stored.version, change)
      .catch((err: unknown) =>
        this.log.warn('read broadcast failed; other nodes catch up on reconnect', { error: err }),
      );
  }

  /** A read-state change for the local sockets of one user, from `first` on; stale versions are dropped. */
  deliverRead(first: Session | undefined, version: number, change: ReadChange): void {
    for (let session: Session | null = first ?? null; session; session = session.nextOfUser) {
      if (session.closed || version <= session.readVersion) continue;
      session.readVersion = version;
      session.protocol.readChanged(session, change);
    }
  }

  /**
   * Notifications the backend retracted, for the local sockets of one user: every socket hears the
   * ids; the count only when the change is newer than the socket's read state.
   */
  deliverRetracted(first: Session | undefined, version: number, change: RetractionChange): void {
    for (let session: Session | null = first ?? null; session; session = session.nextOfUser) {
      if (session.closed) continue;
      const newer = version > session.readVersion;
      if (newer) session.readVersion = version;
      session.protocol.retracted(session, change, newer);
    }
  }

  async history(s: Session, query: HistoryQuery, ref: string | undefined): Promise<void> {
    try {
      const page = await this.inbox.history(s.userId, query);
      s.protocol.history(s, { items: page.items.map(toContentPayload), nextBefore: page.nextBefore }, ref);
    } catch (err) {
      this.log.error('history failed', { userId: s.userId, error: err });
      s.protocol.refuse(s, { kind: 'internal', message: 'could not read history; retry', ref });
    }
  }
}
