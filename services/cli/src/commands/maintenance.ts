import { redact } from '@notify/config';
import { ensureDatabaseExists, migrateDatabase, readRetentionPolicy, runRetention } from '@notify/store';
import type { Args } from '../kit/args';
import type { Command, CommandOutput } from '../kit/command';
import { databaseUrl, env, withDatabase } from '../kit/connections';

export const migrateCommand: Command = {
  name: 'migrate',
  operands: '',
  summary: 'Apply pending schema migrations to NOTIFY_DATABASE_URL.',
  details:
    'Run once per release before the services start (the Kubernetes Job does); the services then run with NOTIFY_MIGRATE_ON_START=false.',
  positionals: 0,
  options: [{ name: 'create', help: 'create the database first when it is missing' }],
  async run(args: Args): Promise<CommandOutput> {
    const url = databaseUrl();
    const created = args.flag('create')
      ? await withDatabaseError(url, () => ensureDatabaseExists(url))
      : false;
    const applied = await withDatabaseError(url, () => migrateDatabase(url, 'notify-cli'));
    const failed = applied.filter((r) => r.status !== 'Success');
    const json = { created, applied: applied.map((r) => ({ migration: r.migrationName, status: r.status })) };
    if (failed.length > 0) throw new Error(`migration ${failed[0]?.migrationName} ${failed[0]?.status}`);
    const text = [
      ...(created ? [`created database ${redact(url)}`] : []),
      applied.length === 0
        ? 'schema up to date'
        : applied.map((r) => `applied ${r.migrationName}`).join('\n'),
    ].join('\n');
    return { json, text };
  },
};

async function withDatabaseError<T>(url: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new Error(`PostgreSQL at ${redact(url)}: ${(err as Error).message}`);
  }
}

export const retentionCommand: Command = {
  name: 'retention',
  operands: '',
  summary:
    'Run the retention job once: expired and old read notifications, idempotency keys, channel history, delivery receipts.',
  details:
    'Uses the variables ingest uses (NOTIFY_READ_RETENTION_DAYS, NOTIFY_RECEIPT_RETENTION_DAYS, NOTIFY_CHANNEL_HISTORY_SIZE, NOTIFY_CHANNEL_HISTORY_SECONDS). When another process holds the retention lock it does nothing and says so (exit 0).',
  positionals: 0,
  options: [],
  async run(): Promise<CommandOutput> {
    const policy = readRetentionPolicy(env);
    const result = await withDatabase((db) => runRetention(db, policy));
    const text = result.ran
      ? `deleted: ${result.expiredNotifications} expired notifications, ${result.readNotifications} read notifications, ${result.idempotencyKeys} idempotency keys, ${result.channelMessages} channel messages, ${result.receipts} delivery receipts`
      : 'skipped: another process holds the retention lock';
    return { json: result, text };
  },
};
