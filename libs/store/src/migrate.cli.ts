/**
 * `npm run migrate [-- --create]`: applies pending migrations to NOTIFY_DATABASE_URL; with --create,
 * creates the database first if it is missing.
 */
import { EnvReader, loadConfigOrExit, redact } from '@notify/config';
import { ensureDatabaseExists, migrateDatabase } from './migrator';

async function main(): Promise<void> {
  const url = loadConfigOrExit(() =>
    new EnvReader().url('NOTIFY_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/notify', [
      'postgres:',
      'postgresql:',
    ]),
  );
  if (process.argv.includes('--create') && (await ensureDatabaseExists(url))) {
    process.stdout.write(`created database ${redact(url)}\n`);
  }
  const results = await migrateDatabase(url);
  process.stdout.write(
    results.length
      ? results.map((r) => `${r.status}: ${r.migrationName}`).join('\n') + '\n'
      : 'schema up to date\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
