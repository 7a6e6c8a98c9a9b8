/**
 * Every environment variable the services read. Configuration is environment-only, so anything a
 * deployment manifest or compose file sets outside this list is a typo or a stale name.
 * test/static/configuration-variables.test.ts keeps it in step with the code under services/ and libs/.
 */
export const KNOWN_CONFIG_VARIABLES = [
  // Both services
  'NODE_ENV',
  'NOTIFY_AMQP_URL',
  'NOTIFY_DATABASE_URL',
  'NOTIFY_NODE_ID',
  'NOTIFY_LOG_LEVEL',
  'NOTIFY_MIGRATE_ON_START',
  'NOTIFY_DB_POOL_SIZE',
  'NOTIFY_TLS_CERT_FILE',
  'NOTIFY_TLS_KEY_FILE',
  'NOTIFY_TLS_KEY_PASSPHRASE',
  'NOTIFY_PRESENCE_TTL_S',
  'NOTIFY_PRESENCE_MAX_MEMBERS',
  // Ingest
  'NOTIFY_INGEST_PORT',
  'NOTIFY_API_KEYS',
  'NOTIFY_BODY_LIMIT_BYTES',
  'NOTIFY_INGEST_PREFETCH',
  'NOTIFY_PUBLISH_TIMEOUT_MS',
  'NOTIFY_RETENTION_INTERVAL_MS',
  'NOTIFY_CHANNEL_HISTORY_SIZE',
  'NOTIFY_CHANNEL_HISTORY_SECONDS',
  'NOTIFY_MAX_RECIPIENTS',
  'NOTIFY_READ_RETENTION_DAYS',
  'NOTIFY_PUSHER_APPS',
  'NOTIFY_PUSHER_MAX_EVENT_BYTES',
  'NOTIFY_PUSHER_WEBHOOK_URL',
  'NOTIFY_PUSHER_WEBHOOK_SOURCES_INTERVAL_MS',
  'NOTIFY_RECEIPT_RETENTION_DAYS',
  // Gateway
  'NOTIFY_GATEWAY_PORT',
  'NOTIFY_JWT_SECRET',
  'NOTIFY_JWKS_URL',
  'NOTIFY_JWKS_REFRESH_SECONDS',
  'NOTIFY_JWKS_MIN_REFETCH_SECONDS',
  'NOTIFY_JWT_ISSUER',
  'NOTIFY_JWT_AUDIENCE',
  'NOTIFY_ALLOWED_ORIGINS',
  'NOTIFY_DRAIN_MS',
  'NOTIFY_MAX_PAYLOAD_BYTES',
  'NOTIFY_MAX_BACKPRESSURE_BYTES',
  'NOTIFY_IDLE_TIMEOUT_SECONDS',
  'NOTIFY_UNBIND_LINGER_MS',
  'NOTIFY_ACK_FLUSH_MS',
  'NOTIFY_RECEIPT_FLUSH_MS',
  'NOTIFY_MAX_SUBSCRIPTIONS',
  'NOTIFY_MAX_FRAMES_PER_SECOND',
  'NOTIFY_MAX_CONNECTIONS_PER_USER',
  'NOTIFY_NODE_TTL_MS',
  // Pusher (docs/pusher.md): the apps and the event size limit are read by ingest's Pusher API too
  'NOTIFY_PUSHER_APPS',
  'NOTIFY_PUSHER_MAX_EVENT_BYTES',
  'NOTIFY_PUSHER_ACTIVITY_TIMEOUT_SECONDS',
  'NOTIFY_PUSHER_PONG_TIMEOUT_SECONDS',
  'NOTIFY_PUSHER_CLIENT_EVENTS_PER_S',
  'NOTIFY_PUSHER_MAX_CONNECTIONS_PER_APP',
  'NOTIFY_PUSHER_WEBHOOKS',
  // The notify command (services/cli); it also reads the database, broker and retention variables above
  'NOTIFY_INGEST_URL',
  'NOTIFY_API_KEY',
] as const;

export type ConfigVariable = (typeof KNOWN_CONFIG_VARIABLES)[number];

export function isKnownConfigVariable(name: string): name is ConfigVariable {
  return (KNOWN_CONFIG_VARIABLES as readonly string[]).includes(name);
}

/** Defaults the services apply when a variable is unset (as strings, the way the environment carries them). */
export const CONFIG_DEFAULTS = {
  NOTIFY_INGEST_PORT: '3000',
  NOTIFY_GATEWAY_PORT: '8080',
  NOTIFY_DRAIN_MS: '10000',
  NOTIFY_MIGRATE_ON_START: 'true',
} as const satisfies Partial<Record<ConfigVariable, string>>;
