import { sql, type RawBuilder } from 'kysely';

/**
 * The row conditions every inbox query shares, written once. `alias` is a fixed table alias of the
 * caller ("n."), never input.
 */

/** Not past its TTL: expired notifications are never replayed, listed or counted. */
export const unexpired = (alias = ''): RawBuilder<unknown> =>
  sql.raw(`(${alias}expires_at IS NULL OR ${alias}expires_at > now())`);

/**
 * Counted in `unread`: unread, not retracted, not silent. It implies the predicate of the partial
 * index notifications_unread (migration 0007), so a count is a scan of that index.
 */
export const countedUnread = (alias = ''): RawBuilder<unknown> =>
  sql.raw(`${alias}read_at IS NULL AND ${alias}retracted_at IS NULL AND NOT ${alias}silent`);

/** The user's unread count, as `ready`, `read` and `retracted` report it. */
export const unreadCountOf = (userId: string | RawBuilder<unknown>): RawBuilder<number> =>
  sql<number>`(SELECT count(*) FROM notifications n
    WHERE n.user_id = ${userId} AND ${countedUnread('n.')} AND ${unexpired('n.')})`;

/**
 * A topic filter: `a.b` exactly, or `a.*` for every topic below `a` (compared by prefix, so the
 * LIKE wildcard `_`, legal in topics, needs no escaping).
 */
export function topicMatches(pattern: string): RawBuilder<unknown> {
  if (!pattern.endsWith('.*')) return sql`topic = ${pattern}`;
  const prefix = pattern.slice(0, -1);
  return sql`(length(topic) > ${prefix.length} AND left(topic, ${prefix.length}) = ${prefix})`;
}
