import { connect, type ChannelModel } from 'amqplib';
import { ConfigError, EnvReader, redact } from '@notify/config';
import { createDatabase, type Db } from '@notify/store';
import type { Args, OptionSpec } from './args';
import { CommandFailed } from './args';

/** The same variables and defaults as the services (docs/configuration.md). */
const env = new EnvReader();
const DEV_API_KEY = 'dev-producer-key';

function configured<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ConfigError) throw new CommandFailed(err.message);
    throw err;
  }
}

export const HTTP_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'url',
    value: '<url>',
    help: "ingest's base URL (default NOTIFY_INGEST_URL or http://127.0.0.1:3000)",
  },
  {
    name: 'api-key',
    value: '<key>',
    help: 'producer API key (default NOTIFY_API_KEY, else the first of NOTIFY_API_KEYS, else the dev key)',
  },
];

export function ingestUrl(args: Args): string {
  const url =
    args.string('url') ??
    configured(() => env.url('NOTIFY_INGEST_URL', 'http://127.0.0.1:3000', ['http:', 'https:']));
  return url.replace(/\/+$/, '');
}

export function apiKey(args: Args): string {
  return (
    args.string('api-key') ??
    env.optionalString('NOTIFY_API_KEY') ??
    env.list('NOTIFY_API_KEYS', [])[0] ??
    DEV_API_KEY
  );
}

/** POSTs JSON to ingest; a non-2xx answer is a failure whose line carries ingest's message. */
export async function postToIngest(
  args: Args,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<unknown> {
  const url = `${ingestUrl(args)}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey(args)}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CommandFailed(`ingest is not reachable at ${ingestUrl(args)} (${cause})`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    // not JSON: kept as text for the error line
  }
  if (!res.ok) throw new CommandFailed(`ingest answered ${res.status}: ${describeError(parsed)}`);
  return parsed;
}

function describeError(body: unknown): string {
  if (typeof body !== 'object' || body === null) return String(body).slice(0, 300);
  const b = body as { message?: unknown; errors?: { field?: string; message?: string }[] };
  const errors = Array.isArray(b.errors) ? b.errors.map((e) => `${e.field}: ${e.message}`).join('; ') : '';
  return (
    [typeof b.message === 'string' ? b.message : '', errors].filter(Boolean).join(': ') ||
    JSON.stringify(body)
  );
}

export function databaseUrl(): string {
  return configured(() =>
    env.url('NOTIFY_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/notify', ['postgres:', 'postgresql:']),
  );
}

/** Runs `work` with a small pool; a connection failure names the database without its password. */
export async function withDatabase<T>(work: (db: Db) => Promise<T>): Promise<T> {
  const url = databaseUrl();
  // Two: the retention job holds one connection for its lock and trims channels on another.
  const { db } = createDatabase({ url, poolSize: 2, applicationName: 'notify-cli' });
  try {
    return await work(db);
  } catch (err) {
    if (err instanceof CommandFailed) throw err;
    throw new CommandFailed(`PostgreSQL at ${redact(url)}: ${(err as Error).message}`);
  } finally {
    await db.destroy();
  }
}

export async function withBroker<T>(work: (connection: ChannelModel) => Promise<T>): Promise<T> {
  const url = configured(() =>
    env.url('NOTIFY_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']),
  );
  let connection: ChannelModel;
  try {
    connection = await connect(url, { timeout: 10_000 });
  } catch (err) {
    throw new CommandFailed(`RabbitMQ at ${redact(url)} is not reachable (${(err as Error).message})`);
  }
  // A broker error after connecting (queue missing) surfaces through the operation that failed.
  connection.on('error', () => undefined);
  try {
    return await work(connection);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export { env };
