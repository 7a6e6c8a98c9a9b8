import { sql } from 'kysely';
import type { Args } from '../kit/args';
import type { Command, CommandOutput } from '../kit/command';
import { withDatabase } from '../kit/connections';
import { table } from '../kit/output';

export const inboxCommand: Command = {
  name: 'inbox',
  operands: '<userId>',
  summary:
    "A user's stream from PostgreSQL: last seq, unread count, latest notifications, device cursors and open connections.",
  details: 'Reads NOTIFY_DATABASE_URL. Expired notifications are left out, as the gateways leave them out.',
  positionals: 1,
  options: [{ name: 'limit', value: '<n>', help: 'latest notifications to list (default 20, at most 1000)' }],
  async run(args: Args): Promise<CommandOutput> {
    const userId = args.positionals[0] ?? '';
    const limit = args.int('limit', 20, 0, 1000);
    const inbox = await withDatabase(async (db) => {
      const live = sql<boolean>`(expires_at IS NULL OR expires_at > now())`;
      const stream = await db
        .selectFrom('user_streams')
        .select(['last_seq', 'read_version'])
        .where('user_id', '=', userId)
        .executeTakeFirst();
      const unread = await db
        .selectFrom('notifications')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('user_id', '=', userId)
        .where('read_at', 'is', null)
        .where(live)
        .executeTakeFirstOrThrow();
      const notifications = await db
        .selectFrom('notifications')
        .select(['seq', 'id', 'topic', 'title', 'created_at', 'read_at', 'expires_at'])
        .where('user_id', '=', userId)
        .where(live)
        .orderBy('seq', 'desc')
        .limit(limit)
        .execute();
      const cursors = await db
        .selectFrom('device_cursors')
        .select(['device_id', 'acked_seq', 'updated_at'])
        .where('user_id', '=', userId)
        .orderBy('device_id')
        .execute();
      const connections = await db
        .selectFrom('user_connections')
        .select(['connection_id', 'device_id', 'node_id', 'opened_at'])
        .where('user_id', '=', userId)
        .orderBy('opened_at')
        .execute();
      return {
        userId,
        lastSeq: Number(stream?.last_seq ?? 0),
        readVersion: Number(stream?.read_version ?? 0),
        unread: Number(unread.n),
        notifications: notifications.map((n) => ({
          seq: Number(n.seq),
          id: n.id,
          topic: n.topic,
          title: n.title,
          createdAt: new Date(n.created_at).toISOString(),
          readAt: n.read_at ? new Date(n.read_at).toISOString() : null,
        })),
        cursors: cursors.map((c) => ({
          deviceId: c.device_id,
          ackedSeq: Number(c.acked_seq),
          updatedAt: new Date(c.updated_at).toISOString(),
        })),
        connections: connections.map((c) => ({
          connectionId: c.connection_id,
          deviceId: c.device_id,
          nodeId: c.node_id,
          openedAt: new Date(c.opened_at).toISOString(),
        })),
      };
    });
    const text = [
      `user ${userId}: last seq ${inbox.lastSeq}, unread ${inbox.unread}, read version ${inbox.readVersion}`,
      '',
      `latest ${inbox.notifications.length} notifications:`,
      table(
        ['seq', 'topic', 'title', 'created', 'read', 'id'],
        inbox.notifications.map((n) => [n.seq, n.topic, n.title, n.createdAt, n.readAt, n.id]),
      ),
      '',
      `device cursors (${inbox.cursors.length}):`,
      table(
        ['device', 'acked seq', 'behind', 'updated'],
        inbox.cursors.map((c) => [c.deviceId, c.ackedSeq, inbox.lastSeq - c.ackedSeq, c.updatedAt]),
      ),
      '',
      `open connections (${inbox.connections.length}):`,
      table(
        ['device', 'node', 'opened'],
        inbox.connections.map((c) => [c.deviceId, c.nodeId, c.openedAt]),
      ),
    ].join('\n');
    return { json: inbox, text };
  },
};
