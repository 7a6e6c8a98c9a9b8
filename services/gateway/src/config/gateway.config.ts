import { ConfigError, EnvReader, loadTlsFiles, type TlsFiles } from '@notify/config';
import { DEFAULT_MAX_EVENT_BYTES, readPusherApps, type PusherApp } from '@notify/pusher';
import { LOG_LEVELS } from '@notify/logging';

export const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me-in-production';

/** Everything the gateway reads from its environment, validated once at start-up. */
export interface GatewayConfig {
  port: number;
  nodeId: string;
  amqpUrl: string;
  databaseUrl: string;
  jwtSecret?: string;
  jwksUrl?: string;
  /** How often the JWKS is fetched again (sooner if its Cache-Control max-age says so). */
  jwksRefreshSeconds: number;
  /** A token with an unknown `kid` refetches the JWKS at most once per this interval. */
  jwksMinRefetchSeconds: number;
  /** Required `iss` when set. */
  jwtIssuer?: string;
  /** Accepted `aud` values; empty: not checked. */
  jwtAudience: string[];
  /** Browser Origins allowed to connect; empty allows any (development). */
  allowedOrigins: string[];
  /** Largest client frame; bigger ones close the socket with 1009. */
  maxPayloadBytes: number;
  /** Send buffer per socket; over it the socket is closed with 4408 and resumes later. */
  maxBackpressureBytes: number;
  idleTimeoutSeconds: number;
  drainMs: number;
  /** How long a user's routing key stays bound after their last socket left, to absorb reconnects. */
  unbindLingerMs: number;
  ackFlushMs: number;
  /** Delivery receipts are written this often: their precision, traded for rows per second. */
  receiptFlushMs: number;
  maxSubscriptions: number;
  /** Client frames per second per connection (burst: one second's worth). */
  maxFramesPerSecond: number;
  /**
   * Sockets per user across the cluster: on this node more are refused with HTTP 429 at upgrade;
   * counting the other nodes' too, a socket is closed with 4429 at start.
   */
  maxConnectionsPerUser: number;
  /** A gateway whose heartbeat is older than this is dead: its connections stop counting. */
  nodeTtlMs: number;
  /** A dead or partitioned node's presence members leave everywhere within this. */
  presenceTtlMs: number;
  /** Members per presence channel; a subscribe past it is refused. */
  presenceMaxMembers: number;
  dbPoolSize: number;
  migrateOnStart: boolean;
  /** Set: the port serves only HTTPS/WSS. */
  tls?: TlsFiles;
  pusher: PusherConfig;
}

/** The Pusher protocol endpoint (`/app/{key}`, docs/pusher.md); served only when `apps` is not empty. */
export interface PusherConfig {
  apps: PusherApp[];
  /** Seconds without a frame before a ping; told to clients as `activity_timeout`. */
  activityTimeoutSeconds: number;
  /** Seconds to answer a server ping before the connection closes with 4201. */
  pongTimeoutSeconds: number;
  /** Client events per second per connection; more are refused with 4301. */
  clientEventsPerSecond: number;
  /** Largest client event `data`. */
  maxEventBytes: number;
  /** Connections per app on each node; more are closed with 4004. */
  maxConnectionsPerApp: number;
  /** Client events are published to notify.pusher.webhooks for ingest's webhooks. */
  webhooks: boolean;
}

function loadPusherConfig(env: EnvReader): PusherConfig {
  return {
    apps: readPusherApps(env),
    activityTimeoutSeconds: env.int('NOTIFY_PUSHER_ACTIVITY_TIMEOUT_SECONDS', 120, 1, 3_600),
    pongTimeoutSeconds: env.int('NOTIFY_PUSHER_PONG_TIMEOUT_SECONDS', 30, 1, 600),
    clientEventsPerSecond: env.int('NOTIFY_PUSHER_CLIENT_EVENTS_PER_S', 10, 1, 10_000),
    maxEventBytes: env.int('NOTIFY_PUSHER_MAX_EVENT_BYTES', DEFAULT_MAX_EVENT_BYTES, 256, 1024 * 1024),
    maxConnectionsPerApp: env.int('NOTIFY_PUSHER_MAX_CONNECTIONS_PER_APP', 100_000, 1, 10_000_000),
    webhooks: env.bool('NOTIFY_PUSHER_WEBHOOKS', false),
  };
}

export function loadGatewayConfig(env: EnvReader = new EnvReader()): GatewayConfig {
  const port = env.port('NOTIFY_GATEWAY_PORT', 8080);
  const jwksUrl = env.optionalString('NOTIFY_JWKS_URL');
  const jwtSecret = jwksUrl
    ? env.optionalString('NOTIFY_JWT_SECRET')
    : env.secret('NOTIFY_JWT_SECRET', DEV_JWT_SECRET);
  if (jwksUrl) env.url('NOTIFY_JWKS_URL', jwksUrl, ['https:', 'http:']);
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    throw new ConfigError(
      'NOTIFY_JWT_SECRET',
      'must be at least 32 characters (HS256 needs a 256-bit secret)',
    );
  }
  // The logger reads it itself (it exists before any config); a typo must still stop the start.
  env.oneOf('NOTIFY_LOG_LEVEL', LOG_LEVELS, 'info');
  return {
    port,
    nodeId: env.nodeId('NOTIFY_NODE_ID', port),
    amqpUrl: env.url('NOTIFY_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']),
    databaseUrl: env.url('NOTIFY_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/notify', [
      'postgres:',
      'postgresql:',
    ]),
    jwtSecret: jwksUrl ? undefined : jwtSecret,
    jwksUrl,
    jwksRefreshSeconds: env.int('NOTIFY_JWKS_REFRESH_SECONDS', 300, 10, 86_400),
    jwksMinRefetchSeconds: env.int('NOTIFY_JWKS_MIN_REFETCH_SECONDS', 10, 1, 3_600),
    jwtIssuer: env.optionalString('NOTIFY_JWT_ISSUER'),
    jwtAudience: env.list('NOTIFY_JWT_AUDIENCE', []),
    allowedOrigins: env.list('NOTIFY_ALLOWED_ORIGINS', []),
    maxPayloadBytes: env.int('NOTIFY_MAX_PAYLOAD_BYTES', 16 * 1024, 512, 1024 * 1024),
    maxBackpressureBytes: env.int('NOTIFY_MAX_BACKPRESSURE_BYTES', 1024 * 1024, 16 * 1024, 64 * 1024 * 1024),
    idleTimeoutSeconds: env.int('NOTIFY_IDLE_TIMEOUT_SECONDS', 120, 8, 960),
    drainMs: env.int('NOTIFY_DRAIN_MS', 10_000, 0, 300_000),
    unbindLingerMs: env.int('NOTIFY_UNBIND_LINGER_MS', 2_000, 0, 600_000),
    ackFlushMs: env.int('NOTIFY_ACK_FLUSH_MS', 200, 10, 10_000),
    receiptFlushMs: env.int('NOTIFY_RECEIPT_FLUSH_MS', 200, 10, 60_000),
    maxSubscriptions: env.int('NOTIFY_MAX_SUBSCRIPTIONS', 100, 1, 10_000),
    maxFramesPerSecond: env.int('NOTIFY_MAX_FRAMES_PER_SECOND', 100, 1, 100_000),
    maxConnectionsPerUser: env.int('NOTIFY_MAX_CONNECTIONS_PER_USER', 100, 1, 1_000_000),
    nodeTtlMs: env.int('NOTIFY_NODE_TTL_MS', 15_000, 1_000, 600_000),
    presenceTtlMs: env.int('NOTIFY_PRESENCE_TTL_S', 15, 1, 600) * 1000,
    presenceMaxMembers: env.int('NOTIFY_PRESENCE_MAX_MEMBERS', 10_000, 1, 1_000_000),
    dbPoolSize: env.int('NOTIFY_DB_POOL_SIZE', 10, 1, 200),
    migrateOnStart: env.bool('NOTIFY_MIGRATE_ON_START', true),
    tls: loadTlsFiles(env),
    pusher: loadPusherConfig(env),
  };
}
