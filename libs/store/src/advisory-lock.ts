import { Client } from 'pg';
import { CONNECTION_LIVENESS, DEFAULT_QUERY_TIMEOUT_MS } from './database';

/**
 * A session-level PostgreSQL advisory lock held on a connection of its own: whoever holds it is the
 * one process doing a cluster-wide job. The lock goes with the connection, so a process that dies or
 * loses its connection lets another take over; `held` turns false as soon as the connection is lost,
 * also when its server vanished without closing it: TCP keepalive probes the idle session
 * (CONNECTION_LIVENESS), and a query that never answers times out.
 */
export class AdvisoryLock {
  private client: Client | null = null;
  private holding = false;

  /** `name` is hashed by PostgreSQL (hashtext) into the lock's key. */
  constructor(
    private readonly url: string,
    private readonly name: string,
    private readonly applicationName = 'notify-lock',
  ) {}

  get held(): boolean {
    return this.holding;
  }

  /** Takes the lock when free (connecting first if needed); false when another session holds it. */
  async tryAcquire(): Promise<boolean> {
    if (this.holding) return true;
    const client = this.client ?? (await this.connect());
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1)) AS ok',
        [this.name],
      );
      this.holding = rows[0]?.ok === true && this.client === client;
      return this.holding;
    } catch (err) {
      // Whatever broke the query, the next try starts on a fresh connection.
      await this.release();
      throw err;
    }
  }

  /** Gives the lock up by closing the connection (which releases every lock of the session). */
  async release(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.holding = false;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<Client> {
    const client = new Client({
      connectionString: this.url,
      application_name: this.applicationName,
      ...CONNECTION_LIVENESS,
      query_timeout: DEFAULT_QUERY_TIMEOUT_MS,
    });
    const lost = (): void => {
      if (this.client !== client) return;
      this.client = null;
      this.holding = false;
    };
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }
}
