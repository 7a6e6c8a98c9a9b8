import { connect, type ConfirmChannel, type ChannelModel } from 'amqplib';
import { createTestDatabase, type TestDatabase } from './postgres';
import { createTestVhost, type TestVhost } from './rabbitmq';
import { freePort, spawnService, waitReady, type ServiceProcess } from './processes';
import { request, type TestCertificate } from './tls';
import { TEST_API_KEY, TEST_JWT_SECRET } from './tokens';

export interface TestCluster {
  vhost: TestVhost;
  db: TestDatabase;
  ingest: ServiceProcess;
  gateways: ServiceProcess[];
  env: Record<string, string>;
  /** `http://…`, or `https://…` with TLS. */
  ingestUrl: string;
  /** The CA the services' certificate is trusted with, when started with TLS. */
  ca: Buffer | undefined;
  /** `ws://…`, or `wss://…` with TLS. */
  wsUrl(gateway: number, query: string): string;
  /** NOTIFY_NODE_ID of gateway `index`: unique per cluster, so parallel test files never share one. */
  nodeId(index: number): string;
  /** POST /v1/notifications with the test API key. */
  post(body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  /** POST /v1/channels/{channel}/messages with the test API key. */
  publish(channel: string, body: unknown): Promise<{ status: number; body: unknown }>;
  /** Any ingest endpoint with the test API key (`path` from `/v1/…`); a JSON body when given. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  startIngest(): Promise<ServiceProcess>;
  startGateway(index: number, extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  amqp(): Promise<{ connection: ChannelModel; channel: ConfirmChannel }>;
  stop(): Promise<void>;
}

async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  ca?: Buffer,
): Promise<{ status: number; body: unknown }> {
  const res = await request(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ca,
  });
  return { status: res.status, body: JSON.parse(res.text) as unknown };
}

/**
 * Real services as processes, on a vhost and a database of their own: ingest plus `gateways` nodes,
 * all serving HTTPS/WSS with `tls` when it is given.
 * Every process is stopped and the vhost and database dropped by `stop()`.
 */
export async function startCluster(
  options: { gateways?: number; env?: Record<string, string>; tls?: TestCertificate } = {},
): Promise<TestCluster> {
  const { tls } = options;
  const [vhost, db] = await Promise.all([createTestVhost(), createTestDatabase()]);
  const env: Record<string, string> = {
    NOTIFY_AMQP_URL: vhost.url,
    NOTIFY_DATABASE_URL: db.url,
    NOTIFY_JWT_SECRET: TEST_JWT_SECRET,
    NOTIFY_API_KEYS: TEST_API_KEY,
    NOTIFY_UNBIND_LINGER_MS: '0',
    ...options.env,
  };
  const ingestPort = await freePort();
  // Each gateway's port is taken just before it first starts (and kept for its restarts): a port
  // chosen while ingest starts stays unbound for seconds, time for another test file to be offered it.
  const gatewayPorts: number[] = [];
  const amqpConnections: ChannelModel[] = [];
  const cluster: TestCluster = {
    vhost,
    db,
    env,
    ingest: undefined as unknown as ServiceProcess,
    gateways: [],
    ingestUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${ingestPort}`,
    ca: tls?.ca,
    nodeId: (index) => `gw-${index}-${vhost.name.slice(-8)}`,
    wsUrl: (gateway, query) => `${tls ? 'wss' : 'ws'}://127.0.0.1:${gatewayPorts[gateway]}/v1/ws?${query}`,
    post: (body, headers = {}) => postJson(`${cluster.ingestUrl}/v1/notifications`, body, headers, tls?.ca),
    publish: (channel, body) =>
      postJson(`${cluster.ingestUrl}/v1/channels/${channel}/messages`, body, {}, tls?.ca),
    async api(method, path, body) {
      const res = await request(`${cluster.ingestUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TEST_API_KEY}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        ca: tls?.ca,
      });
      return { status: res.status, body: res.text ? (JSON.parse(res.text) as unknown) : null };
    },
    async startIngest() {
      cluster.ingest = spawnService(
        'ingest',
        ingestPort,
        {
          ...env,
          NOTIFY_INGEST_PORT: String(ingestPort),
          NOTIFY_NODE_ID: `ingest-${vhost.name}`,
        },
        { tls },
      );
      await waitReady(cluster.ingest);
      return cluster.ingest;
    },
    async startGateway(index, extraEnv = {}) {
      gatewayPorts[index] ??= await freePort();
      const gateway = spawnService(
        'gateway',
        gatewayPorts[index],
        {
          ...env,
          NOTIFY_GATEWAY_PORT: String(gatewayPorts[index]),
          NOTIFY_NODE_ID: cluster.nodeId(index),
          ...extraEnv,
        },
        { tls },
      );
      cluster.gateways[index] = gateway;
      await waitReady(gateway);
      return gateway;
    },
    async amqp() {
      const connection = await connect(vhost.url);
      amqpConnections.push(connection);
      return { connection, channel: await connection.createConfirmChannel() };
    },
    async stop() {
      // A service that died on its own is a finding: show what it said.
      for (const p of [cluster.ingest, ...cluster.gateways].filter(Boolean)) {
        if (p.child.exitCode !== null || p.child.signalCode !== null || process.env.NOTIFY_TEST_SHOW_LOGS) {
          process.stderr.write(
            `\n--- ${p.name} on port ${p.port} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.output()}\n`,
          );
        }
      }
      await Promise.all(amqpConnections.map((c) => c.close().catch(() => undefined)));
      await Promise.all([cluster.ingest, ...cluster.gateways].filter(Boolean).map((p) => p.stop('SIGKILL')));
      await Promise.all([vhost.drop(), db.drop()]);
    },
  };
  try {
    // Ingest first: it migrates the schema and declares the topology.
    await cluster.startIngest();
    for (let i = 0; i < (options.gateways ?? 1); i++) await cluster.startGateway(i);
  } catch (err) {
    // The caller never gets the cluster to stop: what did start would keep the test process alive.
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}
