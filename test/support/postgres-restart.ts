import { exec } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Client } from 'pg';

const ADMIN_URL = process.env.NOTIFY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The command that restarts the local PostgreSQL: `NOTIFY_TEST_PG_RESTART` if set (any shell
 * command), else `pg_ctlcluster <version> main restart` for the newest version under
 * /etc/postgresql (a Debian install).
 */
export function postgresRestartCommand(): string {
  const override = process.env.NOTIFY_TEST_PG_RESTART;
  if (override) return override;
  const versions = readdirSync('/etc/postgresql')
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL version under /etc/postgresql');
  return `pg_ctlcluster ${versions[0]} main restart`;
}

async function answers(): Promise<boolean> {
  const client = new Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Restarts the local (shared) PostgreSQL and waits until it answers queries again. Every database
 * on it sees its connections terminated, so only tests that run alone (the chaos tests) may call it.
 */
export async function restartPostgres(timeoutMs = 60_000): Promise<{ tookMs: number; command: string }> {
  const command = postgresRestartCommand();
  const started = Date.now();
  await new Promise<void>((resolve, reject) =>
    exec(command, { timeout: timeoutMs }, (err, _stdout, stderr) =>
      err ? reject(new Error(`${command} failed: ${err.message}\n${stderr}`)) : resolve(),
    ),
  );
  while (!(await answers())) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`PostgreSQL not answering ${timeoutMs} ms after ${command}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { tookMs: Date.now() - started, command };
}
