import type { NotificationPayload, Priority, StreamPayload } from '@notify/protocol';

export interface NewNotification {
  userId: string;
  topic: string;
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
  /** Producer's retry key (HTTP idempotencyKey or AMQP message-id), scoped per user. */
  idempotencyKey?: string;
  expiresAt?: Date;
  /** `critical` is never silenced by the user's preferences. */
  priority?: Priority;
}

export interface StoredNotification {
  userId: string;
  seq: number;
  id: string;
  topic: string;
  title: string | null;
  body: string | null;
  data: Record<string, unknown> | null;
  createdAt: Date;
  expiresAt: Date | null;
  readAt: Date | null;
  /** Set once the backend retracted it: the row keeps its seq, its content is gone. */
  retractedAt: Date | null;
  /** Muted or in quiet hours when stored: delivered without a toast, never counted as unread. */
  silent: boolean;
}

export interface AppendResult {
  userId: string;
  id: string;
  seq: number;
  /** True when the idempotency key was seen within its window: nothing new was stored. */
  duplicate: boolean;
  /** The stored record, when it still exists (a duplicate's original may have expired). */
  notification: StoredNotification | null;
}

/** The stream's payload of a stored notification: `{seq, id, retracted: true}` once it was retracted. */
export function toPayload(n: StoredNotification): StreamPayload {
  if (n.retractedAt !== null) return { seq: n.seq, id: n.id, retracted: true };
  return toContentPayload(n);
}

/** The notification with its content (history and lists, which never show retracted ones). */
export function toContentPayload(n: StoredNotification): NotificationPayload {
  const payload: NotificationPayload = {
    seq: n.seq,
    id: n.id,
    topic: n.topic,
    createdAt: n.createdAt.toISOString(),
    readAt: n.readAt ? n.readAt.toISOString() : null,
  };
  if (n.title !== null) payload.title = n.title;
  if (n.body !== null) payload.body = n.body;
  if (n.data !== null) payload.data = n.data;
  if (n.silent) payload.silent = true;
  return payload;
}

export interface NotificationRow {
  user_id: string;
  seq: number;
  id: string;
  topic: string;
  title: string | null;
  body: string | null;
  data: Record<string, unknown> | null;
  created_at: Date;
  expires_at: Date | null;
  read_at: Date | null;
  retracted_at: Date | null;
  silent: boolean;
}

export function fromRow(row: NotificationRow): StoredNotification {
  return {
    userId: row.user_id,
    seq: row.seq,
    id: row.id,
    topic: row.topic,
    title: row.title,
    body: row.body,
    data: row.data,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    readAt: row.read_at,
    retractedAt: row.retracted_at,
    silent: row.silent,
  };
}
