import type { Args } from '../kit/args';
import type { Command, CommandOutput } from '../kit/command';
import { env, withDatabase } from '../kit/connections';
import { table } from '../kit/output';

export const nodesCommand: Command = {
  name: 'nodes',
  operands: '',
  summary: 'Gateway nodes (gateway_nodes) with their heartbeat and connections (user_connections).',
  details:
    'A node whose heartbeat is older than NOTIFY_NODE_TTL_MS (default 15000) is shown dead: its connections no longer count against NOTIFY_MAX_CONNECTIONS_PER_USER.',
  positionals: 0,
  options: [
    { name: 'connections', help: 'list each connection too (user, device, opened)' },
    { name: 'limit', value: '<n>', help: 'connections listed per node with --connections (default 100)' },
  ],
  async run(args: Args): Promise<CommandOutput> {
    const ttlMs = env.int('NOTIFY_NODE_TTL_MS', 15_000, 1_000, 600_000);
    const limit = args.int('limit', 100, 0, 100_000);
    const listConnections = args.flag('connections');
    const nodes = await withDatabase(async (db) => {
      const rows = await db
        .selectFrom('gateway_nodes as n')
        .leftJoin('user_connections as c', 'c.node_id', 'n.node_id')
        .select((eb) => [
          'n.node_id',
          'n.heartbeat_at',
          eb.fn.count<string>('c.connection_id').as('connections'),
          eb.fn.count<string>('c.user_id').distinct().as('users'),
        ])
        .groupBy(['n.node_id', 'n.heartbeat_at'])
        .orderBy('n.node_id')
        .execute();
      const now = Date.now();
      return Promise.all(
        rows.map(async (r) => {
          const heartbeatAt = new Date(r.heartbeat_at);
          const detail = listConnections
            ? await db
                .selectFrom('user_connections')
                .select(['user_id', 'device_id', 'opened_at'])
                .where('node_id', '=', r.node_id)
                .orderBy('opened_at')
                .limit(limit)
                .execute()
            : undefined;
          return {
            nodeId: r.node_id,
            heartbeatAt: heartbeatAt.toISOString(),
            alive: now - heartbeatAt.getTime() <= ttlMs,
            connections: Number(r.connections),
            users: Number(r.users),
            ...(detail
              ? {
                  connectionList: detail.map((c) => ({
                    userId: c.user_id,
                    deviceId: c.device_id,
                    openedAt: new Date(c.opened_at).toISOString(),
                  })),
                }
              : {}),
          };
        }),
      );
    });
    const lines = [
      table(
        ['node', 'state', 'connections', 'users', 'heartbeat'],
        nodes.map((n) => [n.nodeId, n.alive ? 'alive' : 'dead', n.connections, n.users, n.heartbeatAt]),
      ),
    ];
    for (const n of nodes) {
      if (!n.connectionList) continue;
      lines.push(
        '',
        `${n.nodeId}:`,
        table(
          ['user', 'device', 'opened'],
          n.connectionList.map((c) => [c.userId, c.deviceId, c.openedAt]),
        ),
      );
    }
    return { json: { nodes }, text: nodes.length === 0 ? 'no gateway nodes' : lines.join('\n') };
  },
};
