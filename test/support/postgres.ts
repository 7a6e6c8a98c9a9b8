import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

const ADMIN_URL = process.env.NOTIFY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  query<R extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** A database of its own per test file; dropped (with any leftover sessions) at the end. */
export async function createTestDatabase(prefix = 'notify_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let client: Client | undefined;
  return {
    name,
    url: url.toString(),
    async query(text, params) {
      if (!client) {
        const fresh = new Client({ connectionString: url.toString() });
        // A server restart (the chaos run does one) ends this connection: the next query opens another.
        fresh.on('error', () => {
          if (client === fresh) client = undefined;
        });
        await fresh.connect();
        client = fresh;
      }
      try {
        return (await client.query(text, params)).rows;
      } catch (err) {
        if (!(client as { _queryable?: boolean })._queryable) client = undefined;
        throw err;
      }
    },
    async drop() {
      await client?.end();
      const c = new Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
