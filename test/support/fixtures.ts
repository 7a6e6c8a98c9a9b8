import { localMinutes } from '@notify/protocol';
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

/**
 * A fixed-offset zone (Etc/GMT±N) whose clock reads, now, minutes-since-midnight for which `wanted`
 * holds: tests of quiet hours pick the zone, they never set the clock. 27 offsets cover every hour.
 */
export function zoneWhereClock(wanted: (minutes: number) => boolean): string {
  const now = new Date();
  for (let offset = -12; offset <= 14; offset++) {
    // Etc/GMT+N is N hours *behind* UTC (POSIX sign).
    const zone = offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
    if (wanted(localMinutes(now, zone))) return zone;
  }
  throw new Error('no fixed-offset zone has its clock where wanted');
}
