import { randomBytes } from 'node:crypto';

const MANAGEMENT = process.env.NOTIFY_TEST_RABBITMQ_MANAGEMENT ?? 'http://127.0.0.1:15672';
const AUTH = 'Basic ' + Buffer.from('guest:guest').toString('base64');

/** Retries connection failures for a while: the broker may be restarting (the chaos test does that). */
export async function management(method: string, path: string, body?: unknown): Promise<Response> {
  const deadline = Date.now() + 30_000;
  let res: Response;
  for (;;) {
    try {
      res = await fetch(`${MANAGEMENT}/api${path}`, {
        method,
        headers: { authorization: AUTH, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status !== 503 || Date.now() > deadline) break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!res.ok && res.status !== 404) throw new Error(`RabbitMQ management ${method} ${path}: ${res.status}`);
  return res;
}

export interface TestVhost {
  name: string;
  url: string;
  /** Bindings whose source is the given exchange, as the broker reports them. */
  bindings(exchange: string): Promise<{ destination: string; routing_key: string }[]>;
  queue(name: string): Promise<{ messages: number } | null>;
  /**
   * The connection (its name in the management API) of a consumer of `queue`, once the management
   * API lists one that `accept` takes (any by default), polled for up to `timeoutMs`.
   */
  consumerConnection(
    queue: string,
    accept?: (connection: string) => boolean,
    timeoutMs?: number,
  ): Promise<string>;
  /** Closes a client's connection from the broker's side, as a broker restart or a cut would end it. */
  closeConnection(connection: string): Promise<void>;
  drop(): Promise<void>;
}

/** A vhost of its own per test file, so that runs never see each other's exchanges and queues. */
export async function createTestVhost(prefix = 'notify-test'): Promise<TestVhost> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  const v = encodeURIComponent(name);
  await management('PUT', `/vhosts/${v}`);
  await management('PUT', `/permissions/${v}/guest`, { configure: '.*', write: '.*', read: '.*' });
  return {
    name,
    url: `amqp://guest:guest@127.0.0.1:5672/${v}`,
    async bindings(exchange) {
      const res = await management('GET', `/exchanges/${v}/${encodeURIComponent(exchange)}/bindings/source`);
      return res.status === 404 ? [] : ((await res.json()) as { destination: string; routing_key: string }[]);
    },
    async queue(queueName) {
      const res = await management('GET', `/queues/${v}/${encodeURIComponent(queueName)}`);
      return res.status === 404 ? null : ((await res.json()) as { messages: number });
    },
    async consumerConnection(queueName, accept = () => true, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const consumers = (await (await management('GET', `/consumers/${v}`)).json()) as {
          queue: { name: string };
          channel_details: { connection_name: string };
        }[];
        const found = consumers
          .filter((c) => c.queue.name === queueName)
          .map((c) => c.channel_details.connection_name)
          .find(accept);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no consumer of ${queueName} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async closeConnection(connection) {
      const res = await management('DELETE', `/connections/${encodeURIComponent(connection)}`);
      if (!res.ok) throw new Error(`closing connection ${connection}: HTTP ${res.status}`);
    },
    async drop() {
      await management('DELETE', `/vhosts/${v}`);
    },
  };
}
