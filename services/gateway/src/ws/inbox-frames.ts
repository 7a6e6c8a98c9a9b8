import { DeliveryHeader, DeliveryKind, userRoutingKey } from '@notify/amqp';
import type { JsonLogger } from '@notify/logging';
import { HISTORY_PAGE_MAX, type HistoryFrame, type ReadFrame } from '@notify/protocol';
import { toPayload, type InboxRepository, type ReadChange, type ReadSelector } from '@notify/store';
import type { NodeQueue } from '../delivery/node-queue';
import type { Session } from '../session/session';
import type { SessionRegistry } from '../session/session-registry';
import type { FrameSender } from './frame-sender';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** 256 ids (~10 KB of JSON) fit well inside the default 16 KiB frame limit. */
const MAX_READ_IDS = 256;
const DEFAULT_HISTORY_LIMIT = 20;

type Fields = Record<string, unknown>;

/**
 * `read` and `history` frames. A read change is sent at once to the user's sockets on this node and
 * broadcast through notify.delivery to the other nodes; every socket keeps only the newest version.
 */
export class InboxFrames {
  constructor(
    private readonly inbox: InboxRepository,
    private readonly nodeQueue: NodeQueue,
    private readonly registry: SessionRegistry,
    private readonly sender: FrameSender,
    private readonly log: JsonLogger,
  ) {}

  async read(s: Session, f: Fields, ref: string | undefined): Promise<void> {
    const selector = parseReadSelector(f);
    if (typeof selector === 'string') return this.sender.error(s, 'bad_request', selector, ref);
    let change: ReadChange;
    try {
      change = await this.inbox.markRead(s.userId, selector);
    } catch (err) {
      this.log.error('mark read failed', { userId: s.userId, error: err });
      return this.sender.error(s, 'internal', 'could not mark read; retry', ref);
    }
    const frame: ReadFrame = {
      type: 'read',
      ids: change.ids,
      unread: change.unread,
      asOfSeq: change.asOfSeq,
    };
    const body = JSON.stringify(frame);
    // The asking socket's copy echoes its ref, so a client knows its request was applied.
    const reply = ref === undefined ? body : JSON.stringify({ ...frame, ref });
    if (change.ids.length === 0) {
      // Nothing changed: only the asking socket hears back, with the current count.
      this.sender.send(s, reply);
      return;
    }
    if (change.version > s.readVersion) {
      s.readVersion = change.version;
      this.sender.send(s, reply);
    }
    this.deliverRead(this.registry.firstOf(s.userId), change.version, body);
    this.nodeQueue
      .publish(userRoutingKey(s.userId), Buffer.from(body), DeliveryKind.Read, {
        [DeliveryHeader.userId]: s.userId,
        [DeliveryHeader.readVersion]: change.version,
      })
      .catch((err: unknown) =>
        this.log.warn('read broadcast failed; other nodes catch up on reconnect', { error: err }),
      );
  }

  /** A read-state change for the local sockets of one user, from `first` on; stale versions are dropped. */
  deliverRead(first: Session | undefined, version: number, body: string | Uint8Array): void {
    for (let session: Session | null = first ?? null; session; session = session.nextOfUser) {
      if (session.closed || version <= session.readVersion) continue;
      session.readVersion = version;
      this.sender.send(session, body);
    }
  }

  async history(s: Session, f: Fields, ref: string | undefined): Promise<void> {
    const before = f.before;
    const limit = f.limit ?? DEFAULT_HISTORY_LIMIT;
    const unreadOnly = f.unreadOnly ?? false;
    if (before !== undefined && !(Number.isSafeInteger(before) && (before as number) >= 1)) {
      return this.sender.error(s, 'bad_request', 'before must be a seq (integer ≥ 1)', ref);
    }
    if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > HISTORY_PAGE_MAX) {
      return this.sender.error(
        s,
        'bad_request',
        `limit must be an integer from 1 to ${HISTORY_PAGE_MAX}`,
        ref,
      );
    }
    if (typeof unreadOnly !== 'boolean')
      return this.sender.error(s, 'bad_request', 'unreadOnly must be a boolean', ref);
    try {
      const page = await this.inbox.history(s.userId, {
        before: before as number | undefined,
        limit: limit as number,
        unreadOnly,
      });
      const frame: HistoryFrame = {
        type: 'history',
        items: page.items.map(toPayload),
        nextBefore: page.nextBefore,
      };
      if (ref !== undefined) frame.ref = ref;
      this.sender.send(s, JSON.stringify(frame));
    } catch (err) {
      this.log.error('history failed', { userId: s.userId, error: err });
      this.sender.error(s, 'internal', 'could not read history; retry', ref);
    }
  }
}

function parseReadSelector(f: Fields): ReadSelector | string {
  const hasIds = f.ids !== undefined;
  const hasUpTo = f.upTo !== undefined;
  if (hasIds === hasUpTo) return 'read needs exactly one of ids or upTo';
  if (hasUpTo) {
    return Number.isSafeInteger(f.upTo) && (f.upTo as number) >= 0
      ? { upTo: f.upTo as number }
      : 'upTo must be a seq (integer ≥ 0)';
  }
  const ids = f.ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_READ_IDS) {
    return `ids must be an array of 1 to ${MAX_READ_IDS} notification ids`;
  }
  if (!ids.every((id) => typeof id === 'string' && UUID.test(id)))
    return 'ids must be notification ids (UUIDs)';
  return { ids: ids as string[] };
}
