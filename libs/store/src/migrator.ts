import { Migrator, type Kysely, type MigrationResult } from 'kysely';
import { Client } from 'pg';
import { createDatabase } from './database';
import { migrations } from './migrations';

/**
 * Brings the schema to the newest version. Kysely's migrator takes a PostgreSQL advisory lock, so
 * several instances starting at once apply each migration exactly once.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<MigrationResult[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'notify_migrations',
    migrationLockTableName: 'notify_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return results ?? [];
}

/**
 * `migrateToLatest` on a connection of its own without the pool's query timeout: an index built over a
 * big table takes what it takes, and the migration lock waits for another instance's migrations (up
 * to Kysely's hour), both legitimate long statements. What the services and `notify migrate` run.
 */
export async function migrateDatabase(
  url: string,
  applicationName = 'notify-migrate',
): Promise<MigrationResult[]> {
  const { db } = createDatabase({ url, poolSize: 1, applicationName, queryTimeoutMs: 0 });
  try {
    return await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}

/** Creates the database named in `url` if it does not exist (local development and tests). */
export async function ensureDatabaseExists(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`unsupported database name "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  // A server restart mid-way fails the query in flight; without a listener it would end the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } catch (err) {
      // Another process created it between our check and our CREATE.
      if ((err as { code?: string }).code !== '42P04') throw err;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}
