import type { NotificationPayload } from '@notify/protocol';

export interface NewNotification {
  userId: string;
  topic: string;
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
  /** Producer's retry key (HTTP idempotencyKey or AMQP message-id), scoped per user. */
  idempotencyKey?: string;
  expiresAt?: Date;
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

export function toPayload(n: StoredNotification): NotificationPayload {
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
  };
}
