import { ConfigError, EnvReader, loadTlsFiles, type TlsFiles } from '@notify/config';
import { MAX_RECIPIENTS } from '@notify/contracts';
import { DEFAULT_MAX_EVENT_BYTES, readPusherApps, PusherApps } from '@notify/pusher';
import { LOG_LEVELS } from '@notify/logging';
import { presenceTimings, readRetentionPolicy, type RetentionPolicy } from '@notify/store';

export const DEV_API_KEY = 'dev-producer-key';
/** Keeps placeholders (REPLACE_ME) and guessable keys out of production. */
export const MIN_PRODUCTION_API_KEY_LENGTH = 24;

export interface PusherApiConfig {
  apps: PusherApps;
  /** `data` of one event, in bytes (UTF-8); Pusher's own limit is 10 KB. */
  maxEventBytes: number;
  /** Where webhooks are POSTed; unset: no webhooks (the queue is neither declared nor consumed). */
  webhookUrl?: string;
  /** How often the webhook sources (channel and member transitions) read the gateways' state. */
  webhookSourcesIntervalMs: number;
}

/** Everything ingest reads from its environment, validated once at start-up. */
export class IngestConfig {
  constructor(
    readonly amqpUrl: string,
    readonly databaseUrl: string,
    readonly apiKeys: readonly string[],
    readonly port: number,
    readonly nodeId: string,
    readonly bodyLimitBytes: number,
    readonly prefetch: number,
    readonly dbPoolSize: number,
    readonly migrateOnStart: boolean,
    readonly publishTimeoutMs: number,
    /** 0 disables the job (another instance or an external job does it). */
    readonly retentionIntervalMs: number,
    /** What the retention job deletes (the same variables `notify retention` reads). */
    readonly retention: Required<RetentionPolicy>,
    /** `userIds` per notification; the contract's MAX_RECIPIENTS is the most it may be. */
    readonly maxRecipients: number,
    /** The Pusher HTTP API under /apps/ (no apps: every /apps/ path is a 404). */
    readonly pusher: PusherApiConfig,
    /** A gateway whose heartbeat is older is dead: the gateways' NOTIFY_NODE_TTL_MS, same default. */
    readonly nodeTtlMs: number,
    /** Presence rows of a gateway registration older than this are not counted (NOTIFY_PRESENCE_TTL_S, as the gateways time it). */
    readonly presenceStaleMs: number,
    /** Most members a channel's presence answer lists (NOTIFY_PRESENCE_MAX_MEMBERS, the gateways' limit). */
    readonly presenceMaxMembers: number,
    /** Set: the port serves only HTTPS. */
    readonly tls?: TlsFiles,
  ) {}
}

export function loadIngestConfig(env: EnvReader = new EnvReader()): IngestConfig {
  const port = env.port('NOTIFY_INGEST_PORT', 3000);
  const apiKeys = env.list('NOTIFY_API_KEYS', []);
  if (apiKeys.length === 0) apiKeys.push(env.secret('NOTIFY_API_KEYS', DEV_API_KEY));
  env.refuseDevValue('NOTIFY_API_KEYS', apiKeys, DEV_API_KEY);
  if (env.production && apiKeys.some((key) => key.length < MIN_PRODUCTION_API_KEY_LENGTH)) {
    throw new ConfigError(
      'NOTIFY_API_KEYS',
      `keys must be at least ${MIN_PRODUCTION_API_KEY_LENGTH} characters in production`,
    );
  }
  // The logger reads it itself (it exists before any config); a typo must still stop the start.
  env.oneOf('NOTIFY_LOG_LEVEL', LOG_LEVELS, 'info');
  return new IngestConfig(
    env.url('NOTIFY_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']),
    env.url('NOTIFY_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/notify', ['postgres:', 'postgresql:']),
    apiKeys,
    port,
    env.nodeId('NOTIFY_NODE_ID', port),
    env.int('NOTIFY_BODY_LIMIT_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024),
    env.int('NOTIFY_INGEST_PREFETCH', 1000, 1, 10_000),
    env.int('NOTIFY_DB_POOL_SIZE', 10, 1, 200),
    env.bool('NOTIFY_MIGRATE_ON_START', true),
    env.int('NOTIFY_PUBLISH_TIMEOUT_MS', 5_000, 100, 120_000),
    env.int('NOTIFY_RETENTION_INTERVAL_MS', 60_000, 0, 24 * 3600 * 1000),
    readRetentionPolicy(env),
    env.int('NOTIFY_MAX_RECIPIENTS', MAX_RECIPIENTS, 1, MAX_RECIPIENTS),
    {
      apps: new PusherApps(readPusherApps(env)),
      maxEventBytes: env.int('NOTIFY_PUSHER_MAX_EVENT_BYTES', DEFAULT_MAX_EVENT_BYTES, 1, 1024 * 1024),
      webhookUrl: optionalUrl(env, 'NOTIFY_PUSHER_WEBHOOK_URL', ['http:', 'https:']),
      webhookSourcesIntervalMs: env.int('NOTIFY_PUSHER_WEBHOOK_SOURCES_INTERVAL_MS', 500, 50, 60_000),
    },
    env.int('NOTIFY_NODE_TTL_MS', 15_000, 1_000, 600_000),
    presenceTimings(env.int('NOTIFY_PRESENCE_TTL_S', 15, 1, 600) * 1000).staleMs,
    env.int('NOTIFY_PRESENCE_MAX_MEMBERS', 10_000, 1, 1_000_000),
    loadTlsFiles(env),
  );
}

function optionalUrl(env: EnvReader, name: string, protocols: readonly string[]): string | undefined {
  const raw = env.optionalString(name);
  return raw === undefined ? undefined : env.url(name, raw, protocols);
}
