import type { StoredNotification } from '@notify/store';

/** A stored notification as the store returns it, for specs that need one without a database. */
export const storedNotification = (userId: string, seq: number): StoredNotification => ({
  userId,
  seq,
  id: `id-${userId}-${seq}`,
  topic: 't',
  title: null,
  body: null,
  data: null,
  createdAt: new Date(0),
  expiresAt: null,
  readAt: null,
  retractedAt: null,
  silent: false,
});
